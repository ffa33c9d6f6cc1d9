"""The notification outbox: records committed with their change, delivered afterwards.

A create or delete commits its outbox rows in the same transaction as the object row
(writer.py), so a change is never durable without its notifications. The dispatcher
delivers every row to its target and deletes it once the target has accepted it: at
least once, since a crash between the two redelivers. A failed delivery is retried with
exponential backoff in its own task, so it never holds up other rows. Rows a previous
process left are delivered on start.

While idle the dispatcher waits on an event that each commit with rows sets; the only
timers are scheduled retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from dataclasses import dataclass
from typing import Any

from nimbus.errors import ServiceError
from nimbus.objects.notifications.targets import NotificationTargets
from nimbus.objects.store import ObjectStore
from nimbus.store.groupcommit import Statement

log = logging.getLogger(__name__)

_PAGE = 500


class OutboxKind(enum.Enum):
    QUEUE = "queue"
    FUNCTION = "function"
    EVENT_BUS = "event-bus"


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Delivery retries: the first after `initial_backoff_s`, doubling up to the max."""

    initial_backoff_s: float = 0.2
    max_backoff_s: float = 30.0
    max_in_flight: int = 32  # deliveries awaiting a target at once


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    kind: OutboxKind
    target: str  # the destination ARN ("" for the event bus)
    body: str


def insert(kind: OutboxKind, target: str, body: str) -> Statement:
    return ("INSERT INTO outbox (kind, target, body) VALUES (?, ?, ?)", (kind.value, target, body))


def delete(row_id: int) -> Statement:
    return ("DELETE FROM outbox WHERE id = ?", (row_id,))


def rows_after(objects: ObjectStore, last: int, limit: int = _PAGE) -> list[OutboxRow]:
    rows = objects.read(
        "SELECT id, kind, target, body FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
        (last, limit),
    )
    return [OutboxRow(row[0], OutboxKind(row[1]), row[2], row[3]) for row in rows]


class OutboxDispatcher:
    """Delivers outbox rows through `targets`; `wake()` after committing rows."""

    def __init__(
        self, objects: ObjectStore, targets: NotificationTargets, settings: NotificationSettings
    ) -> None:
        self._store = objects
        self._targets = targets
        self._settings = settings
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._seen = 0
        self._deliveries: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._wake.set()  # rows a previous process left
        self._task = asyncio.create_task(self._run(), name="s3-notification-outbox")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Cancel the scan and every delivery; undelivered rows stay for the next start."""
        tasks = [*self._deliveries, *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while rows := rows_after(self._store, self._seen):
                for row in rows:
                    self._seen = row.id
                    task = asyncio.create_task(self._deliver(row))
                    self._deliveries.add(task)
                    task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, row: OutboxRow) -> None:
        delay = self._settings.initial_backoff_s
        while not await self._attempt(row):
            await asyncio.sleep(delay)  # the one timer: a scheduled retry
            delay = min(delay * 2, self._settings.max_backoff_s)
        try:
            await self._store.commit([delete(row.id)])
        except ServiceError:  # the row stays and is delivered again on the next start
            log.warning("Could not delete delivered notification %d", row.id, exc_info=True)

    async def _attempt(self, row: OutboxRow) -> bool:
        async with self._slots:
            try:
                await self._send(row)
            # Any failure of a target means "not accepted": the row is kept and retried,
            # whatever the target raised, so one broken destination loses nothing.
            except Exception:
                log.warning(
                    "Notification %d to %s failed; retrying", row.id, row.target, exc_info=True
                )
                return False
        return True

    async def _send(self, row: OutboxRow) -> None:
        if row.kind is OutboxKind.QUEUE:
            await self._targets.send_to_queue(row.target, row.body)
        elif row.kind is OutboxKind.FUNCTION:
            await self._targets.invoke_function(row.target, row.body.encode())
        else:
            event: dict[str, Any] = json.loads(row.body)
            await self._targets.put_event(event)
