"""The queue store: queues, messages and FIFO deduplication ids in one SQLite file.

Writes go through a `GroupCommitter` (WAL, synchronous=FULL, group commit): the service
changes its in-memory index, then awaits the statements built here, so the file always
holds a prefix of what the service did and everything acknowledged is on disk. A message
row carries its absolute `visible_at`, so after a crash in-flight messages become visible
when their timeout passes. `load` reads everything back at start-up.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.queues.index import Message
from nimbus.queues.model import MessageAttribute
from nimbus.store.groupcommit import GroupCommitter, Statement

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queues (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    attributes TEXT NOT NULL,
    tags       TEXT NOT NULL,
    created    INTEGER NOT NULL,
    modified   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    seq              INTEGER PRIMARY KEY,
    queue            INTEGER NOT NULL,
    message_id       TEXT NOT NULL,
    body             TEXT NOT NULL,
    attributes       TEXT,
    system           TEXT,
    sent_ms          INTEGER NOT NULL,
    group_id         TEXT,
    dedup_id         TEXT,
    source_arn       TEXT,
    receive_count    INTEGER NOT NULL,
    first_receive_ms INTEGER,
    received_at      REAL,
    visible_at       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dedup (
    queue      INTEGER NOT NULL,
    key        TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    expires    REAL NOT NULL,
    PRIMARY KEY (queue, key)
) WITHOUT ROWID;
"""
_MESSAGE_COLUMNS = (
    "seq, queue, message_id, body, attributes, system, sent_ms, group_id, dedup_id, "
    "source_arn, receive_count, first_receive_ms, received_at, visible_at"
)
_INSERT_MESSAGE = f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_DELETE_MESSAGE = "DELETE FROM messages WHERE seq = ?"
_RECEIVED = (
    "UPDATE messages SET receive_count = ?, first_receive_ms = ?, received_at = ?, "
    "visible_at = ? WHERE seq = ?"
)
_VISIBILITY = "UPDATE messages SET visible_at = ? WHERE seq = ?"
_SECRET_KEY = "receipt-secret"


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created: int
    modified: int


@dataclass(frozen=True, slots=True)
class DedupRow:
    queue: int
    key: str
    message_id: str
    seq: int
    expires: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the service needs in memory, as read at start-up."""

    secret: bytes
    queues: list[QueueRow]
    messages: list[tuple[int, Message]]  # (queue id, message) in seq order
    dedup: list[DedupRow]


class QueueStore:
    """Statement builders over one group-committed SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = GroupCommitter(path, SCHEMA, name="queue-store")

    @property
    def commits(self) -> int:
        return self._db.commits

    async def commit(self, statements: Sequence[Statement]) -> None:
        await self._db.commit(statements)

    async def load(self, now: float) -> Snapshot:
        """Read back every queue, message and live dedup id (creating the secret once)."""
        rows = self._db.read("SELECT value FROM meta WHERE key = ?", (_SECRET_KEY,))
        if rows:
            secret = bytes.fromhex(rows[0][0])
        else:
            secret = secrets.token_bytes(32)
            await self.commit([("INSERT INTO meta VALUES (?, ?)", (_SECRET_KEY, secret.hex()))])
        queues = [
            QueueRow(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4], row[5])
            for row in self._db.read("SELECT * FROM queues ORDER BY id")
        ]
        messages = [
            (row[1], _message(row))
            for row in self._db.read(f"SELECT {_MESSAGE_COLUMNS} FROM messages ORDER BY seq")
        ]
        dedup = [
            DedupRow(*row) for row in self._db.read("SELECT * FROM dedup WHERE expires > ?", (now,))
        ]
        return Snapshot(secret, queues, messages, dedup)

    def close(self) -> None:
        self._db.close()


def put_queue(row: QueueRow) -> Statement:
    return (
        "INSERT INTO queues VALUES (?, ?, ?, ?, ?, ?)",
        (row.id, row.name, _dump(row.attributes), _dump(row.tags), row.created, row.modified),
    )


def update_queue(queue_id: int, attributes: Mapping[str, str], modified: int) -> Statement:
    return (
        "UPDATE queues SET attributes = ?, modified = ? WHERE id = ?",
        (_dump(attributes), modified, queue_id),
    )


def update_tags(queue_id: int, tags: Mapping[str, str]) -> Statement:
    return ("UPDATE queues SET tags = ? WHERE id = ?", (_dump(tags), queue_id))


def drop_queue(queue_id: int) -> list[Statement]:
    return [
        ("DELETE FROM queues WHERE id = ?", (queue_id,)),
        *purge(queue_id),
        ("DELETE FROM dedup WHERE queue = ?", (queue_id,)),
    ]


def purge(queue_id: int) -> list[Statement]:
    return [("DELETE FROM messages WHERE queue = ?", (queue_id,))]


def insert_message(queue_id: int, message: Message) -> Statement:
    return (
        _INSERT_MESSAGE,
        (
            message.seq,
            queue_id,
            message.message_id,
            message.body,
            _dump_attributes(message.attributes),
            _dump_attributes(message.system_attributes),
            message.sent_ms,
            message.group_id,
            message.dedup_id,
            message.source_arn,
            message.receive_count,
            message.first_receive_ms,
            message.received_at,
            message.visible_at,
        ),
    )


def delete_message(message: Message) -> Statement:
    return (_DELETE_MESSAGE, (message.seq,))


def received(message: Message) -> Statement:
    return (
        _RECEIVED,
        (
            message.receive_count,
            message.first_receive_ms,
            message.received_at,
            message.visible_at,
            message.seq,
        ),
    )


def visibility(message: Message) -> Statement:
    return (_VISIBILITY, (message.visible_at, message.seq))


def put_dedup(row: DedupRow) -> Statement:
    return (
        "INSERT OR REPLACE INTO dedup VALUES (?, ?, ?, ?, ?)",
        (row.queue, row.key, row.message_id, row.seq, row.expires),
    )


def expire_dedup(now: float) -> Statement:
    return ("DELETE FROM dedup WHERE expires <= ?", (now,))


def _message(row: Sequence[Any]) -> Message:
    return Message(
        seq=row[0],
        message_id=row[2],
        body=row[3],
        attributes=_load_attributes(row[4]),
        system_attributes=_load_attributes(row[5]),
        sent_ms=row[6],
        group_id=row[7],
        dedup_id=row[8],
        source_arn=row[9],
        receive_count=row[10],
        first_receive_ms=row[11],
        received_at=row[12],
        visible_at=row[13],
    )


def _dump(value: Mapping[str, str]) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _dump_attributes(attributes: Mapping[str, MessageAttribute]) -> str | None:
    if not attributes:
        return None
    encoded = {
        name: [
            value.data_type,
            value.string_value,
            None if value.binary_value is None else base64.b64encode(value.binary_value).decode(),
        ]
        for name, value in attributes.items()
    }
    return json.dumps(encoded, separators=(",", ":"))


def _load_attributes(text: str | None) -> dict[str, MessageAttribute]:
    if text is None:
        return {}
    return {
        name: MessageAttribute(
            data_type, string, None if binary is None else base64.b64decode(binary)
        )
        for name, (data_type, string, binary) in json.loads(text).items()
    }
