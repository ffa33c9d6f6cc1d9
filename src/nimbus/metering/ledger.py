"""The usage ledger: every usage record kept before its invocation is answered.

`record` appends the row to a journal (`metering/journal.py`: one `os.write`, no thread
hand-off), so once it returns a crash of the server (kill -9) cannot lose it. A flusher
thread moves what was journaled into SQLite (WAL, synchronous=FULL) in one transaction
every `flush_interval_s`, then deletes journal segments whose rows are all committed; a
machine crash can therefore lose at most the last interval. On start, leftover segments
are replayed. With `sync_interval_s` None or 0 (strict), `record` also waits until its
row is committed with an fsync, sharing commits with concurrent callers.

Exactly once. `request_id` is the primary key and rows are inserted with INSERT OR IGNORE,
so recording an invocation twice (a retry, a replayed segment) bills it once.

Reads flush first, so they see every record whose `record` call has returned.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from nimbus.errors import ServiceError
from nimbus.metering.bill import Month
from nimbus.metering.journal import Journal, replay, retire
from nimbus.metering.usage import FunctionUsage, UsageRecord
from nimbus.store.groupcommit import connect
from nimbus.store.json_rows import insert_rows

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
INSERT = f"INSERT OR IGNORE INTO usage ({COLUMNS})"
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


DEFAULT_FLUSH_INTERVAL_S = 0.1
SEGMENT_BYTES = 4 * 1024 * 1024  # a new journal segment after this much


class UsageLedger:
    """Usage records: journaled on `record`, in their own SQLite file within an interval."""

    def __init__(
        self, path: Path, *, busy_timeout_s: float = 5.0, sync_interval_s: float | None = None
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._strict = not sync_interval_s
        self._interval = sync_interval_s or DEFAULT_FLUSH_INTERVAL_S
        self._writer_db = connect(path, busy_timeout_s)
        self._writer_db.executescript(SCHEMA)
        self._reader_db = connect(path, busy_timeout_s)
        self._read_lock = threading.Lock()
        self._commits = 0
        self._journal = Journal(path.with_name(path.name + ".journal"))
        self._recover()
        self._journal.open()
        # _lock: the journal, the pending rows and their sequence numbers (held briefly,
        # also by the event loop); _flush_lock: one flush at a time (held across commits).
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: list[tuple[Any, ...]] = []
        self._retired: list[Path] = []
        self._appended = 0  # sequence number of the last row journaled
        self._committed = 0  # every row up to this one is in SQLite
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, name="usage ledger", daemon=True)
        self._thread.start()

    @property
    def commits(self) -> int:
        """SQLite transactions so far: one per flush that had rows, not one per record."""
        return self._commits

    async def record(self, usage: UsageRecord) -> None:
        """Return once `usage` is journaled (strict: committed too); raise if it is not.

        A caller cancelled while waiting for a strict commit does not withdraw the record:
        it is journaled and committed all the same, since the invocation did run.
        """
        asyncio.get_running_loop()  # a caller outside a loop is a bug, as for any await
        row = _row(usage)
        with self._lock:
            if self._closed:
                raise ServiceError("The usage ledger is closed")
            try:
                self._journal.append(row)
            except OSError as exc:
                raise ServiceError(f"The usage ledger could not journal a record: {exc}") from exc
            self._pending.append(row)
            self._appended += 1
            sequence = self._appended
        if self._strict:
            await asyncio.to_thread(self._flush_through, sequence)

    def flush(self) -> None:
        """Commit everything journaled so far; raise `ServiceError` if SQLite refuses."""
        self._flush_through(self._appended)

    def monthly(self, month: Month) -> list[FunctionUsage]:
        """Usage per (function, architecture) for `month`, summed by SQLite."""
        self.flush()
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
        self.flush()
        start, end = (month.start_ms, month.end_ms) if month else (0, _END_OF_TIME_MS)
        cursor: tuple[int, str] = (start, "")
        while True:
            rows = self._read(PAGE, (start, end, *cursor, PAGE_SIZE))
            yield from (UsageRecord(*row) for row in rows)
            if len(rows) < PAGE_SIZE:
                return
            cursor = (rows[-1][8], rows[-1][0])

    def close(self) -> None:
        """Commit everything journaled, stop the flusher and close the files.

        If the last commit fails the journal stays on disk and is replayed at the next start.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._thread.join()
        try:
            self.flush()
            with self._lock:
                self._retired.append(self._journal.rotate())
            self._retire()
        except ServiceError:
            pass  # kept in the journal: the next UsageLedger on this path replays it
        self._journal.close()
        self._writer_db.close()
        with self._read_lock:
            self._reader_db.close()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except ServiceError:
                continue  # the rows stay journaled and pending; the next flush retries

    def _flush_through(self, sequence: int) -> None:
        with self._flush_lock:
            if self._committed >= sequence:
                return  # a concurrent flush committed it
            with self._lock:
                rows, self._pending = self._pending, []
                last = self._appended
                if self._journal.bytes >= SEGMENT_BYTES:
                    self._retired.append(self._journal.rotate())
            try:
                self._commit(rows)
            except sqlite3.Error as exc:
                with self._lock:
                    self._pending[:0] = rows
                failure = ServiceError(f"The usage ledger could not commit durably: {exc}")
                raise failure from exc
            self._committed = last
            self._retire()

    def _commit(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        db = self._writer_db
        db.execute("BEGIN IMMEDIATE")
        try:
            insert_rows(db, INSERT, rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._commits += 1

    def _retire(self) -> None:
        """Delete segments whose rows are all committed (every rotation happens in a flush
        that then commits the rows taken with it, or under close after a full flush)."""
        while self._retired:
            retire(self._retired.pop())

    def _recover(self) -> None:
        for segment in self._journal.leftovers():
            self._commit([tuple(row) for row in replay(segment)])
            retire(segment)

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._read_lock:
            return self._reader_db.execute(sql, params).fetchall()


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
