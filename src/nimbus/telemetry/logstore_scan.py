"""FilterLogEvents' bounded scan of one group: windows over the group's time index.

A scan reads a bounded number of index rows per call and answers with the position to
resume from, so a pattern that matches rarely costs each call the same.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Protocol

from nimbus.telemetry.logstore_records import TAIL, EventRecord, Position
from nimbus.telemetry.logstore_schema import AFTER, AT_OR_BEFORE, EVENT_COLUMNS


class MessageFilter(Protocol):
    """What a scan needs of a filter pattern (`telemetry.filter_pattern.FilterPattern`)."""

    def matches(self, message: str) -> bool: ...

    def sql(self, column: str) -> tuple[str, list[str]] | None: ...


@dataclass(frozen=True)
class GroupScan:
    """Which events of a group a filtered scan considers; `end_ms` is inclusive."""

    group_id: int
    start_ms: int | None = None
    end_ms: int | None = None
    stream_names: tuple[str, ...] | None = None
    stream_prefix: str | None = None
    pattern: MessageFilter | None = None


@dataclass(frozen=True)
class ScanResult:
    """Matching events in order, and where to resume (None: the range is exhausted)."""

    events: list[EventRecord]
    resume: Position | None


@dataclass(frozen=True)
class ScanBudget:
    """How much one scan call may read: index rows per window, and time across windows."""

    window_rows: int = 20_000
    seconds: float = 0.1


DEFAULT_SCAN_BUDGET: Final = ScanBudget()


def within_bytes(events: Iterator[EventRecord], max_bytes: int) -> list[EventRecord]:
    """The leading events whose messages fit in `max_bytes` (always at least one)."""
    kept: list[EventRecord] = []
    total = 0
    for event in events:
        total += event.size
        if kept and total > max_bytes:
            break
        kept.append(event)
    return kept


class GroupScanner:
    """One FilterLogEvents call: windows over the group index, matched in SQL or Python."""

    def __init__(self, db: sqlite3.Connection, scan: GroupScan, budget: ScanBudget) -> None:
        self._db = db
        self._scan = scan
        self._budget = budget
        self._range_end = Position.after(scan.end_ms) if scan.end_ms is not None else TAIL
        pattern = scan.pattern.sql("e.message") if scan.pattern is not None else None
        # Patterns SQL cannot express are matched in Python, which is slower per row.
        self._python = scan.pattern is not None and pattern is None
        self._window_rows = budget.window_rows // 4 if self._python else budget.window_rows
        self._where, self._params = self._conditions(pattern)

    def run(self, after: Position, limit: int, max_bytes: int) -> ScanResult:
        if self._scan.start_ms is not None:
            after = max(after, Position.before(self._scan.start_ms))
        found: list[EventRecord] = []
        deadline = time.perf_counter() + self._budget.seconds
        resume: Position | None = after
        while resume is not None and len(found) <= limit:
            window_end = self._window_end(resume)
            found += self._matching(resume, window_end or self._range_end, limit + 1 - len(found))
            resume = window_end
            if time.perf_counter() >= deadline:
                break
        events = within_bytes(iter(found[:limit]), max_bytes)
        if len(events) < len(found):
            resume = events[-1].position
        return ScanResult(events, resume)

    def _conditions(self, pattern: tuple[str, list[str]] | None) -> tuple[str, list[object]]:
        where: list[str] = ["e.group_id = ?"]
        params: list[object] = [self._scan.group_id]
        names, prefix = self._scan.stream_names, self._scan.stream_prefix
        if names is not None:
            marks = ", ".join("?" * len(names))
            where.append(
                f"e.stream_id IN (SELECT id FROM streams WHERE group_id = ? AND name IN ({marks}))"
            )
            params += [self._scan.group_id, *names]
        if prefix is not None:
            where.append(
                "e.stream_id IN (SELECT id FROM streams WHERE group_id = ? "
                "AND substr(name, 1, length(?)) = ?)"
            )
            params += [self._scan.group_id, prefix, prefix]
        if pattern is not None:
            where.append(pattern[0])
            params += pattern[1]
        return " AND ".join(where), params

    def _window_end(self, after: Position) -> Position | None:
        """The gap after the window's last index row; None when the range ends first."""
        row = self._db.execute(
            "SELECT timestamp, id FROM events e INDEXED BY events_by_group "
            f"WHERE e.group_id = ? AND {AFTER} AND {AT_OR_BEFORE} "
            "ORDER BY e.timestamp, e.id LIMIT 1 OFFSET ?",
            (
                self._scan.group_id,
                after.timestamp,
                after.event_id,
                self._range_end.timestamp,
                self._range_end.event_id,
                self._window_rows - 1,
            ),
        ).fetchone()
        return Position(*row) if row else None

    def _matching(self, after: Position, last: Position, wanted: int) -> list[EventRecord]:
        sql = (
            f"SELECT {EVENT_COLUMNS} FROM events e INDEXED BY events_by_group "
            f"JOIN streams s ON s.id = e.stream_id "
            f"WHERE {self._where} AND {AFTER} AND {AT_OR_BEFORE} ORDER BY e.timestamp, e.id"
        )
        params = (*self._params, after.timestamp, after.event_id, last.timestamp, last.event_id)
        if not self._python:
            rows = self._db.execute(f"{sql} LIMIT ?", (*params, wanted)).fetchall()
            return [EventRecord(*row) for row in rows]
        assert self._scan.pattern is not None
        matches = self._scan.pattern.matches
        found: list[EventRecord] = []
        for row in self._db.execute(sql, params):
            if matches(row[4]):
                found.append(EventRecord(*row))
                if len(found) == wanted:
                    break
        return found
