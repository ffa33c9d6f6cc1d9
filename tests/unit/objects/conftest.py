"""Run ObjectsService scenarios in-process on a fresh data dir, with a clock tests drive."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from nimbus.objects import ObjectChange, ObjectLimits, ObjectsService


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


Body = Callable[[ObjectsService], Awaitable[Any]]


class Harness:
    """`run(body)`: start a service on `data_dir`, await `body(service)`, stop it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.clock = FakeClock()
        self.changes: list[ObjectChange] = []
        self.limits = ObjectLimits(min_part_size=5)

    async def _record(self, change: ObjectChange) -> None:
        self.changes.append(change)

    def run(self, body: Body) -> Any:
        async def main() -> Any:
            service = ObjectsService(
                self.data_dir, clock=self.clock, on_change=self._record, limits=self.limits
            )
            await service.start()
            try:
                return await body(service)
            finally:
                await service.stop()

        return asyncio.run(main())


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path / "data")


async def chunks(*parts: bytes) -> Any:
    for part in parts:
        yield part
