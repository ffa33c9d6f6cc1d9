"""Run ObjectsService scenarios in-process on a fresh data dir, with a clock tests drive.

A module of its own (not conftest.py), so `from objects_harness import ...` cannot pick up
another directory's conftest module."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nimbus.objects import (
    NotificationConfiguration,
    NotificationSettings,
    ObjectLimits,
    ObjectsService,
)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Body = Callable[[ObjectsService], Awaitable[Any]]
EVENT_BRIDGE = NotificationConfiguration(event_bridge=True)
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:q"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:f"


class TargetDown(Exception):
    """What the fake raises while told to fail."""


class RecordingTargets:
    """A NotificationTargets that records what it accepts; `failures[arn]` deliveries
    to `arn` (or "" for the event bus) fail first."""

    def __init__(self) -> None:
        self.existing = {QUEUE_ARN, FUNCTION_ARN}
        self.failures: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self.delivered: list[tuple[str, Any]] = []  # (arn or "", parsed payload)
        self.test_events: list[tuple[str, Any]] = []
        self._changed: asyncio.Event | None = None

    async def function_exists(self, arn: str) -> bool:
        return arn in self.existing

    async def queue_exists(self, arn: str) -> bool:
        return arn in self.existing

    async def invoke_function(self, arn: str, payload: bytes) -> None:
        self._accept(arn, json.loads(payload))

    async def send_to_queue(self, arn: str, body: str) -> None:
        message = json.loads(body)
        if message.get("Event") == "s3:TestEvent":
            self.test_events.append((arn, message))
            return
        self._accept(arn, message)

    async def put_event(self, event: dict[str, Any]) -> None:
        self._accept("", event)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The EventBridge events, in delivery order."""
        return [payload for arn, payload in self.delivered if arn == ""]

    def to(self, arn: str) -> list[Any]:
        return [payload for target, payload in self.delivered if target == arn]

    async def wait_for(self, count: int) -> None:
        """Until `count` deliveries in all have been accepted."""
        await self.wait_until(lambda: len(self.delivered) >= count)

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until `condition()` holds, checked after each delivery attempt."""

        async def arrived() -> None:
            while not condition():
                self._changed = asyncio.Event()
                await self._changed.wait()

        await asyncio.wait_for(arrived(), timeout)

    def _accept(self, arn: str, payload: Any) -> None:
        self.attempts[arn] = self.attempts.get(arn, 0) + 1
        if self.failures.get(arn, 0) > 0:
            self.failures[arn] -= 1
            if self._changed is not None:
                self._changed.set()
            raise TargetDown(arn)
        self.delivered.append((arn, payload))
        if self._changed is not None:
            self._changed.set()


class Harness:
    """`run(body)`: start a service on `data_dir`, await `body(service)`, stop it.

    Notifications go to `targets`; deliveries retry after 10 ms."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.clock = FakeClock()
        self.targets: RecordingTargets | None = RecordingTargets()
        self.limits = ObjectLimits(min_part_size=5)
        self.settings = NotificationSettings(initial_backoff_s=0.01, max_backoff_s=0.05)

    @property
    def recorded(self) -> RecordingTargets:
        assert self.targets is not None
        return self.targets

    def service(self) -> ObjectsService:
        return ObjectsService(
            self.data_dir,
            clock=self.clock,
            limits=self.limits,
            targets=self.targets,
            region="eu-west-1",
            account_id="123456789012",
            principal="OWNERID",
            notification_settings=self.settings,
        )

    def run(self, body: Body) -> Any:
        async def main() -> Any:
            service = self.service()
            await service.start()
            try:
                return await body(service)
            finally:
                await service.stop()

        return asyncio.run(main())


async def chunks(*parts: bytes) -> Any:
    for part in parts:
        yield part
