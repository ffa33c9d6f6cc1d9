"""The usage ledger: every usage record on disk before its invocation is answered.

Writes go through `nimbus.store.groupcommit.GroupCommitter`: concurrent invocations share
one transaction and one fsync; a lone caller pays one commit; a failed commit reaches its
caller as a `ServiceError`, so a record is never lost silently.

Exactly once. `request_id` is the primary key and rows are inserted with INSERT OR IGNORE,
so recording an invocation twice (a retry, a replay after a crash) bills it once.

Reads see every committed transaction, hence every record whose `record` call has returned.

Durability (Settings.usage_sync_interval_ms). With an interval, a record is written to the
operating system before `record` returns, so a crash of the server loses none, and fsynced
within the interval, so a crash of the machine loses at most that window; 0 fsyncs every
commit before returning.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nimbus.metering.bill import Month
from nimbus.metering.usage import FunctionUsage, UsageRecord
from nimbus.store.groupcommit import GroupCommitter

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


class UsageLedger:
    """Usage records in their own SQLite file (WAL, synchronous=FULL), group-committed."""

    def __init__(
        self, path: Path, *, busy_timeout_s: float = 5.0, sync_interval_s: float | None = None
    ) -> None:
        self._store = GroupCommitter(
            path, SCHEMA, name="usage ledger", busy_timeout_s=busy_timeout_s,
            sync_interval_s=sync_interval_s,
        )  # fmt: skip

    @property
    def commits(self) -> int:
        """Transactions committed so far: one per batch, so fewer than records under load."""
        return self._store.commits

    async def record(self, usage: UsageRecord) -> None:
        """Return once `usage` is committed (see Durability); raise if that commit failed.

        A caller cancelled while waiting does not withdraw the record: it is committed all
        the same, since the invocation it describes did run.
        """
        await self._store.commit([(INSERT, _row(usage))])

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
        self._store.close()

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._store.read(sql, params)


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
