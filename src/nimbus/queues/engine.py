"""Message operations on in-memory queues: send, receive, delete, change visibility.

Each operation checks its request, changes the queue's index at once (so concurrent
callers see a consistent order) and returns the statements that make the change durable;
the service awaits their group commit before answering. Nothing here awaits.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from nimbus.queues import store
from nimbus.queues.errors import (
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    ReceiptHandleIsInvalid,
)
from nimbus.queues.index import Message, State
from nimbus.queues.model import MessageAttribute, ReceivedMessage, SentMessage
from nimbus.queues.queue import Attempt, Queue
from nimbus.queues.receipts import Receipt, ReceiptCodec
from nimbus.queues.store import DedupRow
from nimbus.queues.validation import (
    validate_body,
    validate_fifo_id,
    validate_message_attributes,
    validate_system_attributes,
)
from nimbus.store.groupcommit import Statement

DEDUP_WINDOW_S = 300.0
ATTEMPT_WINDOW_S = 300.0
MAX_VISIBILITY_S = 43_200
MAX_DELAY_S = 900
SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send, as SendMessage or one SendMessageBatch entry gives it."""

    body: str
    delay_seconds: int | None
    attributes: Mapping[str, MessageAttribute]
    system_attributes: Mapping[str, MessageAttribute]
    group_id: str | None
    dedup_id: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a receive asks for."""

    limit: int
    visibility_timeout: int | None
    attribute_names: Sequence[str]
    message_attribute_names: Sequence[str]
    attempt_id: str | None


class MessageEngine:
    """The message operations of every queue, sharing one sequence and one receipt codec."""

    def __init__(
        self,
        codec: ReceiptCodec,
        clock: Callable[[], float],
        sender_id: str,
        max_message_size: int,
        dead_letter_target: Callable[[str], Queue | None],
    ) -> None:
        self._codec = codec
        self._clock = clock
        self._sender_id = sender_id
        self._max_message_size = max_message_size
        self._target = dead_letter_target
        self._last_seq = 0

    def resume_sequence(self, seq: int) -> None:
        """Never hand out a sequence number at or below one already stored."""
        self._last_seq = max(self._last_seq, seq)

    def send(
        self, queue: Queue, out: Outgoing, *, batch: bool
    ) -> tuple[SentMessage, list[Statement]]:
        """Check and enqueue one message; a FIFO duplicate answers without enqueueing."""
        now = self._clock()
        self._check_size(queue, out, batch=batch)
        delay = self._delay(queue, out.delay_seconds)
        dedup_key = self._check_fifo(queue, out, batch=batch)
        if dedup_key is not None:
            seen = queue.recall(dedup_key, now)
            if seen is not None:
                return SentMessage(seen.message_id, str(seen.seq)), []
        message = Message(
            seq=self._next_seq(now),
            message_id=str(uuid.uuid4()),
            body=out.body,
            attributes=out.attributes,
            system_attributes=out.system_attributes,
            sent_ms=int(now * 1000),
            group_id=out.group_id,
            dedup_id=_dedup_id(out) if dedup_key is not None else None,
            visible_at=now + delay,
        )
        queue.index.add(message, now)
        statements = [store.insert_message(queue.id, message)]
        if dedup_key is not None:
            row = DedupRow(
                queue.id, dedup_key, message.message_id, message.seq, now + DEDUP_WINDOW_S
            )
            queue.remember(row)
            statements.append(store.put_dedup(row))
        self._announce(queue, delay)
        sequence = str(message.seq) if queue.settings.fifo else None
        return SentMessage(message.message_id, sequence), statements

    def receive(self, queue: Queue, ask: Delivery) -> tuple[list[ReceivedMessage], list[Statement]]:
        """Take up to `ask.limit` visible messages in flight (dead-lettering as due)."""
        now = self._clock()
        replay = self._replay(queue, ask.attempt_id, now)
        if replay is not None:
            return replay, []
        timeout = queue.settings.visibility_timeout
        if ask.visibility_timeout is not None:
            timeout = ask.visibility_timeout
        statements: list[Statement] = []
        taken = queue.index.take(
            ask.limit, now, now + timeout, lambda m: self._deliverable(queue, m, now, statements)
        )
        for message in taken:
            message.receive_count += 1
            message.first_receive_ms = message.first_receive_ms or int(now * 1000)
            message.received_at = now
            statements.append(store.received(message))
        queue.schedule(self._clock)
        received = [self._received(queue, message, ask) for message in taken]
        if ask.attempt_id is not None and queue.settings.fifo:
            deliveries = [(m.seq, m.receive_count) for m in taken]
            queue.attempts[ask.attempt_id] = Attempt(now + ATTEMPT_WINDOW_S, received, deliveries)
        return received, statements

    def delete(self, queue: Queue, handle: str) -> list[Statement]:
        """Delete the message a current handle names; a stale standard handle does nothing."""
        message = self._current(queue, handle)
        if message is None:
            return []
        if queue.settings.fifo and message.state is not State.IN_FLIGHT:
            raise _expired(handle)
        queue.index.remove(message)
        if queue.settings.fifo:
            queue.notify()  # the group may be unlocked
        return [store.delete_message(message)]

    def change_visibility(self, queue: Queue, handle: str, timeout: int) -> list[Statement]:
        """Make an in-flight message visible `timeout` seconds from now."""
        if not 0 <= timeout <= MAX_VISIBILITY_S:
            raise InvalidParameterValue(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be "
                f"between 0 and {MAX_VISIBILITY_S}, if provided."
            )
        now = self._clock()
        message = self._current(queue, handle)
        if message is None:
            raise InvalidParameterValue(
                f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does "
                "not exist or is not available for visibility timeout change."
            )
        if message.state is not State.IN_FLIGHT:
            raise MessageNotInflight()
        if (
            message.received_at is not None
            and now + timeout - message.received_at > MAX_VISIBILITY_S
        ):
            raise InvalidParameterValue(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit "
                f"[{MAX_VISIBILITY_S} seconds]"
            )
        queue.index.change_visibility(message, now + timeout, now)
        self._announce(queue, timeout)
        return [store.visibility(message)]

    def expire(self, queue: Queue, now: float) -> list[Statement]:
        """Delete the queue's messages older than its retention period."""
        statements = [
            self._drop(queue, message)
            for message in list(queue.index.messages.values())
            if _expired_at(queue, message, now)
        ]
        queue.attempts = {k: a for k, a in queue.attempts.items() if a.expires > now}
        return statements

    def _check_size(self, queue: Queue, out: Outgoing, *, batch: bool) -> None:
        validate_body(out.body)
        size = len(out.body.encode("utf-8")) + validate_message_attributes(out.attributes)
        validate_system_attributes(out.system_attributes)
        limit = min(queue.settings.maximum_message_size, self._max_message_size)
        if size > limit:
            verb = "cannot be validated" if batch else "are invalid"
            raise InvalidParameterValue(
                f"One or more parameters {verb}. Reason: Message must be shorter than "
                f"{limit} bytes."
            )

    @staticmethod
    def _delay(queue: Queue, delay: int | None) -> int:
        if delay is None:
            return queue.settings.delay_seconds
        if not 0 <= delay <= MAX_DELAY_S:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds "
                f"must be >= 0 and <= {MAX_DELAY_S}."
            )
        if queue.settings.fifo and delay:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request "
                "include parameter that is not valid for this queue type."
            )
        return delay

    @staticmethod
    def _check_fifo(queue: Queue, out: Outgoing, *, batch: bool) -> str | None:
        """Validate the FIFO ids; the deduplication key in the queue's scope (FIFO only)."""
        if out.group_id is not None:
            validate_fifo_id("MessageGroupId", out.group_id)
        if not queue.settings.fifo:
            if out.dedup_id is not None:
                raise InvalidParameterValue(
                    f"Value {out.dedup_id} for parameter MessageDeduplicationId is invalid. "
                    "Reason: The request include parameter that is not valid for this queue type."
                )
            return None
        if out.group_id is None:
            missing = InvalidParameterValue if batch else MissingParameter
            raise missing("The request must contain the parameter MessageGroupId.")
        if out.dedup_id is not None:
            validate_fifo_id("MessageDeduplicationId", out.dedup_id)
        elif not queue.settings.content_based_dedup:
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        dedup = _dedup_id(out)
        return f"{out.group_id}\x00{dedup}" if queue.settings.dedup_per_group else dedup

    def _deliverable(
        self, queue: Queue, message: Message, now: float, statements: list[Statement]
    ) -> bool:
        """False (and the statements recorded) if the message expired or goes to the DLQ."""
        if _expired_at(queue, message, now):
            statements.append(store.delete_message(message))
            return False
        redrive = queue.settings.redrive
        if redrive is None or message.receive_count < redrive.max_receive_count:
            return True
        target = self._target(redrive.target_arn)
        if target is None or target is queue:
            return True
        statements.append(store.delete_message(message))
        statements.append(self._dead_letter(queue, target, message, now))
        return False

    def _dead_letter(self, source: Queue, target: Queue, message: Message, now: float) -> Statement:
        """A copy of `message` in `target`: same id, body, attributes and sent time.

        AWS keeps counting receives across queues (ApproximateReceiveCount is not reset, nor
        ApproximateFirstReceiveTimestamp) and marks the copy with its source queue's ARN.
        """
        moved = Message(
            seq=self._next_seq(now),
            message_id=message.message_id,
            body=message.body,
            attributes=message.attributes,
            system_attributes=message.system_attributes,
            sent_ms=message.sent_ms,
            group_id=message.group_id,
            dedup_id=message.message_id if target.settings.fifo else message.dedup_id,
            source_arn=source.arn,
            receive_count=message.receive_count,
            first_receive_ms=message.first_receive_ms,
            visible_at=now,
        )
        target.index.add(moved, now)
        target.notify()
        return store.insert_message(target.id, moved)

    def _current(self, queue: Queue, handle: str) -> Message | None:
        """The message a handle's delivery names; None if deleted or stale (standard)."""
        receipt = self._codec.read(handle)
        if receipt.queue_id != queue.id:
            raise ReceiptHandleIsInvalid(handle)
        message = queue.index.messages.get(receipt.seq)
        if message is None:
            return None
        if message.receive_count != receipt.receive_count:
            if queue.settings.fifo:
                raise _expired(handle)
            return None
        return message

    def _replay(
        self, queue: Queue, attempt_id: str | None, now: float
    ) -> list[ReceivedMessage] | None:
        """The earlier answer to the same FIFO receive attempt, if nothing changed since."""
        attempt = queue.attempts.get(attempt_id) if attempt_id is not None else None
        if attempt is None or attempt.expires <= now:
            return None
        for seq, count in attempt.deliveries:
            message = queue.index.messages.get(seq)
            if (
                message is None
                or message.receive_count != count
                or message.state is not State.IN_FLIGHT
            ):
                return None
        return attempt.messages

    def _received(self, queue: Queue, message: Message, ask: Delivery) -> ReceivedMessage:
        handle = self._codec.issue(Receipt(queue.id, message.seq, message.receive_count))
        return ReceivedMessage(
            message_id=message.message_id,
            receipt_handle=handle,
            body=message.body,
            attributes=self._system_attributes(queue, message, ask.attribute_names),
            message_attributes=_select(message.attributes, ask.message_attribute_names),
        )

    def _system_attributes(
        self, queue: Queue, message: Message, names: Sequence[str]
    ) -> dict[str, str]:
        wanted = SYSTEM_ATTRIBUTES if "All" in names else names
        values = {
            "SenderId": self._sender_id,
            "SentTimestamp": str(message.sent_ms),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
        }
        if queue.settings.fifo:
            values["SequenceNumber"] = str(message.seq)
            values["MessageDeduplicationId"] = str(message.dedup_id)
        if message.group_id is not None:
            values["MessageGroupId"] = message.group_id
        trace = message.system_attributes.get("AWSTraceHeader")
        if trace is not None and trace.string_value is not None:
            values["AWSTraceHeader"] = trace.string_value
        if message.source_arn is not None:
            values["DeadLetterQueueSourceArn"] = message.source_arn
        return {name: values[name] for name in wanted if name in values}

    def _drop(self, queue: Queue, message: Message) -> Statement:
        queue.index.remove(message)
        return store.delete_message(message)

    def _announce(self, queue: Queue, delay: float) -> None:
        """Wake receivers now, or arm the queue's timer for when the message shows."""
        if delay:
            queue.schedule(self._clock)
        else:
            queue.notify()

    def _next_seq(self, now: float) -> int:
        """Increasing across restarts: microseconds since the epoch, or one more."""
        self._last_seq = max(self._last_seq + 1, int(now * 1_000_000))
        return self._last_seq


def _dedup_id(out: Outgoing) -> str:
    """The explicit deduplication id, else the SHA-256 of the body (content-based)."""
    if out.dedup_id is not None:
        return out.dedup_id
    return hashlib.sha256(out.body.encode("utf-8")).hexdigest()


def _expired_at(queue: Queue, message: Message, now: float) -> bool:
    return message.sent_ms / 1000 + queue.settings.retention_seconds <= now


def _expired(handle: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle "
        "has expired."
    )


def _select(
    attributes: Mapping[str, MessageAttribute], names: Sequence[str]
) -> dict[str, MessageAttribute]:
    """The message attributes matching `All`, `.*`, exact names or `prefix.*` filters."""
    if not attributes or not names:
        return {}
    if "All" in names or ".*" in names:
        return dict(attributes)
    prefixes = tuple(name[:-1] for name in names if name.endswith(".*"))
    exact = set(names)
    return {
        name: value
        for name, value in attributes.items()
        if name in exact or (prefixes and name.startswith(prefixes))
    }
