"""Where every message of one queue stands, kept in memory so a receive is O(batch).

A message is DELAYED, VISIBLE or IN_FLIGHT until it is GONE. Every state change bumps its
`epoch`; the structures below hold `(epoch, seq)` entries and skip the ones whose epoch
moved on, so nothing is ever searched:

- `_timers`: a heap of (visible_at, seq, epoch) for delayed and in-flight messages; due
  entries are promoted to VISIBLE lazily (on receive) or by the service's timer.
- standard queues: `_ready`, a deque of visible messages in the order they became visible.
- FIFO queues: per message group a deque of its messages in send order, the number in
  flight, and `_groups`, a deque of groups whose head is visible and none in flight
  (strict order per group; a group is locked while any of its messages is in flight).
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

from nimbus.queues.model import MessageAttribute


class State(Enum):
    DELAYED = "delayed"
    VISIBLE = "visible"
    IN_FLIGHT = "in_flight"
    GONE = "gone"


@dataclass(slots=True, eq=False)
class Message:
    """One stored message and its delivery state (mutable: it moves through states)."""

    seq: int
    message_id: str
    body: str
    attributes: Mapping[str, MessageAttribute]
    system_attributes: Mapping[str, MessageAttribute]
    sent_ms: int
    group_id: str | None = None
    dedup_id: str | None = None
    source_arn: str | None = None
    receive_count: int = 0
    first_receive_ms: int | None = None
    received_at: float | None = None
    visible_at: float = 0.0
    state: State = State.VISIBLE
    epoch: int = 0


@dataclass(slots=True, eq=False)
class _Group:
    messages: deque[Message] = field(default_factory=deque)
    in_flight: int = 0
    queued: bool = False


class MessageIndex:
    """The delivery state of one queue's messages (standard or FIFO ordering)."""

    def __init__(self, *, fifo: bool) -> None:
        self.fifo = fifo
        self.messages: dict[int, Message] = {}
        self.counts: Counter[State] = Counter()
        self._timers: list[tuple[float, int, int]] = []
        self._ready: deque[tuple[int, int]] = deque()
        self._groups: dict[str, _Group] = {}
        self._available: deque[str] = deque()
        self._reading: str | None = None  # the group whose deque is being iterated

    def add(self, message: Message, now: float) -> None:
        """Index a new (or reloaded) message by its `visible_at` and receive count."""
        self.messages[message.seq] = message
        if self.fifo:
            self._group(message).messages.append(message)
        if message.visible_at <= now:
            self._enter(message, State.VISIBLE)
        elif message.receive_count:
            self._enter(message, State.IN_FLIGHT)
        else:
            self._enter(message, State.DELAYED)

    def take(
        self, limit: int, now: float, until: float, keep: Callable[[Message], bool]
    ) -> list[Message]:
        """Up to `limit` visible messages in delivery order, now in flight until `until`.

        `keep(message)` is asked first; False means the caller disposed of the message
        (dead-lettered or expired) and it is removed instead of delivered.
        """
        self.promote(now)
        taken: list[Message] = []
        candidates = self._candidates()
        try:
            for message in candidates:
                if keep(message):
                    message.visible_at = until
                    self._move(message, State.IN_FLIGHT)
                    taken.append(message)
                else:
                    self.remove(message)
                if len(taken) == limit:
                    break
        finally:
            candidates.close()  # lets a FIFO group being read settle
        return taken

    def change_visibility(self, message: Message, until: float, now: float) -> None:
        """An in-flight message becomes visible at `until` (now or earlier: at once)."""
        message.visible_at = until
        self._move(message, State.VISIBLE if until <= now else State.IN_FLIGHT)

    def remove(self, message: Message) -> None:
        """Forget a message (deleted, purged, expired or moved to a dead-letter queue)."""
        self._move(message, State.GONE)
        del self.messages[message.seq]

    def promote(self, now: float) -> int:
        """Make every delayed or in-flight message whose time has come visible."""
        promoted = 0
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, seq, epoch = heapq.heappop(timers)
            message = self.messages.get(seq)
            if message is not None and message.epoch == epoch:
                self._move(message, State.VISIBLE)
                promoted += 1
        return promoted

    def next_change(self) -> float | None:
        """When the next delayed or in-flight message becomes visible, if any."""
        timers = self._timers
        while timers:
            _, seq, epoch = timers[0]
            message = self.messages.get(seq)
            if message is not None and message.epoch == epoch:
                return timers[0][0]
            heapq.heappop(timers)
        return None

    def clear(self) -> None:
        """Drop every message (PurgeQueue)."""
        for message in self.messages.values():
            message.state = State.GONE
        self.messages = {}
        self.counts = Counter()
        self._timers = []
        self._ready = deque()
        self._groups = {}
        self._available = deque()

    def _candidates(self) -> Generator[Message, None, None]:
        return self._fifo_candidates() if self.fifo else self._standard_candidates()

    def _standard_candidates(self) -> Generator[Message, None, None]:
        ready = self._ready
        while ready:
            epoch, seq = ready.popleft()
            message = self.messages.get(seq)
            if message is not None and message.epoch == epoch:
                yield message

    def _fifo_candidates(self) -> Generator[Message, None, None]:
        available = self._available
        while available:
            name = available.popleft()
            group = self._groups.get(name)
            if group is None:
                continue
            group.queued = False
            self._reading = name
            try:
                if self._head_ready(group):
                    yield from _visible_run(group)
            finally:
                self._reading = None
                self._settle(name)

    def _enter(self, message: Message, state: State) -> None:
        message.state = State.GONE
        self._move(message, state)

    def _move(self, message: Message, state: State) -> None:
        old = message.state
        if old is not State.GONE:
            self.counts[old] -= 1
        if state is not State.GONE:
            self.counts[state] += 1
        message.state = state
        message.epoch += 1
        if state is State.VISIBLE and not self.fifo:
            self._ready.append((message.epoch, message.seq))
        elif state in (State.IN_FLIGHT, State.DELAYED):
            heapq.heappush(self._timers, (message.visible_at, message.seq, message.epoch))
        if self.fifo and message.group_id is not None:
            self._track_group(message, old, state)

    def _track_group(self, message: Message, old: State, new: State) -> None:
        assert message.group_id is not None
        group = self._groups[message.group_id]
        group.in_flight += (new is State.IN_FLIGHT) - (old is State.IN_FLIGHT)
        if new is not State.IN_FLIGHT:
            self._settle(message.group_id)

    def _settle(self, name: str) -> None:
        """Trim deleted heads; queue the group if deliverable, drop it if empty."""
        group = self._groups[name]
        if name == self._reading:
            return
        while group.messages and group.messages[0].state is State.GONE:
            group.messages.popleft()
        if not group.messages and not group.in_flight:
            del self._groups[name]
        elif not group.queued and self._head_ready(group):
            group.queued = True
            self._available.append(name)

    def _group(self, message: Message) -> _Group:
        assert message.group_id is not None
        return self._groups.setdefault(message.group_id, _Group())

    @staticmethod
    def _head_ready(group: _Group) -> bool:
        return (
            group.in_flight == 0
            and bool(group.messages)
            and group.messages[0].state is State.VISIBLE
        )


def _visible_run(group: _Group) -> Iterator[Message]:
    """The group's messages from its head while they are visible (skipping removed ones)."""
    for message in group.messages:
        if message.state is State.GONE:
            continue
        if message.state is not State.VISIBLE:
            return
        yield message
