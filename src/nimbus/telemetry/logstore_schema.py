"""The logs.db file: its schema, how connections are opened, and shared SQL fragments."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
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
