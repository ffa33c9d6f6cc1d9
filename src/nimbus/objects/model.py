"""The domain values of the object store: what callers pass in and get back.

Everything is a frozen dataclass or an enum; times are epoch seconds from the injected
clock. Keys are `str` here; the store keeps their UTF-8 bytes (S3 orders keys by them).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import secrets
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass, field

from nimbus.objects.checksums import ChecksumAlgorithm
from nimbus.objects.errors import S3Error

Body = bytes | AsyncIterable[bytes]
"""An object's content: all at once, or as chunks streamed from the request."""

DEFAULT_CONTENT_TYPE = "binary/octet-stream"


class MetadataDirective(enum.Enum):
    COPY = "COPY"
    REPLACE = "REPLACE"


class EventName(enum.Enum):
    """S3 event names as notification records carry them (no `s3:` prefix)."""

    PUT = "ObjectCreated:Put"
    COPY = "ObjectCreated:Copy"
    COMPLETE_MULTIPART_UPLOAD = "ObjectCreated:CompleteMultipartUpload"
    DELETE = "ObjectRemoved:Delete"


@dataclass(frozen=True, slots=True)
class ContentHeaders:
    """The representation headers S3 stores with an object and returns on GET/HEAD."""

    content_type: str = DEFAULT_CONTENT_TYPE
    content_encoding: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    cache_control: str | None = None
    expires: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectAttributes:
    """What a writer sets besides the bytes: headers, `x-amz-meta-*` and tags."""

    headers: ContentHeaders = field(default_factory=ContentHeaders)
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Checksum:
    """A flexible checksum: the algorithm and its base64 value (composite: `...-N`)."""

    algorithm: ChecksumAlgorithm
    value: str


@dataclass(frozen=True, slots=True)
class ChecksumRequest:
    """The checksum a request asks for. `expected` is the value the client sent; a
    callable is read only once the body has been consumed (an aws-chunked trailer).
    Without a value the checksum is computed and stored, not verified."""

    algorithm: ChecksumAlgorithm
    expected: str | Callable[[], str | None] | None = None


@dataclass(frozen=True, slots=True)
class Conditions:
    """If-Match / If-None-Match (raw header values) and the two dates (epoch seconds)."""

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: float | None = None
    if_unmodified_since: float | None = None


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: float


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object as GET/HEAD/List describe it. `etag` is quoted."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: float
    attributes: ObjectAttributes
    checksum: Checksum | None = None
    parts_count: int | None = None


@dataclass(frozen=True, slots=True)
class ObjectSummary:
    """One `Contents` entry of a listing."""

    key: str
    size: int
    etag: str
    last_modified: float
    checksum_algorithm: ChecksumAlgorithm | None = None


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of ListObjects(V2). `next_token` (V2) and `next_marker` (V1) are set only
    when `is_truncated`; `next_marker` is the last key or common prefix returned."""

    contents: tuple[ObjectSummary, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    key_count: int
    next_token: str | None = None
    next_marker: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """One key of a DeleteObjects: `error` is None when deleted (or already absent)."""

    key: str
    error: S3Error | None = None


def new_request_id() -> str:
    """A request id in S3's style: 16 upper-case hex digits."""
    return secrets.token_hex(8).upper()


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Who asked for a change, as its notifications tell: the request id of the response,
    the client's address and its principal (None: the service's own principal)."""

    request_id: str = field(default_factory=new_request_id)
    source_ip: str = "127.0.0.1"
    principal: str | None = None

    @property
    def host_id(self) -> str:
        """`x-amz-id-2`: derived from the request id, as the gateway derives it."""
        digest = hashlib.sha256(self.request_id.encode("utf-8")).digest()
        return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """A committed create or delete, as its notifications describe it."""

    bucket: str
    key: str
    event: EventName
    sequencer: str
    time: float
    request: RequestInfo
    size: int | None = None  # None on deletes
    etag: str | None = None  # unquoted, as notification records carry it


@dataclass(frozen=True, slots=True)
class UploadInfo:
    bucket: str
    key: str
    upload_id: str
    initiated: float
    attributes: ObjectAttributes
    checksum_algorithm: ChecksumAlgorithm | None = None


@dataclass(frozen=True, slots=True)
class PartInfo:
    part_number: int
    size: int
    etag: str
    last_modified: float
    checksum: Checksum | None = None


@dataclass(frozen=True, slots=True)
class PartsPage:
    parts: tuple[PartInfo, ...]
    is_truncated: bool
    next_part_number_marker: int | None = None


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """One `<Part>` of a CompleteMultipartUpload request."""

    part_number: int
    etag: str
    checksum: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectLimits:
    """S3's size limits, each a setting with today's AWS value as its default."""

    max_object_size: int = 5 * 1024**3  # a single PutObject / UploadPart / CopyObject
    min_part_size: int = 5 * 1024**2  # every part of a multipart upload but the last
    max_parts: int = 10_000
    max_keys: int = 1000  # per listing page
    max_parts_listed: int = 1000
