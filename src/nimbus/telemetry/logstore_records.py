"""What the log store holds and hands out: positions, and group, stream and event records.

Events are ordered by (timestamp, id). A `Position` is a gap in that order: the events
at or before it come first. Scans resume from a position, so pages never lose or repeat
an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

MAX_INT: Final = 2**63 - 1


@dataclass(frozen=True, order=True)
class Position:
    """A gap in (timestamp, id) order: events at or before it come before the gap."""

    timestamp: int
    event_id: int

    @classmethod
    def before(cls, timestamp: int) -> Position:
        return cls(timestamp, -1)

    @classmethod
    def after(cls, timestamp: int) -> Position:
        return cls(timestamp, MAX_INT)


HEAD: Final = Position(-MAX_INT, -1)
TAIL: Final = Position(MAX_INT, MAX_INT)


@dataclass(frozen=True)
class GroupRecord:
    id: int
    name: str
    created_ms: int
    retention_days: int | None
    stored_bytes: int


@dataclass(frozen=True)
class StreamRecord:
    id: int
    name: str
    created_ms: int
    first_event_ms: int | None
    last_event_ms: int | None
    last_ingestion_ms: int | None


@dataclass(frozen=True)
class EventRecord:
    id: int
    stream: str
    timestamp_ms: int
    ingestion_ms: int
    message: str

    @property
    def position(self) -> Position:
        """The gap just after this event."""
        return Position(self.timestamp_ms, self.id)

    @property
    def size(self) -> int:
        return len(self.message.encode("utf-8", "replace"))


class StreamOrder(Enum):
    NAME = auto()
    LAST_EVENT = auto()


class StreamCreation(Enum):
    CREATED = auto()
    EXISTS = auto()
    NO_GROUP = auto()
