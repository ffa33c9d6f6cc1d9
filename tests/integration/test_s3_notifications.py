"""S3 event notifications through boto3: a stored object starts a function or fills a queue.

The seed's first step runs end to end: an upload lands in `uploads/`, the object store
raises `ObjectCreated:Put`, a function gets the S3 event (asynchronously), reads the
object with boto3 inside its environment and writes a derived object to another bucket.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import NimbusServer, running_server, start, stop

from nimbus.packaging import build_package

ROLE = "arn:aws:iam::000000000000:role/test"
DERIVE = """
import boto3, urllib.parse
s3 = boto3.client("s3")

def handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        derived = "derived/" + key.split("/", 1)[1] + ".upper"
        s3.put_object(Bucket="derived-bucket", Key=derived, Body=body.upper(),
                      Metadata={"event": record["eventName"], "size": str(record["s3"]["object"]["size"])})
"""


def receive_all(sqs: Any, url: str, want: int) -> list[dict[str, Any]]:
    """Long-poll until `want` messages arrived (the wait is the queue's, not a sleep)."""
    bodies: list[dict[str, Any]] = []
    for _ in range(20):
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
        for message in reply.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) >= want:
            break
    return bodies


def test_an_upload_runs_a_function_that_writes_a_derived_object(
    nimbus_server: NimbusServer,
) -> None:
    s3, lam = nimbus_server.client("s3"), nimbus_server.client("lambda")
    s3.create_bucket(Bucket="upload-bucket")
    s3.create_bucket(Bucket="derived-bucket")
    arn = lam.create_function(
        FunctionName="derive", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": build_package({"app.py": DERIVE})}, Timeout=30,
    )["FunctionArn"]  # fmt: skip
    s3.put_bucket_notification_configuration(
        Bucket="upload-bucket",
        NotificationConfiguration={"LambdaFunctionConfigurations": [{
            "Id": "derive-uploads", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
        }]},
    )  # fmt: skip
    config = s3.get_bucket_notification_configuration(Bucket="upload-bucket")
    (entry,) = config["LambdaFunctionConfigurations"]
    assert entry["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "uploads/"}]
    s3.put_object(Bucket="upload-bucket", Key="ignored/not-this.txt", Body=b"no")
    s3.put_object(Bucket="upload-bucket", Key="uploads/my video.txt", Body=b"frames")
    waiter = s3.get_waiter("object_exists")
    key = "derived/my video.txt.upper"
    waiter.wait(Bucket="derived-bucket", Key=key, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    derived = s3.get_object(Bucket="derived-bucket", Key=key)
    assert derived["Body"].read() == b"FRAMES"
    assert derived["Metadata"] == {"event": "ObjectCreated:Put", "size": "6"}
    listed = s3.list_objects_v2(Bucket="derived-bucket")["Contents"]
    assert [item["Key"] for item in listed] == [key]  # the ignored/ object started nothing


def test_queue_gets_the_test_event_then_records_in_aws_shape(
    nimbus_server: NimbusServer,
) -> None:
    s3, sqs = nimbus_server.client("s3"), nimbus_server.client("sqs")
    url = sqs.create_queue(QueueName="object-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.create_bucket(Bucket="queued-bucket")
    s3.put_bucket_notification_configuration(
        Bucket="queued-bucket",
        NotificationConfiguration={"QueueConfigurations": [{
            "Id": "all", "QueueArn": queue_arn,
            "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        }]},
    )  # fmt: skip
    (test_event,) = receive_all(sqs, url, 1)
    assert test_event["Event"] == "s3:TestEvent" and test_event["Bucket"] == "queued-bucket"
    put = s3.put_object(Bucket="queued-bucket", Key="a b@c.txt", Body=b"12345")
    s3.delete_object(Bucket="queued-bucket", Key="a b@c.txt")
    messages = receive_all(sqs, url, 2)
    records = sorted(
        (m["Records"][0] for m in messages), key=lambda r: r["s3"]["object"]["sequencer"]
    )
    created, removed = records
    assert created["eventVersion"] == "2.1" and created["eventSource"] == "aws:s3"
    assert created["eventName"] == "ObjectCreated:Put" and created["awsRegion"] == "us-east-1"
    assert created["s3"]["configurationId"] == "all"
    assert created["s3"]["bucket"]["arn"] == "arn:aws:s3:::queued-bucket"
    assert created["s3"]["object"]["key"] == "a+b%40c.txt"
    assert created["s3"]["object"]["size"] == 5
    assert created["s3"]["object"]["eTag"] == put["ETag"].strip('"')
    assert created["responseElements"]["x-amz-request-id"] == put["ResponseMetadata"]["RequestId"]
    assert removed["eventName"] == "ObjectRemoved:Delete"
    assert set(removed["s3"]["object"]) == {"key", "sequencer"}


def test_invalid_configurations_get_aws_errors(nimbus_server: NimbusServer) -> None:
    s3 = nimbus_server.client("s3")
    s3.create_bucket(Bucket="config-errors")

    def error(configuration: dict[str, Any]) -> dict[str, Any]:
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_notification_configuration(
                Bucket="config-errors", NotificationConfiguration=configuration
            )
        return caught.value.response["Error"]

    missing = "arn:aws:sqs:us-east-1:000000000000:no-such-queue"
    refused = error(
        {"QueueConfigurations": [{"QueueArn": missing, "Events": ["s3:ObjectCreated:*"]}]}
    )
    assert refused["Code"] == "InvalidArgument"
    assert refused["Message"] == "Unable to validate the following destination configurations"
    bad_rule = error({"QueueConfigurations": [{
        "QueueArn": missing, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "middle", "Value": "x"}]}},
    }]})  # fmt: skip
    assert bad_rule["Message"] == "filter rule name must be either prefix or suffix"


def test_eventbridge_configuration_puts_object_events_on_the_default_bus(
    nimbus_server: NimbusServer,
) -> None:
    """A rule on the default bus routes S3's `Object Created`/`Object Deleted` to a queue."""
    s3, sqs, events = (nimbus_server.client(name) for name in ("s3", "sqs", "events"))
    bucket = "to-the-bus"
    s3.create_bucket(Bucket=bucket)
    url = sqs.create_queue(QueueName="s3-bus-sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    events.put_rule(Name="s3-objects", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="s3-objects", Targets=[{"Id": "sink", "Arn": arn}])
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert got.get("EventBridgeConfiguration") == {}
    put = s3.put_object(Bucket=bucket, Key="in/a b.txt", Body=b"12345")
    s3.delete_object(Bucket=bucket, Key="in/a b.txt")
    # two deliveries, each on its own: their order on the queue is not promised
    by_type = {event["detail-type"]: event for event in receive_all(sqs, url, 2)}
    created, deleted = by_type["Object Created"], by_type["Object Deleted"]
    assert (created["source"], created["detail-type"]) == ("aws.s3", "Object Created")
    assert created["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert created["detail"]["bucket"] == {"name": bucket}
    assert created["detail"]["object"]["key"] == "in/a b.txt"
    assert created["detail"]["object"]["size"] == 5
    assert created["detail"]["object"]["etag"] == put["ETag"].strip('"')
    assert created["detail"]["reason"] == "PutObject"
    assert deleted["detail-type"] == "Object Deleted"
    assert deleted["detail"]["reason"] == "DeleteObject"
    assert deleted["detail"]["deletion-type"] == "Permanently Deleted"


def test_a_notification_survives_kill_9_after_the_200(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start(data)
    try:
        s3, sqs = server.client("s3"), server.client("sqs")
        url = sqs.create_queue(QueueName="durable-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        s3.create_bucket(Bucket="durable-bucket")
        s3.put_bucket_notification_configuration(
            Bucket="durable-bucket",
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
        keys = [f"k{i}" for i in range(20)]
        for key in keys:
            s3.put_object(Bucket="durable-bucket", Key=key, Body=b"x")
        os.killpg(server.process.pid, signal.SIGKILL)  # right after the last 200
        server.process.wait()
    finally:
        stop(server)
    with running_server(data) as restarted:
        sqs = restarted.client("sqs")
        url = sqs.get_queue_url(QueueName="durable-events")["QueueUrl"]
        bodies = receive_all(sqs, url, len(keys) + 1)
        delivered = {b["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b}
        assert delivered == set(keys)  # at least once: every acknowledged put
        assert (
            restarted.client("s3").get_object(Bucket="durable-bucket", Key="k19")["Body"].read()
            == b"x"
        )
