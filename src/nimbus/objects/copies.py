"""CopyObject: which attributes the copy gets, and copying the bytes.

The bytes are copied file to file in the kernel; a source assembled from parts has an
ETag that is not the MD5 of its bytes, so its copy is read through and hashed (S3's copy
of such an object is a plain object with an MD5 ETag). Composite checksums describe
parts, so a copy does not keep them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from nimbus.clock import Clock
from nimbus.objects.blobs import BlobStore
from nimbus.objects.errors import InvalidRequest
from nimbus.objects.model import (
    EventName,
    MetadataDirective,
    ObjectAttributes,
    ObjectInfo,
    RequestInfo,
)
from nimbus.objects.store import ObjectRecord
from nimbus.objects.writer import ObjectWriter

SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or "
    "encryption attributes."
)
_ATTEMPTS = 3


def copied_attributes(
    source: ObjectAttributes,
    given: ObjectAttributes,
    metadata_directive: MetadataDirective,
    tagging_directive: MetadataDirective,
) -> ObjectAttributes:
    chosen = source
    if metadata_directive is MetadataDirective.REPLACE:
        chosen = replace(given, tags=source.tags)
    if tagging_directive is MetadataDirective.REPLACE:
        chosen = replace(chosen, tags=given.tags)
    return chosen


def check_not_self(same_key: bool, metadata_directive: MetadataDirective) -> None:
    if same_key and metadata_directive is MetadataDirective.COPY:
        raise InvalidRequest(SELF_COPY)


class ObjectCopier:
    def __init__(self, blobs: BlobStore, writer: ObjectWriter, clock: Clock) -> None:
        self._blobs = blobs
        self._writer = writer
        self._clock = clock

    async def copy(
        self,
        load_source: Callable[[], ObjectRecord],
        bucket: str,
        key: str,
        attributes: Callable[[ObjectInfo], ObjectAttributes],
        request: RequestInfo,
    ) -> ObjectInfo:
        """Copy the source `load_source` returns; reloaded if it is replaced meanwhile."""
        for attempt in range(_ATTEMPTS):
            source = load_source()
            try:
                return await self._copy(source, bucket, key, attributes(source.info), request)
            except FileNotFoundError:  # overwritten under us: copy the new version
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _copy(
        self,
        source: ObjectRecord,
        bucket: str,
        key: str,
        attributes: ObjectAttributes,
        request: RequestInfo,
    ) -> ObjectInfo:
        multipart = source.info.parts_count is not None
        blob = await self._blobs.concat([source.blob], md5=multipart)
        checksum = source.info.checksum
        if checksum is not None and "-" in checksum.value:
            checksum = None
        info = replace(
            source.info,
            bucket=bucket,
            key=key,
            etag=f'"{blob.md5.hex()}"' if multipart else source.info.etag,
            last_modified=self._clock(),
            attributes=attributes,
            checksum=checksum,
            parts_count=None,
        )
        await self._writer.publish(ObjectRecord(info, blob.id), EventName.COPY, request)
        return info
