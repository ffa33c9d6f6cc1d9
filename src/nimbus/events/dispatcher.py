"""Delivers pending deliveries: each in its own task, so a slow target delays no other.

The router commits an event with one delivery row per (rule, target) and hands the rows
here. One loop keeps them in a heap by due time; it starts every due row (up to
`concurrency` at once) and otherwise waits on the `Timer` until the earliest due time or
until it is woken (a new row, a finished attempt), never polling. After an attempt:

- delivered: the row is deleted;
- failed, retryable and within the target's limits: the row's attempt count and due time
  are updated (exponential backoff with jitter) and it goes back on the heap;
- otherwise: the dead-letter message is sent (or the event dropped) and the row deleted.

A row leaves the store only after its delivery succeeded or was given up, so a crash at
any point loses nothing: `start` reloads every row (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Iterable
from dataclasses import replace

from nimbus.errors import NimbusError
from nimbus.events import store
from nimbus.events.delivery import TargetDeliverer
from nimbus.events.retry import DeliveryFailure, RetrySettings, decide
from nimbus.events.store import EventStore, PendingDelivery
from nimbus.events.timer import Timer

logger = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        events_store: EventStore,
        deliverer: TargetDeliverer,
        timer: Timer,
        retry: RetrySettings,
        concurrency: int = 64,
    ) -> None:
        self._store = events_store
        self._deliverer = deliverer
        self._timer = timer
        self._retry = retry
        self._concurrency = concurrency
        self._heap: list[tuple[float, int, PendingDelivery]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()  # an attempt finished
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Rows waiting or being attempted (a gauge for tests and the dashboard)."""
        return len(self._heap) + len(self._running)

    async def wait_idle(self) -> None:
        """Until no row is waiting or being attempted."""
        while self._running or self._heap:
            await self._next_progress()

    async def wait_settled(self) -> None:
        """Until nothing is being attempted and nothing is due (rows may wait for later)."""
        while self._running or (self._heap and self._heap[0][0] <= self._timer.now()):
            await self._next_progress()

    async def _next_progress(self) -> None:
        self._progress.clear()
        await self._progress.wait()

    def add(self, deliveries: Iterable[PendingDelivery]) -> None:
        """Rows already committed: due now (new) or at their stored time (reloaded)."""
        for delivery in deliveries:
            heapq.heappush(self._heap, (delivery.due, delivery.id, delivery))
        self._wake.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="events-dispatcher")

    async def stop(self) -> None:
        """Stop starting attempts and cancel those under way (their rows stay stored)."""
        tasks = [t for t in (self._loop_task, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._timer.now()
            while self._heap and self._heap[0][0] <= now and len(self._running) < self._concurrency:
                _, _, delivery = heapq.heappop(self._heap)
                task = asyncio.create_task(self._attempt(delivery))
                self._running.add(task)
                task.add_done_callback(self._finished)
            idle = not self._heap or len(self._running) >= self._concurrency
            await self._timer.wait(None if idle else self._heap[0][0], self._wake)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()
        self._progress.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("event delivery failed unexpectedly", exc_info=task.exception())

    async def _attempt(self, delivery: PendingDelivery) -> None:
        try:
            await self._deliverer.deliver(delivery)
        except NimbusError as error:
            await self._failed(delivery, DeliveryFailure.of(error))
            return
        await self._done(delivery)

    async def _failed(self, delivery: PendingDelivery, failure: DeliveryFailure) -> None:
        decision = decide(
            failure,
            retries_done=delivery.attempts,
            ingested=delivery.ingested,
            now=self._timer.now(),
            policy=delivery.target.retry,
            settings=self._retry,
        )
        if decision.due is not None:
            retried = replace(delivery, attempts=delivery.attempts + 1, due=decision.due)
            await self._store.commit([store.retry_delivery(retried)])
            self.add([retried])
            return
        if await self._deliverer.dead_letter(delivery, failure, decision.exhausted):
            await self._done(delivery)
        else:  # the platform could not take the dead letter now: keep the row, try later
            later = replace(delivery, due=self._timer.now() + self._retry.max_delay_s)
            await self._store.commit([store.retry_delivery(later)])
            self.add([later])

    async def _done(self, delivery: PendingDelivery) -> None:
        await self._store.commit(store.delete_delivery(delivery))
