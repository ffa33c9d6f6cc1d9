"""One queue's runtime state: its settings, message index, dedup window and wake-ups.

Waiting without spinning: each queue has an `asyncio.Event` that is set (and replaced)
whenever messages may have become receivable — a send, a visibility change to 0, a delete
that unlocks a FIFO group, or the queue's one timer firing at the earliest `visible_at`
of its delayed and in-flight messages. Long polls and subscribers wait on that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from nimbus.queues.attributes import QueueSettings
from nimbus.queues.index import MessageIndex
from nimbus.queues.model import ReceivedMessage
from nimbus.queues.store import DedupRow, QueueRow

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Attempt:
    """A FIFO ReceiveRequestAttemptId's answer, replayed while it is unchanged."""

    expires: float
    messages: list[ReceivedMessage]
    deliveries: list[tuple[int, int]]  # (seq, receive count) of each message


class Queue:
    """A queue in memory: what receive, send and the attribute reads need."""

    def __init__(self, row: QueueRow, url: str, arn: str) -> None:
        self.id = row.id
        self.name = row.name
        self.url = url
        self.arn = arn
        self.attributes = row.attributes
        self.tags = row.tags
        self.created = row.created
        self.modified = row.modified
        self.settings = QueueSettings.of(row.attributes)
        self.index = MessageIndex(fifo=self.settings.fifo)
        self.dedup: dict[str, DedupRow] = {}
        self._dedup_order: deque[DedupRow] = deque()
        self.attempts: dict[str, Attempt] = {}
        self.purged_at: float | None = None
        self.deleted = False
        self._signal = asyncio.Event()
        self._subscribers: list[Callable[[], None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    def set_attributes(self, attributes: dict[str, str], modified: int) -> None:
        self.attributes = attributes
        self.modified = modified
        self.settings = QueueSettings.of(attributes)

    def remember(self, row: DedupRow) -> None:
        """Record a deduplication id for the rest of its window."""
        self.dedup[row.key] = row
        self._dedup_order.append(row)

    def recall(self, key: str, now: float) -> DedupRow | None:
        """The live dedup entry under `key`, forgetting those whose window has closed."""
        order = self._dedup_order
        while order and order[0].expires <= now:
            old = order.popleft()
            if self.dedup.get(old.key) is old:
                del self.dedup[old.key]
        return self.dedup.get(key)

    def notify(self) -> None:
        """Wake every long poll and subscriber: messages may be receivable now."""
        self._signal.set()
        self._signal = asyncio.Event()
        for callback in list(self._subscribers):
            callback()

    @property
    def signal(self) -> asyncio.Event:
        """The event the next `notify` sets; take it before looking, then `wait` on it."""
        return self._signal

    @staticmethod
    async def wait(signal: asyncio.Event, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `signal`; False if it did not come.

        `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` swallows a cancellation
        that arrives as the event is set (it returns the result instead), so a poller being
        stopped just as a message came would go on polling (and its stop never end).
        """
        try:
            async with asyncio.timeout(timeout):
                await signal.wait()
        except TimeoutError:
            return False
        return True

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._unsubscribe(callback)

    def schedule(self, clock: Clock) -> None:
        """Keep one timer at the earliest moment a delayed or in-flight message shows."""
        due = self.index.next_change()
        if due is None or self.deleted:
            self._cancel_timer()
            return
        if self._timer_at is not None and self._timer_at <= due:
            return
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer_at = due
        self._timer = loop.call_later(max(0.0, due - clock()) + 0.001, self._fire, clock)

    def close(self) -> None:
        """The queue was deleted or the service stops: wake waiters, drop the timer."""
        self.deleted = True
        self._cancel_timer()
        self.notify()

    def _fire(self, clock: Clock) -> None:
        self._timer = self._timer_at = None
        if self.index.promote(clock()):
            self.notify()
        self.schedule(clock)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_at = None

    def _unsubscribe(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(callback)
