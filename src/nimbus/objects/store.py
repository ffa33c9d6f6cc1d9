"""The object store's metadata: buckets, objects, uploads and parts in one SQLite file.

Writes go through a `GroupCommitter` (WAL, synchronous=FULL, group commit): the service
builds statements here and awaits their commit before it answers. Keys are stored as
their UTF-8 bytes (BLOB), so SQLite's ordering is S3's (UTF-8 binary order) and a
listing is an index range scan. The bytes of objects and parts live in files named by
`blob` ids (see blobs.py), never by key. The notification tables (each bucket's
configuration, the outbox) are here too, so an outbox row commits with its change;
their statements live in notifications/.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.objects.checksums import ChecksumAlgorithm
from nimbus.objects.model import (
    BucketInfo,
    Checksum,
    ContentHeaders,
    ObjectAttributes,
    ObjectInfo,
    ObjectSummary,
    PartInfo,
    UploadInfo,
)
from nimbus.store.groupcommit import GroupCommitter, Statement

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (name TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    bucket     TEXT NOT NULL,
    key        BLOB NOT NULL,
    blob       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    etag       TEXT NOT NULL,
    modified   REAL NOT NULL,
    attributes TEXT NOT NULL,
    tags       TEXT NOT NULL,
    algorithm  TEXT,
    checksum   TEXT,
    parts      INTEGER,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id  TEXT PRIMARY KEY,
    bucket     TEXT NOT NULL,
    key        BLOB NOT NULL,
    initiated  REAL NOT NULL,
    attributes TEXT NOT NULL,
    tags       TEXT NOT NULL,
    algorithm  TEXT
);
CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads (bucket, key, initiated);
CREATE TABLE IF NOT EXISTS parts (
    upload_id   TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    etag        TEXT NOT NULL,
    modified    REAL NOT NULL,
    algorithm   TEXT,
    checksum    TEXT,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS notification_configs (
    bucket TEXT PRIMARY KEY,
    config TEXT NOT NULL
);
-- AUTOINCREMENT: ids are never reused, so reading "rows after the last id seen" never
-- misses a row committed after the highest one was delivered and deleted.
CREATE TABLE IF NOT EXISTS outbox (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL,
    target TEXT NOT NULL,
    body   TEXT NOT NULL
);
"""
_OBJECT_COLUMNS = "key, blob, size, etag, modified, attributes, tags, algorithm, checksum, parts"
_PART_COLUMNS = "part_number, blob, size, etag, modified, algorithm, checksum"


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    info: ObjectInfo
    blob: str


@dataclass(frozen=True, slots=True)
class PartRecord:
    info: PartInfo
    blob: str


class ObjectStore:
    """Statement builders and reads over one group-committed SQLite file."""

    def __init__(self, path: Path) -> None:
        self._db = GroupCommitter(path, SCHEMA, name="object-store")

    async def commit(self, statements: Sequence[Statement]) -> None:
        await self._db.commit(statements)

    def close(self) -> None:
        self._db.close()

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one query (notifications/ keeps the SQL of its own tables)."""
        return self._db.read(sql, params)

    def meta(self, key: str) -> str | None:
        rows = self._db.read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def buckets(self) -> list[BucketInfo]:
        return [BucketInfo(*row) for row in self._db.read("SELECT * FROM buckets ORDER BY name")]

    def has_objects(self, bucket: str) -> bool:
        return bool(self._db.read("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (bucket,)))

    def get_object(self, bucket: str, key: bytes) -> ObjectRecord | None:
        rows = self._db.read(
            f"SELECT {_OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        )
        return _object(bucket, rows[0]) if rows else None

    def scan(
        self, bucket: str, start: bytes, stop: bytes | None, limit: int
    ) -> list[tuple[bytes, ObjectSummary]]:
        """Up to `limit` objects with `start` <= key < `stop`, in key (byte) order."""
        sql = "SELECT key, size, etag, modified, algorithm FROM objects WHERE bucket = ? "
        params: list[Any] = [bucket, start]
        sql += "AND key >= ? "
        if stop is not None:
            sql += "AND key < ? "
            params.append(stop)
        rows = self._db.read(sql + "ORDER BY key LIMIT ?", (*params, limit))
        return [
            (row[0], ObjectSummary(row[0].decode(), row[1], row[2], row[3], _algorithm(row[4])))
            for row in rows
        ]

    def blobs(self) -> set[str]:
        """Every blob id an object or a part refers to."""
        rows = self._db.read("SELECT blob FROM objects UNION ALL SELECT blob FROM parts")
        return {row[0] for row in rows}

    def upload(self, upload_id: str) -> UploadInfo | None:
        rows = self._db.read("SELECT * FROM uploads WHERE upload_id = ?", (upload_id,))
        return _upload(rows[0]) if rows else None

    def uploads(self, bucket: str) -> list[UploadInfo]:
        rows = self._db.read(
            "SELECT * FROM uploads WHERE bucket = ? ORDER BY key, initiated", (bucket,)
        )
        return [_upload(row) for row in rows]

    def parts(self, upload_id: str, after: int = 0, limit: int = -1) -> list[PartRecord]:
        rows = self._db.read(
            f"SELECT {_PART_COLUMNS} FROM parts WHERE upload_id = ? AND part_number > ? "
            "ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        )
        return [_part(row) for row in rows]

    def part(self, upload_id: str, part_number: int) -> PartRecord | None:
        rows = self._db.read(
            f"SELECT {_PART_COLUMNS} FROM parts WHERE upload_id = ? AND part_number = ?",
            (upload_id, part_number),
        )
        return _part(rows[0]) if rows else None


def set_meta(key: str, value: str) -> Statement:
    return ("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def put_bucket(bucket: BucketInfo) -> Statement:
    return ("INSERT INTO buckets VALUES (?, ?)", (bucket.name, bucket.created))


def delete_bucket(name: str) -> list[Statement]:
    return [
        (
            "DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)",
            (name,),
        ),
        ("DELETE FROM uploads WHERE bucket = ?", (name,)),
        ("DELETE FROM notification_configs WHERE bucket = ?", (name,)),
        ("DELETE FROM buckets WHERE name = ?", (name,)),
    ]


def put_object(record: ObjectRecord) -> Statement:
    info = record.info
    algorithm = info.checksum.algorithm.value if info.checksum else None
    return (
        f"INSERT OR REPLACE INTO objects (bucket, {_OBJECT_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            info.bucket,
            info.key.encode(),
            record.blob,
            info.size,
            info.etag,
            info.last_modified,
            _dump_attributes(info.attributes),
            json.dumps(dict(info.attributes.tags)),
            algorithm,
            info.checksum.value if info.checksum else None,
            info.parts_count,
        ),
    )


def delete_object(bucket: str, key: bytes) -> Statement:
    return ("DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, key))


def set_tags(bucket: str, key: bytes, tags: dict[str, str]) -> Statement:
    return (
        "UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?",
        (json.dumps(tags), bucket, key),
    )


def put_upload(upload: UploadInfo) -> Statement:
    algorithm = upload.checksum_algorithm.value if upload.checksum_algorithm else None
    return (
        "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            upload.upload_id,
            upload.bucket,
            upload.key.encode(),
            upload.initiated,
            _dump_attributes(upload.attributes),
            json.dumps(dict(upload.attributes.tags)),
            algorithm,
        ),
    )


def delete_upload(upload_id: str) -> list[Statement]:
    return [
        ("DELETE FROM parts WHERE upload_id = ?", (upload_id,)),
        ("DELETE FROM uploads WHERE upload_id = ?", (upload_id,)),
    ]


def put_part(upload_id: str, part: PartRecord) -> Statement:
    info = part.info
    return (
        "INSERT OR REPLACE INTO parts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            upload_id,
            info.part_number,
            part.blob,
            info.size,
            info.etag,
            info.last_modified,
            info.checksum.algorithm.value if info.checksum else None,
            info.checksum.value if info.checksum else None,
        ),
    )


def _dump_attributes(attributes: ObjectAttributes) -> str:
    headers = attributes.headers
    return json.dumps(
        {
            "headers": {name: getattr(headers, name) for name in headers.__slots__},
            "metadata": dict(attributes.metadata),
        }
    )


def _load_attributes(text: str, tags: str) -> ObjectAttributes:
    data = json.loads(text)
    return ObjectAttributes(ContentHeaders(**data["headers"]), data["metadata"], json.loads(tags))


def _algorithm(name: str | None) -> ChecksumAlgorithm | None:
    return ChecksumAlgorithm(name) if name else None


def _object(bucket: str, row: Sequence[Any]) -> ObjectRecord:
    key, blob, size, etag, modified, attributes, tags, algorithm, checksum, parts = row
    alg = _algorithm(algorithm)
    info = ObjectInfo(
        bucket,
        key.decode(),
        size,
        etag,
        modified,
        _load_attributes(attributes, tags),
        Checksum(alg, checksum) if alg and checksum else None,
        parts,
    )
    return ObjectRecord(info, blob)


def _upload(row: Sequence[Any]) -> UploadInfo:
    upload_id, bucket, key, initiated, attributes, tags, algorithm = row
    return UploadInfo(
        bucket,
        key.decode(),
        upload_id,
        initiated,
        _load_attributes(attributes, tags),
        _algorithm(algorithm),
    )


def _part(row: Sequence[Any]) -> PartRecord:
    number, blob, size, etag, modified, algorithm, checksum = row
    alg = _algorithm(algorithm)
    sum_ = Checksum(alg, checksum) if alg and checksum else None
    return PartRecord(PartInfo(number, size, etag, modified, sum_), blob)
