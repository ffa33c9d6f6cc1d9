"""ObjectsService: S3 buckets and objects on disk, durable before acknowledged (no HTTP).

Bytes stream into files (blobs.py) while their MD5 and checksum are computed; metadata
rows are group-committed to one SQLite file (store.py); every create and delete goes
through `ObjectWriter`, which commits the change's notification outbox rows with it
(notifications/); a dispatcher delivers them to the `NotificationTargets`. Multipart
uploads live in multipart.py; this class is the one API the gateway calls.

Writes take an optional `RequestInfo` (request id, client address, principal) for their
notifications; without one, a fresh request id and 127.0.0.1.

Results are frozen dataclasses (model.py); failures are the S3 errors of errors.py, and a
GET or HEAD whose conditions say "not modified" raises `NotModified` (304).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nimbus.clock import Clock
from nimbus.objects import conditions as preconditions
from nimbus.objects import copies
from nimbus.objects.blobs import BlobReader, BlobStore
from nimbus.objects.buckets import BucketRegistry
from nimbus.objects.checksums import BodyDigests, ChecksumAlgorithm
from nimbus.objects.copies import ObjectCopier
from nimbus.objects.errors import NoSuchKey, S3Error
from nimbus.objects.model import (
    Body,
    BucketInfo,
    Checksum,
    ChecksumRequest,
    CompletedPart,
    Conditions,
    DeleteOutcome,
    EventName,
    ListPage,
    MetadataDirective,
    ObjectAttributes,
    ObjectInfo,
    ObjectLimits,
    PartInfo,
    PartsPage,
    RequestInfo,
    UploadInfo,
)
from nimbus.objects.multipart import MultipartUploads
from nimbus.objects.names import key_bytes
from nimbus.objects.notifications.config import NotificationConfiguration
from nimbus.objects.notifications.notifier import Notifier
from nimbus.objects.notifications.outbox import NotificationSettings
from nimbus.objects.notifications.records import Origin
from nimbus.objects.notifications.targets import NotificationTargets
from nimbus.objects.pages import BucketLister
from nimbus.objects.ranges import ByteRange, parse_range
from nimbus.objects.sequencer import META_KEY as SEQUENCER_KEY
from nimbus.objects.sequencer import Sequencer
from nimbus.objects.store import ObjectRecord, ObjectStore, set_meta
from nimbus.objects.tagging import validate_tags
from nimbus.objects.tokens import TokenCodec
from nimbus.objects.writer import ObjectWriter

_SECRET_KEY = "token-secret"
_OPEN_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ObjectRead:
    """A GET's answer: the object, the range served (None: all of it) and its bytes.

    `body` is open already; iterate `body.chunks()` (which closes it) or call `close()`."""

    info: ObjectInfo
    range: ByteRange | None
    body: BlobReader


class ObjectsService:
    """S3 semantics over files and a group-committed SQLite file under `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock,
        limits: ObjectLimits | None = None,
        targets: NotificationTargets | None = None,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        principal: str | None = None,
        notification_settings: NotificationSettings | None = None,
    ) -> None:
        """`targets` receive the notifications (None: none are queued); `region`,
        `account_id` and `principal` (default: the account) are what records carry."""
        self._db_path = data_dir / "objects.db"
        self._blobs = BlobStore(data_dir / "objects")
        self._clock = clock
        self._limits = limits or ObjectLimits()
        self._targets = targets
        self._origin = Origin(region, account_id, principal or account_id)
        self._notification_settings = notification_settings or NotificationSettings()

    async def start(self) -> None:
        """Open the store, drop orphaned temp and data files, load the buckets."""
        self._blobs.start()
        self._store = ObjectStore(self._db_path)
        secret = self._store.meta(_SECRET_KEY)
        if secret is None:
            secret = secrets.token_hex(32)
            await self._store.commit([set_meta(_SECRET_KEY, secret)])
        self._blobs.sweep(self._store.blobs())
        self._buckets = BucketRegistry(self._store, self._clock)
        sequencer = Sequencer(int(self._store.meta(SEQUENCER_KEY) or 0))
        self._notifier = Notifier(
            self._store, self._targets, self._origin, self._clock, self._notification_settings
        )
        self._writer = ObjectWriter(
            self._store, self._buckets, self._blobs, sequencer, self._clock, self._notifier
        )
        self._copier = ObjectCopier(self._blobs, self._writer, self._clock)
        self._lister = BucketLister(self._store, TokenCodec(bytes.fromhex(secret)), self._limits)
        self._multipart = MultipartUploads(
            self._store, self._buckets, self._blobs, self._writer, self._clock, self._limits
        )
        self._notifier.start()

    async def stop(self) -> None:
        """Stop delivering (undelivered notifications stay queued), then close the store
        once every queued commit is done."""
        await self._notifier.stop()
        await asyncio.to_thread(self._store.close)

    # Buckets

    async def create_bucket(self, name: str) -> BucketInfo:
        return await self._buckets.create(name)

    async def head_bucket(self, name: str) -> BucketInfo:
        return self._buckets.get(name)

    async def bucket_exists(self, name: str) -> bool:
        return self._buckets.exists(name)

    async def list_buckets(self) -> list[BucketInfo]:
        return self._buckets.all()

    async def delete_bucket(self, name: str) -> None:
        """Its notification configuration goes with it."""
        parts = await self._buckets.delete(name)
        self._notifier.forget(name)
        await self._blobs.remove(parts)

    # Notification configuration (notifications/)

    async def put_bucket_notification_configuration(
        self,
        bucket: str,
        config: NotificationConfiguration,
        *,
        skip_destination_validation: bool = False,
        request: RequestInfo | None = None,
    ) -> None:
        """Replace the bucket's configuration; queues get an `s3:TestEvent`."""
        self._buckets.get(bucket)
        checked = await self._notifier.checked(config, skip_destination_validation)
        with self._buckets.writing(bucket):
            await self._notifier.save(bucket, checked)
        await self._notifier.send_test_events(bucket, checked, request or RequestInfo())

    async def get_bucket_notification_configuration(self, bucket: str) -> NotificationConfiguration:
        """As stored: ids filled in, rule names `Prefix`/`Suffix` (empty when none)."""
        self._buckets.get(bucket)
        return self._notifier.configuration(bucket)

    # Objects

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: Body,
        *,
        attributes: ObjectAttributes | None = None,
        content_md5: str | None = None,
        checksum: ChecksumRequest | None = None,
        request: RequestInfo | None = None,
    ) -> ObjectInfo:
        """Store `body` under `key`; returns once the file and the row are durable."""
        self._buckets.get(bucket)
        key_bytes(key)
        attributes = _checked(attributes or ObjectAttributes())
        algorithm = checksum.algorithm if checksum else None
        digests = BodyDigests(content_md5, algorithm, checksum.expected if checksum else None)
        blob = await self._blobs.write(body, digests, self._limits.max_object_size)
        info = ObjectInfo(
            bucket,
            key,
            blob.size,
            f'"{blob.md5.hex()}"',
            self._clock(),
            attributes,
            Checksum(algorithm, blob.checksum) if algorithm and blob.checksum else None,
        )
        await self._writer.publish(
            ObjectRecord(info, blob.id), EventName.PUT, request or RequestInfo()
        )
        return info

    async def head_object(
        self, bucket: str, key: str, conditions: Conditions | None = None
    ) -> ObjectInfo:
        info = self._record(bucket, key).info
        preconditions.check(conditions, info)
        return info

    async def get_object(
        self,
        bucket: str,
        key: str,
        *,
        range_header: str | None = None,
        conditions: Conditions | None = None,
    ) -> ObjectRead:
        """The object and an open reader of the requested bytes (nothing read yet)."""
        for attempt in range(_OPEN_ATTEMPTS):
            record = self._record(bucket, key)
            preconditions.check(conditions, record.info)
            served = parse_range(range_header, record.info.size)
            start, length = (served.start, served.length) if served else (0, record.info.size)
            try:
                reader = self._blobs.open(record.blob, start, length)
            except FileNotFoundError:  # replaced between reading the row and the open
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise
                continue
            return ObjectRead(record.info, served, reader)
        raise AssertionError("unreachable")

    async def delete_object(
        self, bucket: str, key: str, *, request: RequestInfo | None = None
    ) -> None:
        """Idempotent: deleting a missing key succeeds (and notifies nobody)."""
        self._buckets.get(bucket)
        key_bytes(key)
        await self._writer.delete(bucket, key, request or RequestInfo())

    async def delete_objects(
        self, bucket: str, keys: Sequence[str], *, request: RequestInfo | None = None
    ) -> list[DeleteOutcome]:
        """DeleteObjects: one outcome per key, in order (an error only for that key)."""
        self._buckets.get(bucket)
        request = request or RequestInfo()
        outcomes = []
        for key in keys:
            try:
                await self.delete_object(bucket, key, request=request)
            except S3Error as error:  # reported for this key only, as DeleteObjects does
                outcomes.append(DeleteOutcome(key, error))
            else:
                outcomes.append(DeleteOutcome(key))
        return outcomes

    async def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        metadata_directive: MetadataDirective = MetadataDirective.COPY,
        tagging_directive: MetadataDirective = MetadataDirective.COPY,
        attributes: ObjectAttributes | None = None,
        conditions: Conditions | None = None,
        request: RequestInfo | None = None,
    ) -> ObjectInfo:
        """CopyObject: the source's bytes under `key`, its metadata or `attributes`'.
        `conditions` are the x-amz-copy-source-if-* headers (412 when they fail)."""
        self._record(source_bucket, source_key)
        self._buckets.get(bucket)
        key_bytes(key)
        same = (source_bucket, source_key) == (bucket, key)
        copies.check_not_self(same, metadata_directive)
        given = _checked(attributes or ObjectAttributes())

        def source() -> ObjectRecord:
            record = self._record(source_bucket, source_key)
            preconditions.check(conditions, record.info, copy_source=True)
            return record

        def chosen(info: ObjectInfo) -> ObjectAttributes:
            return copies.copied_attributes(
                info.attributes, given, metadata_directive, tagging_directive
            )

        return await self._copier.copy(source, bucket, key, chosen, request or RequestInfo())

    # Tagging

    async def get_object_tagging(self, bucket: str, key: str) -> dict[str, str]:
        return dict(self._record(bucket, key).info.attributes.tags)

    async def put_object_tagging(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        checked = validate_tags(tags)
        self._record(bucket, key)
        if not await self._writer.set_tags(bucket, key, checked):
            raise NoSuchKey(key)

    async def delete_object_tagging(self, bucket: str, key: str) -> None:
        await self.put_object_tagging(bucket, key, {})

    # Listing

    async def list_objects_v2(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int | None = None,
        start_after: str | None = None,
        continuation_token: str | None = None,
    ) -> ListPage:
        self._buckets.get(bucket)
        return self._lister.v2(bucket, prefix, delimiter, max_keys, start_after, continuation_token)

    async def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        max_keys: int | None = None,
        marker: str | None = None,
    ) -> ListPage:
        self._buckets.get(bucket)
        return self._lister.v1(bucket, prefix, delimiter, max_keys, marker)

    # Multipart uploads (multipart.py)

    async def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        *,
        attributes: ObjectAttributes | None = None,
        checksum_algorithm: ChecksumAlgorithm | None = None,
    ) -> UploadInfo:
        return await self._multipart.create(bucket, key, attributes, checksum_algorithm)

    async def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Body,
        *,
        content_md5: str | None = None,
        checksum: ChecksumRequest | None = None,
    ) -> PartInfo:
        return await self._multipart.upload_part(
            bucket, key, upload_id, part_number, body, content_md5=content_md5, checksum=checksum
        )

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        max_parts: int | None = None,
        part_number_marker: int = 0,
    ) -> PartsPage:
        return await self._multipart.list_parts(
            bucket, key, upload_id, max_parts=max_parts, part_number_marker=part_number_marker
        )

    async def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        *,
        request: RequestInfo | None = None,
    ) -> ObjectInfo:
        return await self._multipart.complete(
            bucket, key, upload_id, parts, request or RequestInfo()
        )

    async def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        await self._multipart.abort(bucket, key, upload_id)

    async def list_multipart_uploads(self, bucket: str, *, prefix: str = "") -> list[UploadInfo]:
        return await self._multipart.list_uploads(bucket, prefix)

    def _record(self, bucket: str, key: str) -> ObjectRecord:
        self._buckets.get(bucket)
        record = self._store.get_object(bucket, key_bytes(key))
        if record is None:
            raise NoSuchKey(key)
        return record


def _checked(attributes: ObjectAttributes) -> ObjectAttributes:
    return replace(attributes, tags=validate_tags(attributes.tags))
