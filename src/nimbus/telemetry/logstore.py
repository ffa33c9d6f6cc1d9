"""Log events in their own SQLite file: appends queued off the hot path, bounded scans.

`append` runs on the warm-invoke path, so it only puts a tuple on a deque. One writer
thread owns the write connection: every ~50 ms (sooner when many rows wait) it drains
the deque and inserts the whole batch with `executemany` in one transaction. Logs are
acknowledged to nobody, so the file runs in WAL mode with synchronous=NORMAL.

Everything else that writes (groups, streams, retention, expiry) is a command run on
that same thread, in queue order: a command sees every append made before it, and the
writer's name -> id caches stay true without locks. Reads use a second connection;
each read first waits for pending appends (read-your-writes), which costs nothing
when the queue is idle.

Events are ordered by (timestamp, id). A `Position` is a gap in that order: the events
at or before it come first. Scans resume from a position, so pages never lose or repeat
an event, and a scan over a group reads a bounded number of index rows per call.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum, auto
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, Protocol, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")

BATCH_INTERVAL: Final = 0.05  # seconds between the writer's commits while appends arrive
BATCH_ROWS: Final = 2_000  # appends waiting that wake the writer before the interval ends
DELETE_BATCH: Final = 5_000  # rows per expiry transaction, so appends wait at most a few ms
CACHE_LIMIT: Final = 10_000  # name -> id entries the writer keeps before starting afresh
MAX_INT: Final = 2**63 - 1
MS_PER_DAY: Final = 86_400_000
SURROGATE: Final = re.compile("[\ud800-\udfff]")

SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    retention_days INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    first_event INTEGER,
    last_event INTEGER,
    last_ingestion INTEGER,
    UNIQUE (group_id, name)
);
CREATE INDEX IF NOT EXISTS streams_by_last_event
    ON streams (group_id, ifnull(last_event, -1), name);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_group ON events (group_id, timestamp, id);
CREATE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, timestamp, id);
CREATE TABLE IF NOT EXISTS deleted_groups (id INTEGER PRIMARY KEY);
"""

GROUP_COLUMNS = "id, name, created, retention_days, stored_bytes"
STREAM_COLUMNS = "id, name, created, first_event, last_event, last_ingestion"
EVENT_COLUMNS = "e.id, s.name, e.timestamp, e.ingestion, e.message"
AFTER = "(e.timestamp, e.id) > (?, ?)"
AT_OR_BEFORE = "(e.timestamp, e.id) <= (?, ?)"


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


class MessageFilter(Protocol):
    """What a scan needs of a filter pattern (`telemetry.filter_pattern.FilterPattern`)."""

    def matches(self, message: str) -> bool: ...

    def sql(self, column: str) -> tuple[str, list[str]] | None: ...


class StreamOrder(Enum):
    NAME = auto()
    LAST_EVENT = auto()


class StreamCreation(Enum):
    CREATED = auto()
    EXISTS = auto()
    NO_GROUP = auto()


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


class _Flushed:
    """A marker in the queue: set once everything queued before it is committed."""

    def __init__(self) -> None:
        self.done = threading.Event()


class _Command:
    """Work for the writer thread: `run(writer)` in its own transaction."""

    def __init__(self, run: Callable[[_Writer], Any]) -> None:
        self.run = run
        self.future: Future[Any] = Future()


_Append = tuple[str, str, tuple[tuple[int, str], ...], int]


class LogStore:
    """Log groups, streams and events; see the module docstring for the threading model."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._queue: deque[_Append | _Flushed | _Command] = deque()
        self._wake = threading.Event()
        self._busy = False
        self._closed = False
        self._writer = _Writer(_connect(path, readonly=False), clock)
        self._reader = _connect(path, readonly=True)
        self._read_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run_writer, name="logstore", daemon=True)
        self._thread.start()

    # -- writing ------------------------------------------------------------------------

    def append(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Queue (timestamp_ms, message) events; group and stream are created on first use."""
        if self._closed:
            raise RuntimeError("the log store is closed")
        queue = self._queue
        queue.append((group, stream, tuple(events), int(self._clock() * 1000)))
        if len(queue) >= BATCH_ROWS:
            self._wake.set()

    def flush(self) -> None:
        """Block until everything appended so far is committed."""
        if not self._thread.is_alive():
            return  # closed: the writer's last drain committed everything
        marker = _Flushed()
        self._queue.append(marker)
        self._wake.set()
        marker.done.wait()

    def close(self) -> None:
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._wake.set()
        self._thread.join()
        self._writer.close()
        with self._read_lock:
            self._reader.close()

    def create_group(self, name: str) -> bool:
        """False when the group exists already."""
        return self._command(_Writer.create_group, name)

    def delete_group(self, name: str) -> bool:
        """False when there is no such group; its events are purged later by `expire`."""
        return self._command(_Writer.delete_group, name)

    def set_retention(self, name: str, days: int | None) -> bool:
        return self._command(_Writer.set_retention, name, days)

    def create_stream(self, group: str, stream: str) -> StreamCreation:
        return self._command(_Writer.create_stream, group, stream)

    def expire(self, now_ms: int, default_retention_days: int) -> int:
        """Delete events past their group's retention and purge deleted groups.

        Runs as many small transactions as needed, so appends queued meanwhile wait at
        most one batch; returns the number of events deleted.
        """
        deleted = 0
        for group_id, days in self._read(_retentions, default_retention_days):
            cutoff = now_ms - days * MS_PER_DAY
            deleted += self._repeat(_Writer.expire_batch, group_id, cutoff)
            self._command(_Writer.drop_expired_streams, group_id, cutoff)
        for group_id in self._read(_deleted_groups):
            deleted += self._repeat(_Writer.purge_batch, group_id)
            self._command(_Writer.forget_deleted, group_id)
        return deleted

    def _repeat(
        self, batch: Callable[Concatenate[_Writer, P], int], *args: P.args, **kwargs: P.kwargs
    ) -> int:
        """Run a bounded batch as separate commands until it finds nothing left."""
        total = 0
        while (count := self._command(batch, *args, **kwargs)) > 0:
            total += count
        return total

    def _command(
        self, work: Callable[Concatenate[_Writer, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `work` on the writer thread after everything queued before it; wait."""
        if self._closed:
            raise RuntimeError("the log store is closed")
        command = _Command(lambda writer: work(writer, *args, **kwargs))
        self._queue.append(command)
        self._wake.set()
        result: T = command.future.result()
        return result

    def _run_writer(self) -> None:
        while not self._closed:
            self._wake.wait(BATCH_INTERVAL)
            self._wake.clear()
            if not self._queue:
                continue
            self._busy = True  # before draining: `_sync` must not miss an in-flight batch
            try:
                self._writer.drain(self._queue)
            finally:
                self._busy = False
        self._writer.drain(self._queue)  # whatever raced with close()

    # -- reading ------------------------------------------------------------------------

    def group(self, name: str) -> GroupRecord | None:
        rows = self._read(_select, f"SELECT {GROUP_COLUMNS} FROM groups WHERE name = ?", (name,))
        return GroupRecord(*rows[0]) if rows else None

    def groups(self, prefix: str | None, after: str | None, limit: int) -> list[GroupRecord]:
        """Groups by name: those after `after`, starting with `prefix`."""
        sql = (
            f"SELECT {GROUP_COLUMNS} FROM groups WHERE name > ? "
            "AND substr(name, 1, length(?)) = ? ORDER BY name LIMIT ?"
        )
        prefix = prefix or ""
        rows = self._read(_select, sql, (after or "", prefix, prefix, limit))
        return [GroupRecord(*row) for row in rows]

    def stream(self, group_id: int, name: str) -> StreamRecord | None:
        sql = f"SELECT {STREAM_COLUMNS} FROM streams WHERE group_id = ? AND name = ?"
        rows = self._read(_select, sql, (group_id, name))
        return StreamRecord(*rows[0]) if rows else None

    def streams(
        self,
        group_id: int,
        prefix: str | None,
        order: StreamOrder,
        descending: bool,
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[StreamRecord]:
        """Streams in `order`; `after` is the (last event or -1, name) key of the last seen."""
        columns = (
            ("ifnull(last_event, -1)", "name") if order is StreamOrder.LAST_EVENT else ("name",)
        )
        direction, beyond = ("DESC", "<") if descending else ("ASC", ">")
        where: list[str] = ["group_id = ?"]
        params: list[object] = [group_id]
        if prefix:
            where.append("substr(name, 1, length(?)) = ?")
            params += [prefix, prefix]
        if after is not None:
            marks = ", ".join("?" * len(columns))
            where.append(f"({', '.join(columns)}) {beyond} ({marks})")
            params += list(after)[-len(columns) :]
        order_by = ", ".join(f"{column} {direction}" for column in columns)
        sql = (
            f"SELECT {STREAM_COLUMNS} FROM streams WHERE {' AND '.join(where)} "
            f"ORDER BY {order_by} LIMIT ?"
        )
        return [StreamRecord(*row) for row in self._read(_select, sql, (*params, limit))]

    def stream_events(
        self,
        stream_id: int,
        origin: Position,
        forward: bool,
        limit: int,
        max_bytes: int,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[EventRecord]:
        """GetLogEvents: up to `limit` events next to `origin`, oldest first.

        Forward reads the events after the gap, backward the ones at or before it; the
        time range is [start_ms, end_ms). Events stop before `max_bytes` of messages.
        """
        where = ["e.stream_id = ?", AFTER if forward else AT_OR_BEFORE]
        params: list[object] = [stream_id, origin.timestamp, origin.event_id]
        if start_ms is not None:
            where.append("e.timestamp >= ?")
            params.append(start_ms)
        if end_ms is not None:
            where.append("e.timestamp < ?")
            params.append(end_ms)
        direction = "" if forward else " DESC"
        sql = (
            f"SELECT {EVENT_COLUMNS} FROM events e JOIN streams s ON s.id = e.stream_id "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY e.timestamp{direction}, e.id{direction} LIMIT ?"
        )
        rows = self._read(_select, sql, (*params, limit))
        events = _within_bytes((EventRecord(*row) for row in rows), max_bytes)
        return events if forward else events[::-1]

    def scan_group(
        self,
        scan: GroupScan,
        after: Position,
        limit: int,
        max_bytes: int,
        budget: ScanBudget = DEFAULT_SCAN_BUDGET,
    ) -> ScanResult:
        """FilterLogEvents: matching events after `after`, reading a bounded number of rows.

        The scan walks the group's (timestamp, id) index in windows of `window_rows` and
        stops when `limit` events matched, when the time budget is spent (after at least
        one window), or at the end of the range; `resume` continues right after the last
        row examined, so a call that found nothing still makes progress.
        """
        return self._read(lambda db: _GroupScanner(db, scan, budget).run(after, limit, max_bytes))

    def _read(self, query: Callable[..., T], *args: Any) -> T:
        self._sync()
        with self._read_lock:
            return query(self._reader, *args)

    def _sync(self) -> None:
        """Read-your-writes: wait for appends queued or in flight; free when idle."""
        if self._queue or self._busy:
            self.flush()


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    if readonly:
        db.execute("PRAGMA query_only=ON")
        db.execute("PRAGMA mmap_size=268435456")  # scans read pages without copying them
    else:
        db.executescript(SCHEMA)
    return db


def _select(db: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    return db.execute(sql, params).fetchall()


def _retentions(db: sqlite3.Connection, default_days: int) -> list[tuple[int, int]]:
    sql = "SELECT id, ifnull(retention_days, ?) FROM groups"
    return db.execute(sql, (default_days,)).fetchall()


def _deleted_groups(db: sqlite3.Connection) -> list[int]:
    return [row[0] for row in db.execute("SELECT id FROM deleted_groups")]


def _within_bytes(events: Iterator[EventRecord], max_bytes: int) -> list[EventRecord]:
    """The leading events whose messages fit in `max_bytes` (always at least one)."""
    kept: list[EventRecord] = []
    total = 0
    for event in events:
        total += event.size
        if kept and total > max_bytes:
            break
        kept.append(event)
    return kept


class _GroupScanner:
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
        events = _within_bytes(iter(found[:limit]), max_bytes)
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


class _Writer:
    """The write connection and its caches; used only by the writer thread."""

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        self._group_ids: dict[str, int] = {}
        self._stream_ids: dict[tuple[int, str], int] = {}

    def close(self) -> None:
        self._db.close()

    def drain(self, queue: deque[_Append | _Flushed | _Command]) -> None:
        """Write everything queued: appends batched, commands and markers in order."""
        appends: list[_Append] = []
        while queue:
            item = queue.popleft()
            if type(item) is tuple:
                appends.append(item)
                if len(appends) < BATCH_ROWS:
                    continue
            self._write(appends)
            appends = []
            if isinstance(item, _Command):
                self._execute(item)
            elif isinstance(item, _Flushed):
                item.done.set()
        self._write(appends)

    def _write(self, appends: list[_Append]) -> None:
        """Commit a batch; if it fails, retry its appends one by one so that a single
        malformed append (the store is fed unvalidated, off the hot path) costs only itself.
        The writer thread must survive anything: flushes wait on it."""
        if not appends:
            return
        try:
            self._commit(appends)
        except Exception:
            failed = [one for one in appends if not self._commit_alone(one)]
            logger.exception("dropped %d of %d queued log appends", len(failed), len(appends))

    def _commit(self, appends: list[_Append]) -> None:
        with self._transaction():
            self._insert(appends)

    def _commit_alone(self, append: _Append) -> bool:
        try:
            self._commit([append])
        except Exception:  # counted and logged by `_write`
            return False
        return True

    def _execute(self, command: _Command) -> None:
        try:
            with self._transaction():
                result = command.run(self)
        except Exception as error:  # handed to the waiting caller, which raises it
            command.future.set_exception(error)
        else:
            command.future.set_result(result)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            # ids cached inside the transaction may name rows that no longer exist
            self._group_ids.clear()
            self._stream_ids.clear()
            raise
        self._db.execute("COMMIT")

    def _insert(self, appends: list[_Append]) -> None:
        rows: list[tuple[int, int, int, int, str]] = []
        streams: dict[int, list[int]] = {}  # stream id -> [first, last, last ingestion]
        sizes: dict[int, int] = {}  # group id -> message bytes added
        for group, stream, events, ingestion in appends:
            if not events:
                continue
            group_id, stream_id = self._ids(group, stream, ingestion)
            added = 0
            for timestamp, message in events:
                if type(timestamp) is not int:  # SQLite would store it, and break the order
                    raise TypeError(f"log event timestamp {timestamp!r} is not an int")
                text, size = _utf8(message)
                rows.append((group_id, stream_id, timestamp, ingestion, text))
                added += size
            sizes[group_id] = sizes.get(group_id, 0) + added
            times = [timestamp for timestamp, _ in events]
            seen = streams.setdefault(stream_id, [min(times), max(times), ingestion])
            seen[:] = [min(seen[0], *times), max(seen[1], *times), max(seen[2], ingestion)]
        self._db.executemany(
            "INSERT INTO events (group_id, stream_id, timestamp, ingestion, message) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        self._db.executemany(
            "UPDATE streams SET first_event = min(ifnull(first_event, ?1), ?1), "
            "last_event = max(ifnull(last_event, ?2), ?2), "
            "last_ingestion = max(ifnull(last_ingestion, ?3), ?3) WHERE id = ?4",
            [(*seen, stream_id) for stream_id, seen in streams.items()],
        )
        self._db.executemany(
            "UPDATE groups SET stored_bytes = stored_bytes + ? WHERE id = ?",
            [(size, group_id) for group_id, size in sizes.items()],
        )

    def _ids(self, group: str, stream: str, created_ms: int) -> tuple[int, int]:
        """The ids of an append's group and stream, creating them as of its ingestion."""
        group_id = self._group_ids.get(group)
        if group_id is None:
            self._insert_group(group, created_ms)
            group_id = self._id("SELECT id FROM groups WHERE name = ?", group)
            self._group_ids[group] = group_id
        stream_id = self._stream_ids.get((group_id, stream))
        if stream_id is None:
            self._insert_stream(group_id, stream, created_ms)
            sql = "SELECT id FROM streams WHERE group_id = ? AND name = ?"
            stream_id = self._id(sql, group_id, stream)
            if len(self._stream_ids) >= CACHE_LIMIT:
                self._stream_ids.clear()
            self._stream_ids[(group_id, stream)] = stream_id
        return group_id, stream_id

    def _id(self, sql: str, *params: object) -> int:
        row = self._db.execute(sql, params).fetchone()
        return int(row[0])

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _insert_group(self, name: str, created_ms: int) -> bool:
        cursor = self._db.execute(
            "INSERT INTO groups (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (name, created_ms),
        )
        return cursor.rowcount > 0

    def _insert_stream(self, group_id: int, name: str, created_ms: int) -> bool:
        cursor = self._db.execute(
            "INSERT INTO streams (group_id, name, created) VALUES (?, ?, ?) "
            "ON CONFLICT (group_id, name) DO NOTHING",
            (group_id, name, created_ms),
        )
        return cursor.rowcount > 0

    # -- commands (each runs in its own transaction) -------------------------------------

    def create_group(self, name: str) -> bool:
        return self._insert_group(name, self._now_ms())

    def create_stream(self, group: str, stream: str) -> StreamCreation:
        row = self._db.execute("SELECT id FROM groups WHERE name = ?", (group,)).fetchone()
        if row is None:
            return StreamCreation.NO_GROUP
        created = self._insert_stream(row[0], stream, self._now_ms())
        return StreamCreation.CREATED if created else StreamCreation.EXISTS

    def set_retention(self, name: str, days: int | None) -> bool:
        cursor = self._db.execute(
            "UPDATE groups SET retention_days = ? WHERE name = ?", (days, name)
        )
        return cursor.rowcount > 0

    def delete_group(self, name: str) -> bool:
        """Drop the group and its streams now; its events become unreachable at once
        (a new group of that name gets a new id) and `purge_batch` deletes them later."""
        row = self._db.execute("DELETE FROM groups WHERE name = ? RETURNING id", (name,)).fetchone()
        if row is None:
            return False
        group_id = row[0]
        self._db.execute("DELETE FROM streams WHERE group_id = ?", (group_id,))
        self._db.execute("INSERT INTO deleted_groups (id) VALUES (?)", (group_id,))
        self._group_ids.pop(name, None)
        for key in [key for key in self._stream_ids if key[0] == group_id]:
            del self._stream_ids[key]
        return True

    def expire_batch(self, group_id: int, cutoff_ms: int) -> int:
        sizes = self._db.execute(
            "DELETE FROM events WHERE id IN (SELECT id FROM events INDEXED BY events_by_group "
            "WHERE group_id = ? AND timestamp < ? ORDER BY timestamp LIMIT ?) "
            "RETURNING length(CAST(message AS BLOB))",
            (group_id, cutoff_ms, DELETE_BATCH),
        ).fetchall()
        freed = sum(size for (size,) in sizes)
        self._db.execute(
            "UPDATE groups SET stored_bytes = max(stored_bytes - ?, 0) WHERE id = ?",
            (freed, group_id),
        )
        return len(sizes)

    def drop_expired_streams(self, group_id: int, cutoff_ms: int) -> int:
        """Streams whose every event expired go too, so streams do not pile up forever."""
        names = self._db.execute(
            "DELETE FROM streams WHERE group_id = ? AND last_event < ? RETURNING name",
            (group_id, cutoff_ms),
        ).fetchall()
        for (name,) in names:
            self._stream_ids.pop((group_id, name), None)
        return len(names)

    def purge_batch(self, group_id: int) -> int:
        cursor = self._db.execute(
            "DELETE FROM events WHERE id IN (SELECT id FROM events INDEXED BY events_by_group "
            "WHERE group_id = ? LIMIT ?)",
            (group_id, DELETE_BATCH),
        )
        return cursor.rowcount

    def forget_deleted(self, group_id: int) -> None:
        self._db.execute("DELETE FROM deleted_groups WHERE id = ?", (group_id,))


def _utf8(message: str) -> tuple[str, int]:
    """The message as SQLite can store it, and its size; lone surrogates become U+FFFD."""
    try:
        return message, len(message.encode())
    except UnicodeEncodeError:
        cleaned = SURROGATE.sub("\ufffd", message)
        return cleaned, len(cleaned.encode())
