"""Multipart uploads: create, upload parts, list, complete (assemble), abort.

Each part streams into its own blob; Complete checks the part list as S3 does (at least
one part, ascending numbers, known parts with matching ETags, checksums when the upload
named an algorithm, every part but the last at least `min_part_size`) and commits the
object, whose bytes stay in the chosen parts' files (segments.py), and the end of the
upload together; the parts not chosen are removed after the commit. The ETag is
MD5(binary part MD5s) + "-N".

A lock per upload serialises a part's commit with Complete and Abort, so no part row is
committed for an upload that has ended.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Sequence

from nimbus.clock import Clock
from nimbus.objects import checksums, segments, store
from nimbus.objects.blobs import BlobStore
from nimbus.objects.buckets import BucketRegistry
from nimbus.objects.checksums import BodyDigests, ChecksumAlgorithm
from nimbus.objects.errors import (
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchUpload,
)
from nimbus.objects.model import (
    Body,
    Checksum,
    ChecksumRequest,
    CompletedPart,
    EventName,
    ObjectAttributes,
    ObjectInfo,
    ObjectLimits,
    PartInfo,
    PartsPage,
    RequestInfo,
    UploadInfo,
)
from nimbus.objects.names import key_bytes
from nimbus.objects.segments import Segment
from nimbus.objects.store import ObjectRecord, ObjectStore, PartRecord
from nimbus.objects.tagging import validate_tags
from nimbus.objects.writer import KeyLocks, ObjectWriter

BAD_PART_NUMBER = "Part number must be an integer between 1 and 10000, inclusive"
NO_PARTS = "You must specify at least one part"


def multipart_etag(part_etags: Sequence[str]) -> str:
    """The quoted ETag of an object assembled from parts with these (quoted) ETags."""
    digests = b"".join(bytes.fromhex(etag.strip('"')) for etag in part_etags)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(part_etags)}"'


class MultipartUploads:
    def __init__(
        self,
        objects: ObjectStore,
        buckets: BucketRegistry,
        blobs: BlobStore,
        writer: ObjectWriter,
        clock: Clock,
        limits: ObjectLimits,
    ) -> None:
        self._store = objects
        self._buckets = buckets
        self._blobs = blobs
        self._writer = writer
        self._clock = clock
        self._limits = limits
        self._locks = KeyLocks()

    async def create(
        self,
        bucket: str,
        key: str,
        attributes: ObjectAttributes | None = None,
        checksum_algorithm: ChecksumAlgorithm | None = None,
    ) -> UploadInfo:
        key_bytes(key)
        attributes = attributes or ObjectAttributes()
        validate_tags(attributes.tags)
        if checksum_algorithm is not None:
            checksums.new_hasher(checksum_algorithm)  # unsupported: fail now, not per part
        upload_id = secrets.token_urlsafe(48)
        upload = UploadInfo(bucket, key, upload_id, self._clock(), attributes, checksum_algorithm)
        with self._buckets.writing(bucket):
            await self._store.commit([store.put_upload(upload)])
        return upload

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
        upload = self._upload(bucket, key, upload_id)
        if not 1 <= part_number <= self._limits.max_parts:
            raise InvalidArgument(BAD_PART_NUMBER, "partNumber", str(part_number))
        algorithm = _part_algorithm(upload, checksum)
        expected = checksum.expected if checksum else None
        digests = BodyDigests(content_md5, algorithm, expected)
        blob = await self._blobs.write(body, digests, self._limits.max_object_size)
        value = Checksum(algorithm, blob.checksum) if algorithm and blob.checksum else None
        part = PartInfo(part_number, blob.size, f'"{blob.md5.hex()}"', self._clock(), value)
        async with self._locks.hold(bucket, upload_id.encode()):
            try:
                self._upload(bucket, key, upload_id)
                replaced = self._store.part(upload_id, part_number)
                await self._store.commit([store.put_part(upload_id, PartRecord(part, blob.id))])
            except BaseException:
                await self._blobs.remove([blob.id])
                raise
        if replaced is not None:
            await self._blobs.remove([replaced.blob])
        return part

    async def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        max_parts: int | None = None,
        part_number_marker: int = 0,
    ) -> PartsPage:
        self._upload(bucket, key, upload_id)
        limit = min(max_parts if max_parts is not None else 1000, self._limits.max_parts_listed)
        rows = self._store.parts(upload_id, part_number_marker, max(limit, 0) + 1)
        page = tuple(row.info for row in rows[:limit])
        truncated = len(rows) > limit
        marker = page[-1].part_number if truncated and page else None
        return PartsPage(page, truncated, marker)

    async def list_uploads(self, bucket: str, prefix: str = "") -> list[UploadInfo]:
        self._buckets.get(bucket)
        return [u for u in self._store.uploads(bucket) if u.key.startswith(prefix)]

    async def abort(self, bucket: str, key: str, upload_id: str) -> None:
        async with self._locks.hold(bucket, upload_id.encode()):
            self._upload(bucket, key, upload_id)
            parts = self._store.parts(upload_id)
            await self._store.commit(store.delete_upload(upload_id))
        await self._blobs.remove([part.blob for part in parts])

    async def complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[CompletedPart],
        request: RequestInfo,
    ) -> ObjectInfo:
        async with self._locks.hold(bucket, upload_id.encode()):
            upload = self._upload(bucket, key, upload_id)
            chosen = self._chosen_parts(upload, parts)
            ref = segments.encode([Segment(part.blob, part.info.size) for part in chosen])
            info = ObjectInfo(
                bucket,
                key,
                sum(part.info.size for part in chosen),
                multipart_etag([part.info.etag for part in chosen]),
                self._clock(),
                upload.attributes,
                _composite(upload.checksum_algorithm, chosen),
                len(chosen),
            )
            kept = {part.blob for part in chosen}
            unused = [part.blob for part in self._store.parts(upload_id) if part.blob not in kept]
            record = ObjectRecord(info, ref)
            also = store.delete_upload(upload_id)
            # The parts' files are the upload's until this commit: kept if it fails.
            await self._writer.publish(
                record, EventName.COMPLETE_MULTIPART_UPLOAD, request, also, owned=False
            )
        await self._blobs.remove(unused)
        return info

    def _chosen_parts(self, upload: UploadInfo, parts: Sequence[CompletedPart]) -> list[PartRecord]:
        if not parts:
            raise InvalidRequest(NO_PARTS)
        numbers = [part.part_number for part in parts]
        if any(later <= earlier for earlier, later in itertools.pairwise(numbers)):
            raise InvalidPartOrder(upload.upload_id)
        chosen = [self._matching_part(upload, part) for part in parts]
        for record in chosen[:-1]:
            if record.info.size < self._limits.min_part_size:
                info = record.info
                raise EntityTooSmall(
                    info.size, self._limits.min_part_size, info.part_number, info.etag
                )
        return chosen

    def _matching_part(self, upload: UploadInfo, given: CompletedPart) -> PartRecord:
        algorithm = upload.checksum_algorithm
        if algorithm is not None and given.checksum is None:
            raise InvalidRequest(
                f"The upload was created using a {algorithm.value.lower()} checksum. The "
                "complete request must include the checksum for each part. It was missing "
                f"for part {given.part_number} in the request."
            )
        stored = self._store.part(upload.upload_id, given.part_number)
        if (
            stored is None
            or stored.info.etag.strip('"') != given.etag.strip().strip('"')
            or (
                given.checksum is not None
                and stored.info.checksum is not None
                and given.checksum != stored.info.checksum.value
            )
        ):
            raise InvalidPart(upload.upload_id, given.part_number, given.etag)
        return stored

    def _upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        self._buckets.get(bucket)
        upload = self._store.upload(upload_id)
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise NoSuchUpload(upload_id)
        return upload


def _part_algorithm(
    upload: UploadInfo, checksum: ChecksumRequest | None
) -> ChecksumAlgorithm | None:
    if checksum is None:
        return upload.checksum_algorithm
    created = upload.checksum_algorithm
    if created is not None and checksum.algorithm is not created:
        raise InvalidRequest(
            "Checksum Type mismatch occurred, expected checksum Type: "
            f"{created.value.lower()}, actual checksum Type: {checksum.algorithm.value.lower()}"
        )
    return checksum.algorithm


def _composite(algorithm: ChecksumAlgorithm | None, parts: list[PartRecord]) -> Checksum | None:
    values = [part.info.checksum.value for part in parts if part.info.checksum is not None]
    if algorithm is None or len(values) != len(parts):
        return None
    return Checksum(algorithm, checksums.composite(algorithm, values))
