"""S3-compatible object storage: the service (no HTTP; the REST-XML wire is the gateway's).

service.py     ObjectsService: the public API the gateway calls
buckets.py     bucket names, creation, delete-when-empty
writer.py      the one commit path of every create/delete (per-key lock, outbox rows)
notifications/ event notifications: configuration, matching, records, the outbox
copies.py      CopyObject's attribute directives and byte copy
multipart.py   multipart uploads: parts, complete (assemble), abort, listings
pages.py       ListObjects (V1) and ListObjectsV2 pages; listing.py the key walk;
               tokens.py the checked continuation tokens
blobs.py       object and part bytes as files (temp, fsync, rename; ranged readers)
store.py       the SQLite metadata (group commit via nimbus.store.groupcommit)
checksums.py   CRC32/SHA1/SHA256 (CRC32C/CRC64NVME when a library exists), Content-MD5
ranges.py, conditions.py, names.py, tagging.py, sequencer.py, model.py, errors.py
"""

from __future__ import annotations

from nimbus.objects.checksums import ChecksumAlgorithm
from nimbus.objects.model import (
    Body,
    BucketInfo,
    Checksum,
    ChecksumRequest,
    CompletedPart,
    Conditions,
    ContentHeaders,
    DeleteOutcome,
    EventName,
    ListPage,
    MetadataDirective,
    ObjectAttributes,
    ObjectChange,
    ObjectInfo,
    ObjectLimits,
    ObjectSummary,
    PartInfo,
    PartsPage,
    RequestInfo,
    UploadInfo,
)
from nimbus.objects.notifications import (
    Destination,
    DestinationKind,
    FilterRule,
    NotificationConfiguration,
    NotificationSettings,
    NotificationTargets,
)
from nimbus.objects.ranges import ByteRange
from nimbus.objects.service import ObjectRead, ObjectsService

__all__ = [
    "Body",
    "BucketInfo",
    "ByteRange",
    "Checksum",
    "ChecksumAlgorithm",
    "ChecksumRequest",
    "CompletedPart",
    "Conditions",
    "ContentHeaders",
    "DeleteOutcome",
    "Destination",
    "DestinationKind",
    "EventName",
    "FilterRule",
    "ListPage",
    "MetadataDirective",
    "NotificationConfiguration",
    "NotificationSettings",
    "NotificationTargets",
    "ObjectAttributes",
    "ObjectChange",
    "ObjectInfo",
    "ObjectLimits",
    "ObjectRead",
    "ObjectSummary",
    "ObjectsService",
    "PartInfo",
    "PartsPage",
    "RequestInfo",
    "UploadInfo",
]
