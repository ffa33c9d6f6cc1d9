"""The one clock the event router waits on: schedules, retry backoff, replays.

`Timer.now()` is the platform's wall clock; `Timer.wait(until, wake)` returns once that
clock has reached `until` or `wake` is set, whichever comes first. `WallTimer` runs on a
real clock (shifted or not); `ManualTimer` only moves when a test calls `advance`, so a
schedule's next minute or a retry an hour away is reached without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from nimbus.clock import Clock


class Timer(Protocol):
    def now(self) -> float: ...

    async def wait(self, until: float | None, wake: asyncio.Event) -> None:
        """Until the clock reaches `until` (None: forever) or `wake` is set."""


class WallTimer:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    async def wait(self, until: float | None, wake: asyncio.Event) -> None:
        delay = None if until is None else until - self._clock()
        if delay is not None and delay <= 0:
            return
        waiter = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=delay)
        finally:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


class ManualTimer:
    """A clock that stands still until `advance`; waiters re-check on every move."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self._now

    def __call__(self) -> float:  # also usable as the platform's `Clock`
        return self._now

    async def advance(self, seconds: float) -> None:
        """Move the clock forward and let every waiter that is now due run."""
        self._now += seconds
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        for _ in range(5):  # let woken waiters reach their next await
            await asyncio.sleep(0)

    async def wait(self, until: float | None, wake: asyncio.Event) -> None:
        while (until is None or self._now < until) and not wake.is_set():
            moved = asyncio.ensure_future(self._moved.wait())
            woken = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait({moved, woken}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (moved, woken):
                    task.cancel()
