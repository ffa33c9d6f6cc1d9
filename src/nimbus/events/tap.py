"""The events each bus accepted lately, and which rules they matched: what `nimbus events
tail` shows.

Kept in memory only (the last `keep` events of all buses): it is a window for people
watching, not a record; the archive is the record. Each event gets a sequence number;
a watcher asks for what came after the last one it saw and, when there is nothing yet,
waits until something arrives or its timeout passes (a long poll), so nobody polls on a
timer. A server restart starts the numbers again; a watcher ahead of them is shown
everything kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Tapped:
    sequence: int
    bus: str
    event: dict[str, Any]
    rules: tuple[str, ...]  # names of the rules it matched, on `bus`

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "bus": self.bus,
            "event": self.event,
            "rules": list(self.rules),
        }


class EventTap:
    def __init__(self, keep: int = 1000) -> None:
        self._recent: deque[Tapped] = deque(maxlen=keep)
        self._sequence = 0
        self._arrived = asyncio.Event()

    @property
    def sequence(self) -> int:
        """The number of the latest event seen (0: none yet)."""
        return self._sequence

    def record(self, bus: str, event: dict[str, Any], rules: tuple[str, ...]) -> None:
        """Called once an event is committed (accepted): it passed through `bus`."""
        self._sequence += 1
        self._recent.append(Tapped(self._sequence, bus, event, rules))
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    def after(self, bus: str | None, sequence: int) -> list[Tapped]:
        """Kept events of `bus` (None: every bus) numbered above `sequence`."""
        if sequence > self._sequence:  # numbered by an earlier server process
            sequence = 0
        return [
            tapped
            for tapped in self._recent
            if tapped.sequence > sequence and (bus is None or tapped.bus == bus)
        ]

    async def wait_after(self, bus: str | None, sequence: int, timeout: float) -> list[Tapped]:
        """As `after`, but wait up to `timeout` seconds for a first event if none is kept."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := self.after(bus, sequence)):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
        return found
