"""Group commit: many concurrent writers, one SQLite transaction and one fsync per batch.

`commit(statements)` puts a unit of statements on a queue and awaits a future. One writer
thread takes everything queued, runs it in one transaction and commits (one WAL fsync, as
the file runs with synchronous=FULL), then resolves the waiters with one
`call_soon_threadsafe` per event loop. Under concurrency many callers share one fsync; a
lone caller pays one commit. Units are applied in the order they were submitted, so the
file always holds a prefix of the submitted history.

If a batch fails, each of its units is retried in its own transaction, so one bad unit
fails only its own caller, and never silently: the caller gets a `ServiceError`.

Reads use their own connection; in WAL mode they see every committed transaction.

`sync_interval_s` trades the fsync per commit for one fsync at most that long after a
commit (synchronous=NORMAL; the writer thread syncs the WAL). A commit has still been
written to the operating system before its caller returns, so a crash of the process
(kill -9) loses nothing; only a crash of the machine can lose the last interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.errors import ServiceError

Statement = tuple[str, Sequence[Any]]


@dataclass(frozen=True, slots=True)
class _Unit:
    statements: Sequence[Statement]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class GroupCommitter:
    """One SQLite file (WAL, synchronous=FULL) written by one thread in group commits."""

    def __init__(
        self,
        path: Path,
        schema: str,
        *,
        name: str,
        busy_timeout_s: float = 5.0,
        sync_interval_s: float | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._name = name
        self._wal = path.with_name(path.name + "-wal")
        self._sync_interval_s = sync_interval_s or None
        self._unsynced_since: float | None = None
        synchronous = "FULL" if self._sync_interval_s is None else "NORMAL"
        self._writer_db = connect(path, busy_timeout_s, synchronous)
        self._writer_db.executescript(schema)
        self._reader_db = connect(path, busy_timeout_s)
        self._read_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Unit | None] = queue.SimpleQueue()
        self._submit_lock = threading.Lock()
        self._closed = False
        self._commits = 0
        self._thread = threading.Thread(target=self._write_loop, name=name, daemon=True)
        self._thread.start()

    @property
    def commits(self) -> int:
        """Transactions committed so far: one per batch, so fewer than units under load."""
        return self._commits

    async def commit(self, statements: Sequence[Statement]) -> None:
        """Return once `statements` are durably committed together; raise if that failed.

        A caller cancelled while waiting does not withdraw its unit: it is committed all
        the same, since the caller's in-memory state already reflects it.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._submit_lock:
            if self._closed:
                raise ServiceError(f"The {self._name} store is closed")
            self._queue.put(_Unit(statements, loop, future))
        await future

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one query on the reader connection (sees every committed unit)."""
        with self._read_lock:
            return self._reader_db.execute(sql, params).fetchall()

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

    def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._take()
            if batch:
                self._commit(batch)
            self._sync_if_due(force=stop)

    def _take(self) -> tuple[list[_Unit], bool]:
        """Block for one unit (or until a sync is due), then take all that are queued;
        True once closed."""
        try:
            item = self._queue.get(timeout=self._until_sync())
        except queue.Empty:
            return [], False
        batch: list[_Unit] = []
        while item is not None:
            batch.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _commit(self, batch: list[_Unit]) -> None:
        try:
            self._transaction(batch)
        except sqlite3.Error as exc:  # handed to the waiter, never swallowed
            if len(batch) > 1:  # isolate the failing unit(s)
                for unit in batch:
                    self._commit([unit])
                return
            failure = ServiceError(f"The {self._name} store could not commit durably: {exc}")
            failure.__cause__ = exc
            _settle(batch, failure)
            return
        self._commits += 1
        if self._sync_interval_s is not None and self._unsynced_since is None:
            self._unsynced_since = time.monotonic()
        _settle(batch, None)

    def _until_sync(self) -> float | None:
        if self._unsynced_since is None or self._sync_interval_s is None:
            return None
        return max(0.0, self._unsynced_since + self._sync_interval_s - time.monotonic())

    def _sync_if_due(self, force: bool) -> None:
        due = self._until_sync()
        if due is None or (due > 0 and not force):
            return
        with contextlib.suppress(FileNotFoundError):  # checkpointed away: already on disk
            fd = os.open(self._wal, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._unsynced_since = None

    def _transaction(self, batch: list[_Unit]) -> None:
        db = self._writer_db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in _runs(batch):
                db.executemany(sql, rows)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def connect(
    path: Path, busy_timeout_s: float = 5.0, synchronous: str = "FULL"
) -> sqlite3.Connection:
    """A connection in autocommit mode on a WAL file (FULL: fsync on every commit)."""
    db = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def _runs(batch: list[_Unit]) -> list[tuple[str, list[Sequence[Any]]]]:
    """Consecutive statements with the same SQL merged into one executemany, order kept."""
    runs: list[tuple[str, list[Sequence[Any]]]] = []
    for unit in batch:
        for sql, params in unit.statements:
            if runs and runs[-1][0] == sql:
                runs[-1][1].append(params)
            else:
                runs.append((sql, [params]))
    return runs


def _settle(batch: list[_Unit], error: Exception | None) -> None:
    """Wake the waiters: one thread-safe callback per event loop, not one per unit."""
    futures: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for unit in batch:
        futures.setdefault(unit.loop, []).append(unit.future)
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
            future.set_exception(error)
