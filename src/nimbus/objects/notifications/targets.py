"""The destinations notifications reach, as the object service sees them.

The platform implements `NotificationTargets` over its queues, functions and event bus;
the object service only ever talks to this protocol. Contract:

- `*_exists` answer whether a destination ARN names something that exists now (used to
  validate a configuration; never raise for a missing destination).
- `invoke_function`, `send_to_queue` and `put_event` return once the destination has
  accepted the message durably (a function invoke is asynchronous: Lambda's `Event`
  type), and raise when it did not. A raise means "try again later": the record stays in
  the outbox and is redelivered, so each delivery is at least once and may repeat.
"""

from __future__ import annotations

from typing import Any, Protocol


class NotificationTargets(Protocol):
    async def function_exists(self, arn: str) -> bool: ...

    async def queue_exists(self, arn: str) -> bool: ...

    async def invoke_function(self, arn: str, payload: bytes) -> None:
        """An asynchronous invoke (Lambda's `Event` invocation type)."""

    async def send_to_queue(self, arn: str, body: str) -> None: ...

    async def put_event(self, event: dict[str, Any]) -> None:
        """One event (the whole envelope) onto the default event bus."""
