"""SQS queues triggering functions through event source mappings, as boto3 users set them up."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from sqs_md5 import attributes_md5

from nimbus.packaging import build_package

if TYPE_CHECKING:
    from conftest import NimbusServer

ROLE = "arn:aws:iam::000000000000:role/test"
ECHO = (
    "import json\n"
    "def handler(event, context):\n"
    "    failures = []\n"
    "    for record in event['Records']:\n"
    "        print('RECORD ' + json.dumps(record))\n"
    "        if 'bad' in record['body']:\n"
    "            failures.append({'itemIdentifier': record['messageId']})\n"
    "    return {'batchItemFailures': failures}\n"
)


FORWARD = (  # bodies over 1,000 characters are cut to "<n chars>" to fit in a reply
    "import json, os, boto3\n"
    "replies = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    size = len(json.dumps(event))\n"
    "    for record in event['Records']:\n"
    "        if len(record['body']) > 1000:\n"
    "            record['body'] = '<%d chars>' % len(record['body'])\n"
    "    reply = json.dumps({'eventBytes': size, **event})\n"
    "    replies.send_message(QueueUrl=os.environ['REPLY_URL'], MessageBody=reply)\n"
)


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def make_function(
    server: NimbusServer, name: str, code: str = ECHO, env: dict[str, str] | None = None
) -> str:
    reply = server.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": build_package({"lambda_function.py": code})}, Timeout=10,
        Environment={"Variables": env or {}},
    )  # fmt: skip
    return str(reply["FunctionArn"])


def forwarding(server: NimbusServer, name: str, **mapping: Any) -> tuple[str, str]:
    """A queue mapped to a function that sends each event it gets to a reply queue.

    Returns the (queue URL, reply queue URL); `next_event` long-polls the replies.
    """
    replies, _ = make_queue(server, f"{name}-replies")
    make_function(server, name, FORWARD, {"REPLY_URL": replies})
    url, arn = make_queue(server, f"{name}-q")
    server.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, **mapping
    )
    return url, replies


def next_event(server: NimbusServer, replies: str, timeout: float = 60.0) -> dict[str, Any]:
    """The next event a forwarding function got (long polls; fails after `timeout`)."""
    sqs = server.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=replies, WaitTimeSeconds=20)
        for message in got.get("Messages", []):
            sqs.delete_message(QueueUrl=replies, ReceiptHandle=message["ReceiptHandle"])
            event: dict[str, Any] = json.loads(message["Body"])
            return event
    pytest.fail(f"no event reached the function in {timeout} s")


def make_queue(server: NimbusServer, name: str, **attributes: str) -> tuple[str, str]:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def records(server: NimbusServer, function: str) -> list[dict[str, Any]]:
    logs = server.client("logs")
    try:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=f"/aws/lambda/{function}", filterPattern="RECORD"
        )
        messages = [e["message"] for page in pages for e in page["events"]]
    except ClientError:
        return []
    return [json.loads(m.split("RECORD ", 1)[1]) for m in messages]


def depth(server: NimbusServer, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = server.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)
    return sum(int(attrs["Attributes"][n]) for n in names)


def test_mapping_api_and_errors(nimbus_server: NimbusServer) -> None:
    lam = nimbus_server.client("lambda")
    make_function(nimbus_server, "esm-api")
    _, arn = make_queue(nimbus_server, "esm-api-q")
    created = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="esm-api", BatchSize=5, Enabled=False
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Disabled" and created["BatchSize"] == 5
    assert created["EventSourceArn"] == arn and created["FunctionArn"].endswith(":esm-api")
    uuid = created["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["UUID"] == uuid
    listed = lam.list_event_source_mappings(FunctionName="esm-api")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid]
    updated = lam.update_event_source_mapping(
        UUID=uuid, BatchSize=100, MaximumBatchingWindowInSeconds=2,
        ScalingConfig={"MaximumConcurrency": 4},
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["a"]}})}]},
    )  # fmt: skip
    assert updated["BatchSize"] == 100 and updated["ScalingConfig"]["MaximumConcurrency"] == 4
    cases: list[dict[str, Any]] = [
        {"EventSourceArn": arn.replace("esm-api-q", "missing"), "FunctionName": "esm-api"},
        {"EventSourceArn": arn, "FunctionName": "esm-api", "BatchSize": 11},
        {"EventSourceArn": arn, "FunctionName": "esm-api",
         "FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}},
        {"EventSourceArn": arn, "FunctionName": "esm-api", "BatchSize": 10_000,
         "MaximumBatchingWindowInSeconds": 301},
    ]  # fmt: skip
    for params in cases:
        with pytest.raises(ClientError) as bad:
            lam.create_event_source_mapping(**params)
        assert bad.value.response["Error"]["Code"] in (
            "InvalidParameterValueException", "ValidationException",
        ), params  # fmt: skip
    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError) as gone:
        lam.get_event_source_mapping(UUID=uuid)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_queue_triggers_function_with_lambdas_event(nimbus_server: NimbusServer) -> None:
    make_function(nimbus_server, "esm-echo")
    url, arn = make_queue(nimbus_server, "esm-echo-q", VisibilityTimeout="2")
    nimbus_server.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="esm-echo", BatchSize=10
    )
    sqs = nimbus_server.client("sqs")
    attributes = {"colour": {"DataType": "String", "StringValue": "blue"}}
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"hello {n}", MessageAttributes=attributes)
    seen = eventually(
        lambda: len(records(nimbus_server, "esm-echo")) >= 3 and records(nimbus_server, "esm-echo")
    )
    assert sorted(r["body"] for r in seen) == ["hello 0", "hello 1", "hello 2"]
    record = seen[0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["messageAttributes"]["colour"]["stringValue"] == "blue"
    assert record["messageAttributes"]["colour"]["dataType"] == "String"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert eventually(lambda: depth(nimbus_server, url) == 0), "processed messages not deleted"


def test_partial_failures_reach_the_dead_letter_queue(nimbus_server: NimbusServer) -> None:
    make_function(nimbus_server, "esm-partial")
    dlq_url, dlq_arn = make_queue(nimbus_server, "esm-partial-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = make_queue(nimbus_server, "esm-partial-q", VisibilityTimeout="1",
                          RedrivePolicy=redrive)  # fmt: skip
    nimbus_server.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="esm-partial", BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )  # fmt: skip
    sqs = nimbus_server.client("sqs")
    entries = [{"Id": str(n), "MessageBody": "bad" if n in (2, 5) else f"good {n}"}
               for n in range(8)]  # fmt: skip
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert eventually(lambda: depth(nimbus_server, url) == 0 and depth(nimbus_server, dlq_url) == 2)
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["bad", "bad"]
    bodies = [r["body"] for r in records(nimbus_server, "esm-partial")]
    assert sorted(b for b in bodies if b.startswith("good")) == [
        f"good {n}" for n in range(8) if n not in (2, 5)
    ]  # each good message once: only the failed items came back
    assert bodies.count("bad") == 4  # two receives each before the redrive


def test_filter_criteria_drop_what_does_not_match(nimbus_server: NimbusServer) -> None:
    make_function(nimbus_server, "esm-filter")
    url, arn = make_queue(nimbus_server, "esm-filter-q")
    pattern = json.dumps({"body": {"kind": ["keep"]}})
    nimbus_server.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="esm-filter",
        FilterCriteria={"Filters": [{"Pattern": pattern}]},
    )  # fmt: skip
    sqs = nimbus_server.client("sqs")
    for kind in ("keep", "drop", "keep", "plain text"):
        body = json.dumps({"kind": kind}) if kind != "plain text" else kind
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert eventually(lambda: depth(nimbus_server, url) == 0)
    bodies = [json.loads(r["body"])["kind"] for r in records(nimbus_server, "esm-filter")]
    assert bodies == ["keep", "keep"]


def test_records_carry_message_attributes_in_lambdas_shape(nimbus_server: NimbusServer) -> None:
    url, replies = forwarding(nimbus_server, "esm-attrs", BatchSize=1)
    attributes = {
        "City": {"DataType": "String", "StringValue": "Any City"},
        "Price": {"DataType": "Number.float", "StringValue": "1.99"},
        "Blob": {"DataType": "Binary", "BinaryValue": b"\x89PNG\x00"},
    }
    sqs = nimbus_server.client("sqs")
    sent = sqs.send_message(QueueUrl=url, MessageBody="with", MessageAttributes=attributes)
    sqs.send_message(QueueUrl=url, MessageBody="without")
    got: dict[str, dict[str, Any]] = {}
    while len(got) < 2:
        for record in next_event(nimbus_server, replies)["Records"]:
            got[record["body"]] = record
    shaped = got["with"]
    assert shaped["messageAttributes"] == {
        "City": {"stringValue": "Any City", "stringListValues": [], "binaryListValues": [],
                 "dataType": "String"},
        "Price": {"stringValue": "1.99", "stringListValues": [], "binaryListValues": [],
                  "dataType": "Number.float"},
        "Blob": {"binaryValue": base64.b64encode(b"\x89PNG\x00").decode(),
                 "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }  # fmt: skip
    assert shaped["md5OfMessageAttributes"] == attributes_md5(attributes)
    assert shaped["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert shaped["md5OfBody"] == hashlib.md5(b"with").hexdigest()
    plain = got["without"]
    assert plain["messageAttributes"] == {}
    assert "md5OfMessageAttributes" in plain and plain["md5OfMessageAttributes"] is None
    assert eventually(lambda: depth(nimbus_server, url) == 0)


def test_batching_window_gathers_a_trickle_into_one_batch(nimbus_server: NimbusServer) -> None:
    url, replies = forwarding(
        nimbus_server, "esm-window", BatchSize=10, MaximumBatchingWindowInSeconds=4
    )
    sqs = nimbus_server.client("sqs")
    for n in range(5):  # over about 1.2 s, well inside the 4 s window
        if n:
            time.sleep(0.3)
        sqs.send_message(QueueUrl=url, MessageBody=f"trickle {n}")
    event = next_event(nimbus_server, replies)
    assert [r["body"] for r in event["Records"]] == [f"trickle {n}" for n in range(5)]
    assert eventually(lambda: depth(nimbus_server, url) == 0)


def test_a_full_batch_does_not_wait_for_the_window(nimbus_server: NimbusServer) -> None:
    url, replies = forwarding(
        nimbus_server, "esm-full", BatchSize=10, MaximumBatchingWindowInSeconds=300
    )
    sqs = nimbus_server.client("sqs")
    entries = [{"Id": str(n), "MessageBody": f"full {n}"} for n in range(10)]
    assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
    sqs.send_message(QueueUrl=url, MessageBody="the eleventh")  # waits for a batch of its own
    event = next_event(nimbus_server, replies, timeout=60)  # the window is 300 s
    assert sorted(r["body"] for r in event["Records"]) == sorted(e["MessageBody"] for e in entries)


def test_a_batch_stops_below_the_6_mb_payload_limit(nimbus_server: NimbusServer) -> None:
    replies, _ = make_queue(nimbus_server, "esm-big-replies")
    make_function(nimbus_server, "esm-big", FORWARD, {"REPLY_URL": replies})
    url, arn = make_queue(nimbus_server, "esm-big-q")
    sqs = nimbus_server.client("sqs")
    body = "x" * 900_000
    for n in range(7):  # 7 records of ~901 KB pass 6 MB; 6 fit
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "n": {"DataType": "Number", "StringValue": str(n)}})  # fmt: skip
    nimbus_server.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="esm-big", BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
    )  # fmt: skip
    events = [next_event(nimbus_server, replies), next_event(nimbus_server, replies)]
    assert [len(e["Records"]) for e in events] == [6, 1]
    assert all(e["eventBytes"] <= 6 * 1024 * 1024 for e in events)
    assert events[0]["eventBytes"] > 5 * 1024 * 1024
    numbers = [r["messageAttributes"]["n"]["stringValue"] for e in events for r in e["Records"]]
    assert sorted(numbers) == [str(n) for n in range(7)]
    assert {r["body"] for e in events for r in e["Records"]} == {"<900000 chars>"}
    assert eventually(lambda: depth(nimbus_server, url) == 0)
