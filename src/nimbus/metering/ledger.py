"""The usage ledger: every usage record on disk before its invocation is answered.

Group commit. `record` puts the record on a queue and awaits a future. One writer thread
takes everything queued, inserts it in one transaction and commits (one WAL fsync, since
the file runs with synchronous=FULL), then resolves the waiters with one
`call_soon_threadsafe` per event loop. Under concurrency many invocations share one fsync;
a lone caller pays one commit. If the commit fails every waiter of that batch gets the
error, so a record is never lost silently.

Exactly once. `request_id` is the primary key and rows are inserted with INSERT OR IGNORE,
so recording an invocation twice (a retry, a replay after a crash) bills it once.

Reads use their own connection; in WAL mode they see every committed transaction, hence
every record whose `record` call has returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.errors import ServiceError
from nimbus.metering.bill import Month
from nimbus.metering.usage import FunctionUsage, UsageRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    request_id   TEXT PRIMARY KEY,
    function     TEXT NOT NULL,
    version      TEXT NOT NULL,
    architecture TEXT NOT NULL,
    memory_mb    INTEGER NOT NULL,
    duration_ms  REAL NOT NULL,
    init_ms      REAL NOT NULL,
    billed_ms    INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_by_time ON usage (timestamp_ms);
"""
COLUMNS = (
    "request_id, function, version, architecture, memory_mb, "
    "duration_ms, init_ms, billed_ms, timestamp_ms"
)
INSERT = f"INSERT OR IGNORE INTO usage ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
# SUM over INTEGER columns is exact in SQLite (64-bit, raising on overflow).
MONTHLY = """
SELECT function, architecture, COUNT(*), SUM(billed_ms), SUM(memory_mb * billed_ms),
       SUM(duration_ms), SUM(init_ms)
FROM usage WHERE timestamp_ms >= ? AND timestamp_ms < ?
GROUP BY function, architecture ORDER BY function, architecture
"""
PAGE = f"""
SELECT {COLUMNS} FROM usage
WHERE timestamp_ms >= ? AND timestamp_ms < ? AND (timestamp_ms, request_id) > (?, ?)
ORDER BY timestamp_ms, request_id LIMIT ?
"""
PAGE_SIZE = 1000
_END_OF_TIME_MS = 2**63 - 1


@dataclass(frozen=True, slots=True)
class _Pending:
    usage: UsageRecord
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class UsageLedger:
    """Usage records in their own SQLite file (WAL, synchronous=FULL), group-committed."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_db = _connect(path, busy_timeout_s)
        self._writer_db.executescript(SCHEMA)
        self._reader_db = _connect(path, busy_timeout_s)
        self._read_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._submit_lock = threading.Lock()
        self._closed = False
        self._commits = 0
        self._thread = threading.Thread(target=self._write_loop, name="usage-ledger", daemon=True)
        self._thread.start()

    @property
    def commits(self) -> int:
        """Transactions committed so far: one per batch, so fewer than records under load."""
        return self._commits

    async def record(self, usage: UsageRecord) -> None:
        """Return once `usage` is durably committed; raise if that commit failed.

        A caller cancelled while waiting does not withdraw the record: it is committed all
        the same, since the invocation it describes did run.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._submit_lock:
            if self._closed:
                raise ServiceError("The usage ledger is closed")
            self._queue.put(_Pending(usage, loop, future))
        await future

    def monthly(self, month: Month) -> list[FunctionUsage]:
        """Usage per (function, architecture) for `month`, summed by SQLite."""
        rows = self._read(MONTHLY, (month.start_ms, month.end_ms))
        return [
            FunctionUsage(
                function=function,
                architecture=architecture,
                requests=requests,
                billed_ms=billed_ms,
                mb_ms=mb_ms,
                duration_ms=duration_ms,
                init_ms=init_ms,
            )
            for function, architecture, requests, billed_ms, mb_ms, duration_ms, init_ms in rows
        ]

    def records(self, month: Month | None = None) -> Iterator[UsageRecord]:
        """Every record (of `month`, if given) in time order, read a page at a time."""
        start, end = (month.start_ms, month.end_ms) if month else (0, _END_OF_TIME_MS)
        cursor: tuple[int, str] = (start, "")
        while True:
            rows = self._read(PAGE, (start, end, *cursor, PAGE_SIZE))
            yield from (UsageRecord(*row) for row in rows)
            if len(rows) < PAGE_SIZE:
                return
            cursor = (rows[-1][8], rows[-1][0])

    def close(self) -> None:
        """Commit everything already queued, stop the writer and close the database."""
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._writer_db.close()
        with self._read_lock:
            self._reader_db.close()

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._read_lock:
            return self._reader_db.execute(sql, params).fetchall()

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take()
            if batch:
                self._commit(batch)

    def _take(self) -> tuple[list[_Pending], bool]:
        """Block for one record, then take all that are queued; True once closed."""
        item = self._queue.get()
        batch: list[_Pending] = []
        while item is not None:
            batch.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._insert(batch)
        except Exception as exc:  # handed to every waiter of the batch, never swallowed
            _settle(batch, exc)
        else:
            self._commits += 1
            _settle(batch, None)

    def _insert(self, batch: list[_Pending]) -> None:
        db = self._writer_db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(INSERT, [_row(pending.usage) for pending in batch])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    db = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


def _row(usage: UsageRecord) -> tuple[Any, ...]:
    return (
        usage.request_id,
        usage.function,
        usage.version,
        usage.architecture,
        usage.memory_mb,
        usage.duration_ms,
        usage.init_ms,
        usage.billed_ms,
        usage.timestamp_ms,
    )


def _settle(batch: list[_Pending], error: Exception | None) -> None:
    """Wake the waiters: one thread-safe callback per event loop, not one per record."""
    futures: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for pending in batch:
        futures.setdefault(pending.loop, []).append(pending.future)
    for loop, waiting in futures.items():
        # A closed loop has no one left waiting on it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, waiting, error)


def _resolve(futures: list[asyncio.Future[None]], error: Exception | None) -> None:
    for future in futures:
        if future.done():  # the caller was cancelled
            continue
        if error is None:
            future.set_result(None)
        else:
            failure = ServiceError(f"Usage could not be recorded durably: {error}")
            failure.__cause__ = error
            future.set_exception(failure)
