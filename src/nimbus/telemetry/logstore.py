"""Log events in their own SQLite file: appends queued off the hot path, bounded scans.

`append` runs on the warm-invoke path, so it only puts a tuple on a deque. One writer
thread owns the write connection (`logstore_writer.LogWriter`): every ~50 ms (sooner
when many rows wait) it drains the deque and inserts the whole batch with `executemany`
in one transaction. Logs are acknowledged to nobody, so the file runs in WAL mode with
synchronous=NORMAL (`logstore_schema`).

Everything else that writes (groups, streams, retention, expiry) is a command run on
that same thread, in queue order: a command sees every append made before it, and the
writer's name -> id caches stay true without locks. Reads use a second connection;
each read first waits for pending appends (read-your-writes), which costs nothing
when the queue is idle.

Events are ordered by (timestamp, id); a `Position` (`logstore_records`) is a gap in
that order. Scans resume from a position, so pages never lose or repeat an event, and a
scan over a group reads a bounded number of index rows per call (`logstore_scan`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from nimbus.telemetry.logstore_records import (
    EventRecord,
    GroupRecord,
    Position,
    StreamCreation,
    StreamOrder,
    StreamRecord,
)
from nimbus.telemetry.logstore_scan import (
    DEFAULT_SCAN_BUDGET,
    GroupScan,
    GroupScanner,
    ScanBudget,
    ScanResult,
    within_bytes,
)
from nimbus.telemetry.logstore_schema import (
    AFTER,
    AT_OR_BEFORE,
    EVENT_COLUMNS,
    GROUP_COLUMNS,
    STREAM_COLUMNS,
    connect,
)
from nimbus.telemetry.logstore_writer import (
    BATCH_ROWS,
    Append,
    FlushMarker,
    LogWriter,
    WriterCommand,
)

T = TypeVar("T")
P = ParamSpec("P")

BATCH_INTERVAL: Final = 0.05  # seconds between the writer's commits while appends arrive
MS_PER_DAY: Final = 86_400_000


class LogStore:
    """Log groups, streams and events; see the module docstring for the threading model."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._queue: deque[Append | FlushMarker | WriterCommand] = deque()
        self._wake = threading.Event()
        self._busy = False
        self._closed = False
        self._writer = LogWriter(connect(path, readonly=False), clock)
        self._reader = connect(path, readonly=True)
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
        marker = FlushMarker()
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
        return self._command(LogWriter.create_group, name)

    def delete_group(self, name: str) -> bool:
        """False when there is no such group; its events are purged later by `expire`."""
        return self._command(LogWriter.delete_group, name)

    def set_retention(self, name: str, days: int | None) -> bool:
        return self._command(LogWriter.set_retention, name, days)

    def create_stream(self, group: str, stream: str) -> StreamCreation:
        return self._command(LogWriter.create_stream, group, stream)

    def expire(self, now_ms: int, default_retention_days: int) -> int:
        """Delete events past their group's retention and purge deleted groups.

        Runs as many small transactions as needed, so appends queued meanwhile wait at
        most one batch; returns the number of events deleted.
        """
        deleted = 0
        for group_id, days in self._read(_retentions, default_retention_days):
            cutoff = now_ms - days * MS_PER_DAY
            deleted += self._repeat(LogWriter.expire_batch, group_id, cutoff)
            self._command(LogWriter.drop_expired_streams, group_id, cutoff)
        for group_id in self._read(_deleted_groups):
            deleted += self._repeat(LogWriter.purge_batch, group_id)
            self._command(LogWriter.forget_deleted, group_id)
        return deleted

    def _repeat(
        self, batch: Callable[Concatenate[LogWriter, P], int], *args: P.args, **kwargs: P.kwargs
    ) -> int:
        """Run a bounded batch as separate commands until it finds nothing left."""
        total = 0
        while (count := self._command(batch, *args, **kwargs)) > 0:
            total += count
        return total

    def _command(
        self, work: Callable[Concatenate[LogWriter, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `work` on the writer thread after everything queued before it; wait."""
        if self._closed:
            raise RuntimeError("the log store is closed")
        command = WriterCommand(lambda writer: work(writer, *args, **kwargs))
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
        events = within_bytes((EventRecord(*row) for row in rows), max_bytes)
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
        return self._read(lambda db: GroupScanner(db, scan, budget).run(after, limit, max_bytes))

    def _read(self, query: Callable[..., T], *args: Any) -> T:
        self._sync()
        with self._read_lock:
            return query(self._reader, *args)

    def _sync(self) -> None:
        """Read-your-writes: wait for appends queued or in flight; free when idle."""
        if self._queue or self._busy:
            self.flush()


def _select(db: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
    return db.execute(sql, params).fetchall()


def _retentions(db: sqlite3.Connection, default_days: int) -> list[tuple[int, int]]:
    sql = "SELECT id, ifnull(retention_days, ?) FROM groups"
    return db.execute(sql, (default_days,)).fetchall()


def _deleted_groups(db: sqlite3.Connection) -> list[int]:
    return [row[0] for row in db.execute("SELECT id FROM deleted_groups")]
