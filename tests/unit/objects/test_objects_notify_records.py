"""The exact records a queue or function gets, and the EventBridge events, per operation."""

from __future__ import annotations

import hashlib
from typing import Any

from objects_harness import FUNCTION_ARN, QUEUE_ARN, Harness

from nimbus.objects import (
    CompletedPart,
    Destination,
    DestinationKind,
    NotificationConfiguration,
    ObjectsService,
    RequestInfo,
)
from nimbus.objects.multipart import multipart_etag

REQUEST = RequestInfo("4442587FB7D0A2F9", "203.0.113.7", "AIDAEXAMPLE")
EVERYTHING = NotificationConfiguration(
    (
        Destination(
            DestinationKind.QUEUE,
            QUEUE_ARN,
            ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"),
            id="to-queue",
        ),
    ),
    event_bridge=True,
)
TIME = "2023-11-14T22:13:20.250Z"  # the harness clock
KEY = "dir/a@b c+d"
ENCODED = "dir/a%40b+c%2Bd"


def record(event: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": TIME,
        "eventName": event,
        "userIdentity": {"principalId": "AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.7"},
        "responseElements": {
            "x-amz-request-id": "4442587FB7D0A2F9",
            "x-amz-id-2": REQUEST.host_id,
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "to-queue",
            "bucket": {
                "name": "bkt",
                "ownerIdentity": {"principalId": "OWNERID"},
                "arn": "arn:aws:s3:::bkt",
            },
            "object": obj,
        },
    }


def event(detail_type: str, reason: str, obj: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {
        "version": "0",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2023-11-14T22:13:20Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:s3:::bkt"],
        "detail": {
            "version": "0",
            "bucket": {"name": "bkt"},
            "object": obj,
            "request-id": "4442587FB7D0A2F9",
            "requester": "123456789012",
            "source-ip-address": "203.0.113.7",
            "reason": reason,
            **extra,
        },
    }


def notified(harness: Harness, operation: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The queue's record and the bus's event of the one change `operation` makes."""

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", EVERYTHING)
        await operation(s)
        await harness.recorded.wait_for(2)

    harness.run(body)
    [message] = harness.recorded.to(QUEUE_ARN)
    [bus_event] = harness.recorded.events
    assert bus_event.pop("id")
    assert list(message) == ["Records"]
    [queued] = message["Records"]
    return queued, bus_event


def test_put(harness: Harness) -> None:
    async def put(s: ObjectsService) -> None:
        await s.put_object("bkt", KEY, b"data", request=REQUEST)

    queued, bus = notified(harness, put)
    md5 = hashlib.md5(b"data").hexdigest()
    sequencer = "0000000000000001"
    assert queued == record(
        "ObjectCreated:Put", {"key": ENCODED, "size": 4, "eTag": md5, "sequencer": sequencer}
    )
    assert bus == event(
        "Object Created",
        "PutObject",
        {"key": KEY, "size": 4, "etag": md5, "sequencer": sequencer},
    )


def test_copy(harness: Harness) -> None:
    async def copy(s: ObjectsService) -> None:
        await s.put_object("src", "k", b"data")  # another bucket: not notified
        await s.copy_object("src", "k", "bkt", KEY, request=REQUEST)

    async def source_bucket(s: ObjectsService) -> None:
        await s.create_bucket("src")

    harness.run(source_bucket)
    queued, bus = notified(harness, copy)
    md5 = hashlib.md5(b"data").hexdigest()
    sequencer = "0000000000000002"
    assert queued == record(
        "ObjectCreated:Copy", {"key": ENCODED, "size": 4, "eTag": md5, "sequencer": sequencer}
    )
    assert bus == event(
        "Object Created",
        "CopyObject",
        {"key": KEY, "size": 4, "etag": md5, "sequencer": sequencer},
    )


def test_complete_multipart_upload(harness: Harness) -> None:
    async def complete(s: ObjectsService) -> None:
        upload = await s.create_multipart_upload("bkt", KEY)
        one = await s.upload_part("bkt", KEY, upload.upload_id, 1, b"aaaaa")
        two = await s.upload_part("bkt", KEY, upload.upload_id, 2, b"b")
        parts = [CompletedPart(1, one.etag), CompletedPart(2, two.etag)]
        await s.complete_multipart_upload("bkt", KEY, upload.upload_id, parts, request=REQUEST)

    queued, bus = notified(harness, complete)
    etag = multipart_etag([hashlib.md5(b"aaaaa").hexdigest(), hashlib.md5(b"b").hexdigest()])
    etag = etag.strip('"')
    sequencer = "0000000000000001"
    assert queued == record(
        "ObjectCreated:CompleteMultipartUpload",
        {"key": ENCODED, "size": 6, "eTag": etag, "sequencer": sequencer},
    )
    assert bus == event(
        "Object Created",
        "CompleteMultipartUpload",
        {"key": KEY, "size": 6, "etag": etag, "sequencer": sequencer},
    )


def test_delete(harness: Harness) -> None:
    async def setup(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_object("bkt", KEY, b"data")  # no configuration yet: not notified

    harness.run(setup)

    async def delete(s: ObjectsService) -> None:
        await s.put_bucket_notification_configuration("bkt", EVERYTHING)
        await s.delete_objects("bkt", [KEY, "missing"], request=REQUEST)
        await harness.recorded.wait_for(2)

    harness.run(delete)
    [message] = harness.recorded.to(QUEUE_ARN)
    [bus] = harness.recorded.events
    bus.pop("id")
    sequencer = "0000000000000002"
    assert message == {
        "Records": [record("ObjectRemoved:Delete", {"key": ENCODED, "sequencer": sequencer})]
    }
    assert bus == event(
        "Object Deleted",
        "DeleteObject",
        {"key": KEY, "sequencer": sequencer},
        **{"deletion-type": "Permanently Deleted"},
    )


def test_a_function_gets_the_same_record_and_a_default_request(harness: Harness) -> None:
    function = NotificationConfiguration(
        (Destination(DestinationKind.FUNCTION, FUNCTION_ARN, ("s3:ObjectCreated:Put",), id="f"),)
    )

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", function)
        await s.put_object("bkt", "k", b"")
        await harness.recorded.wait_for(1)

    harness.run(body)
    [[queued]] = [message["Records"] for message in harness.recorded.to(FUNCTION_ARN)]
    assert queued["eventName"] == "ObjectCreated:Put"
    assert queued["s3"]["configurationId"] == "f"
    assert queued["userIdentity"] == {"principalId": "OWNERID"}
    assert queued["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    request_id = queued["responseElements"]["x-amz-request-id"]
    assert len(request_id) == 16 and request_id == request_id.upper()
