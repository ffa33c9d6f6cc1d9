"""An in-process EventsService on a manual clock, with targets that record what they get."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nimbus.errors import NimbusError
from nimbus.events.envelope import EventEntry
from nimbus.events.retry import RetrySettings
from nimbus.events.service import EventsLimits, EventsService
from nimbus.events.targets import TargetMissing
from nimbus.events.timer import ManualTimer

REGION, ACCOUNT = "us-east-1", "123456789012"
START = 1_700_000_000.0
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:target"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:handler"


@dataclass(frozen=True)
class Sent:
    arn: str
    body: str
    group_id: str | None
    dedup_id: str | None
    attributes: dict[str, str]

    @property
    def event(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeTargets:
    """Queues and functions that accept everything unless told otherwise."""

    sent: list[Sent] = field(default_factory=list)
    invoked: list[tuple[str, bytes]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    failures: dict[str, list[NimbusError]] = field(default_factory=dict)  # popped per attempt
    always_failing: dict[str, NimbusError] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # hold a target's calls
    attempts: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def invoke_function(self, arn: str, payload: bytes) -> None:
        await self._check(arn)
        self.invoked.append((arn, payload))
        self.changed.set()

    async def send_to_queue(
        self,
        arn: str,
        body: str,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
        attributes: dict[str, str] | None = None,
    ) -> None:
        await self._check(arn)
        self.sent.append(Sent(arn, body, group_id, dedup_id, dict(attributes or {})))
        self.changed.set()

    async def _check(self, arn: str) -> None:
        self.attempts.append(arn)
        self.changed.set()
        gate = self.gates.get(arn)
        if gate is not None:
            await gate.wait()
        if arn in self.missing:
            raise TargetMissing(f"{arn} does not exist.")
        if arn in self.always_failing:
            raise self.always_failing[arn]
        queued = self.failures.get(arn)
        if queued:
            raise queued.pop(0)

    def to(self, arn: str) -> list[Sent]:
        return [s for s in self.sent if s.arn == arn]

    async def until(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait (on the targets' own signal, not a sleep) until `done()` holds."""
        async with asyncio.timeout(timeout):
            while not done():
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Harness:
    path: Path
    targets: FakeTargets = field(default_factory=FakeTargets)
    retry: RetrySettings = field(
        default_factory=lambda: RetrySettings(185, 86_400, base_delay_s=1.0, max_delay_s=60.0)
    )
    max_request_size: int = 262_144

    def run(self, body: Callable[[EventsService, ManualTimer], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            timer = ManualTimer(START)
            service = self.service(timer)
            await service.start()
            try:
                return await body(service, timer)
            finally:
                await service.stop()

        return asyncio.run(main())

    def service(self, timer: ManualTimer) -> EventsService:
        return EventsService(
            self.path, self.targets, timer, region=REGION, account=ACCOUNT, retry=self.retry,
            limits=EventsLimits(self.max_request_size, 8),
        )  # fmt: skip


def entry(source: str = "my.app", detail: Any = None, **fields: Any) -> EventEntry:
    text = json.dumps({"n": 1} if detail is None else detail)
    return EventEntry(source=source, detail_type=fields.pop("detail_type", "thing"),
                      detail=fields.pop("detail_text", text), **fields)  # fmt: skip
