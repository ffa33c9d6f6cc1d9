"""The log store's writer side: the one thread that owns the write connection.

`LogStore` queues appends (tuples), commands and flush markers; `LogWriter.drain` takes
them in order, batching appends into one transaction and running each command in its
own. Only the writer thread touches the writer, so its name -> id caches need no lock.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, Final

from nimbus.store.json_rows import insert_rows
from nimbus.telemetry.logstore_records import StreamCreation

logger = logging.getLogger(__name__)

BATCH_ROWS: Final = 2_000  # appends waiting that wake the writer before the interval ends
DELETE_BATCH: Final = 5_000  # rows per expiry transaction, so appends wait at most a few ms
CACHE_LIMIT: Final = 10_000  # name -> id entries the writer keeps before starting afresh
SURROGATE: Final = re.compile("[\ud800-\udfff]")


class FlushMarker:
    """A marker in the queue: set once everything queued before it is committed."""

    def __init__(self) -> None:
        self.done = threading.Event()


class WriterCommand:
    """Work for the writer thread: `run(writer)` in its own transaction."""

    def __init__(self, run: Callable[[LogWriter], Any]) -> None:
        self.run = run
        self.future: Future[Any] = Future()


Append = tuple[str, str, tuple[tuple[int, str], ...], int]


class LogWriter:
    """The write connection and its caches; used only by the writer thread."""

    def __init__(self, db: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        self._group_ids: dict[str, int] = {}
        self._stream_ids: dict[tuple[int, str], int] = {}

    def close(self) -> None:
        self._db.close()

    def drain(self, queue: deque[Append | FlushMarker | WriterCommand]) -> None:
        """Write everything queued: appends batched, commands and markers in order."""
        appends: list[Append] = []
        while queue:
            item = queue.popleft()
            if type(item) is tuple:
                appends.append(item)
                if len(appends) < BATCH_ROWS:
                    continue
            self._write(appends)
            appends = []
            if isinstance(item, WriterCommand):
                self._execute(item)
            elif isinstance(item, FlushMarker):
                item.done.set()
        self._write(appends)

    def _write(self, appends: list[Append]) -> None:
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

    def _commit(self, appends: list[Append]) -> None:
        with self._transaction():
            self._insert(appends)

    def _commit_alone(self, append: Append) -> bool:
        try:
            self._commit([append])
        except Exception:  # counted and logged by `_write`
            return False
        return True

    def _execute(self, command: WriterCommand) -> None:
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

    def _insert(self, appends: list[Append]) -> None:
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
        insert = "INSERT INTO events (group_id, stream_id, timestamp, ingestion, message)"
        insert_rows(self._db, insert, rows)
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
