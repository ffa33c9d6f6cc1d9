"""One attempt to hand one event to one target, and the dead-letter message when it fails.

Function targets get an asynchronous (`Event`) invoke: a function that then fails is
Lambda's business (its own async retries), not a failed delivery. Queue targets get one
message; a FIFO queue gets the target's MessageGroupId and the event id as the
deduplication id, so a retried delivery is not queued twice. Bus targets put the event
on the other bus, where that bus's rules match it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nimbus.errors import ClientError, NimbusError
from nimbus.events.model import TargetKind, bus_name_of, is_fifo_queue
from nimbus.events.retry import DeliveryFailure, Exhausted
from nimbus.events.store import PendingDelivery
from nimbus.events.targets import DeliveryTargets

logger = logging.getLogger(__name__)

# (bus name, event JSON, buses the event has passed through)
Forward = Callable[[str, str, tuple[str, ...]], Awaitable[None]]


class TargetDeliverer:
    def __init__(self, targets: DeliveryTargets, forward: Forward) -> None:
        self._targets = targets
        self._forward = forward

    async def deliver(self, delivery: PendingDelivery) -> None:
        """Raises the destination's `NimbusError` when it did not accept the event."""
        target = delivery.target
        if target.kind is TargetKind.FUNCTION:
            await self._targets.invoke_function(target.arn, delivery.body.encode("utf-8"))
        elif target.kind is TargetKind.QUEUE:
            fifo = is_fifo_queue(target.arn)
            await self._targets.send_to_queue(
                target.arn,
                delivery.body,
                group_id=target.message_group_id if fifo else None,
                dedup_id=delivery.event_id if fifo else None,
            )
        else:
            await self._forward(bus_name_of(target.arn), delivery.event, delivery.trail)

    async def dead_letter(
        self, delivery: PendingDelivery, failure: DeliveryFailure, exhausted: Exhausted | None
    ) -> bool:
        """Send the event to the target's DLQ (if it has one); False to try again later.

        A DLQ that refuses the message (gone, too small) loses the event, as EventBridge
        counts InvocationsFailedToBeSentToDLQ; only a platform failure keeps it.
        """
        arn = delivery.target.dead_letter_arn
        if arn is None:
            logger.warning("event %s dropped for %s: %s", delivery.event_id, delivery.target.arn,
                           failure.message)  # fmt: skip
            return True
        attributes = {
            "RULE_ARN": delivery.rule_arn,
            "TARGET_ARN": delivery.target.arn,
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message,
            "RETRY_ATTEMPTS": str(delivery.attempts),
        }
        if exhausted is not None:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted.value
        try:
            await self._targets.send_to_queue(arn, delivery.event, attributes=attributes)
        except ClientError as error:
            logger.warning("event %s could not be sent to the dead-letter queue %s: %s",
                           delivery.event_id, arn, error.message)  # fmt: skip
        except NimbusError as error:
            logger.warning("dead-letter queue %s failed, will retry: %s", arn, error.message)
            return False
        return True
