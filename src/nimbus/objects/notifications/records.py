"""The messages notifications carry, in AWS's shapes.

- `s3_record`: one record of the `{"Records": [...]}` payload S3 sends to queues, topics
  and functions (eventVersion 2.1). Its key is form-urlencoded (space `+`, `@` `%40`);
  delete records carry only the key and the sequencer.
- `event_bridge_event`: the event S3 puts on the default bus (source `aws.s3`); its key
  is the raw key.
- `test_event`: the `s3:TestEvent` message a queue gets when a configuration is saved.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from nimbus.objects.model import EventName, ObjectChange, RequestInfo

EVENT_VERSION = "2.1"
_REASONS = {
    EventName.PUT: "PutObject",
    EventName.COPY: "CopyObject",
    EventName.COMPLETE_MULTIPART_UPLOAD: "CompleteMultipartUpload",
    EventName.DELETE: "DeleteObject",
}
_DELETIONS = {EventName.DELETE: "Permanently Deleted"}
_DETAIL_TYPES = {
    EventName.PUT: "Object Created",
    EventName.COPY: "Object Created",
    EventName.COMPLETE_MULTIPART_UPLOAD: "Object Created",
    EventName.DELETE: "Object Deleted",
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the service runs and who owns its buckets (the service's constructor)."""

    region: str
    account_id: str
    owner_id: str  # the buckets' owner, and the requester when a request names none


def s3_record(change: ObjectChange, configuration_id: str, origin: Origin) -> dict[str, Any]:
    request = change.request
    obj: dict[str, Any] = {"key": encoded_key(change.key)}
    if change.size is not None:
        obj.update(size=change.size, eTag=change.etag)
    obj["sequencer"] = change.sequencer
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": origin.region,
        "eventTime": iso_time(change.time),
        "eventName": change.event.value,
        "userIdentity": {"principalId": request.principal or origin.owner_id},
        "requestParameters": {"sourceIPAddress": request.source_ip},
        "responseElements": {
            "x-amz-request-id": request.request_id,
            "x-amz-id-2": request.host_id,
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": change.bucket,
                "ownerIdentity": {"principalId": origin.owner_id},
                "arn": bucket_arn(change.bucket),
            },
            "object": obj,
        },
    }


def event_bridge_event(change: ObjectChange, origin: Origin) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": change.key}
    if change.size is not None:
        obj.update(size=change.size, etag=change.etag)
    obj["sequencer"] = change.sequencer
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": change.bucket},
        "object": obj,
        "request-id": change.request.request_id,
        "requester": origin.account_id,
        "source-ip-address": change.request.source_ip,
        "reason": _REASONS[change.event],
    }
    if change.event in _DELETIONS:
        detail["deletion-type"] = _DELETIONS[change.event]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": _DETAIL_TYPES[change.event],
        "source": "aws.s3",
        "account": origin.account_id,
        "time": iso_time(change.time, milliseconds=False),
        "region": origin.region,
        "resources": [bucket_arn(change.bucket)],
        "detail": detail,
    }


def test_event(bucket: str, request: RequestInfo, time: float) -> dict[str, Any]:
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": iso_time(time),
        "Bucket": bucket,
        "RequestId": request.request_id,
        "HostId": request.host_id,
    }


def encoded_key(key: str) -> str:
    """The key as S3 event records carry it: form-urlencoded, `/` kept."""
    return quote_plus(key, safe="/")


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def iso_time(epoch: float, *, milliseconds: bool = True) -> str:
    """`2024-01-02T03:04:05.678Z` (or without the fraction, as EventBridge writes it)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    text = moment.isoformat(timespec="milliseconds" if milliseconds else "seconds")
    return text.replace("+00:00", "Z")
