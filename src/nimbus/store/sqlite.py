"""The embedded record store: one SQLite database in WAL mode, synchronous=FULL."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from nimbus.store.base import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    tbl TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
"""


class SqliteStore:
    """Durable when a write returns: WAL with fsync on every commit."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def get(self, table: str, key: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM records WHERE tbl = ? AND key = ?", (table, key)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, table: str, key: str, record: Record) -> None:
        value = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._db.execute(
                "INSERT INTO records (tbl, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
                (table, key, value),
            )

    def delete(self, table: str, key: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM records WHERE tbl = ? AND key = ?", (table, key))
        return cursor.rowcount > 0

    def scan(self, table: str, after: str | None = None) -> Iterator[tuple[str, Record]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM records WHERE tbl = ? AND key > ? ORDER BY key",
                (table, after or ""),
            ).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def close(self) -> None:
        with self._lock:
            self._db.close()
