"""What the event router hands events to: the platform's functions and queues.

The platform implements `DeliveryTargets` (`nimbus.platform_targets.PlatformTargets`);
the router only ever talks to this protocol. Contract: each call returns once the
destination accepted the message durably (a function invoke is asynchronous, Lambda's
`Event` type) and raises a `NimbusError` when it did not. A destination that does not
exist raises `TargetMissing`, which is never retried.
"""

from __future__ import annotations

from typing import Protocol

from nimbus.errors import ClientError


class TargetMissing(ClientError):
    """The target's function or queue does not exist (the dead-letter queue's NO_RESOURCE)."""

    code = "ResourceNotFoundException"


class DeliveryTargets(Protocol):
    async def invoke_function(self, arn: str, payload: bytes) -> None:
        """An asynchronous invoke (Lambda's `Event` invocation type)."""

    async def send_to_queue(
        self,
        arn: str,
        body: str,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> None:
        """One message; `attributes` become String message attributes."""
