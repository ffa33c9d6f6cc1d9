"""SQS through a real server, driven by boto3 and the AWS CLI exactly as users drive them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqs_md5 import attributes_md5, md5


def aws(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """The AWS CLI v1, pointed at `server`."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip
    command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", server.endpoint]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture(scope="module")
def sqs(nimbus_server: Any) -> Any:
    return nimbus_server.client("sqs")


def error_of(call: Callable[..., Any], **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**params)
    response: dict[str, Any] = info.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


ATTRS = {
    "City": {"DataType": "String", "StringValue": "Any City"},
    "Price": {"DataType": "Number", "StringValue": "1.99"},
    "Blob": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG\x00"},
}


def test_queue_lifecycle(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="life", Attributes={"VisibilityTimeout": "45"},
                           tags={"team": "a"})["QueueUrl"]  # fmt: skip
    assert url.endswith("/life")
    assert (
        sqs.create_queue(QueueName="life", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
        == url
    )
    clash = error_of(sqs.create_queue, QueueName="life", Attributes={"VisibilityTimeout": "5"})
    assert clash["Code"] == "QueueAlreadyExists"
    assert sqs.get_queue_url(QueueName="life")["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="li")["QueueUrls"]
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="zzz-none")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45" and attrs["QueueArn"].endswith(":life")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "3"})
    one = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert one == {"DelaySeconds": "3"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.delete_queue(QueueUrl=url)
    gone = error_of(sqs.get_queue_attributes, QueueUrl=url)
    assert gone["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert gone["QueryErrorCode"] == "QueueDoesNotExist" and gone["Status"] == 400
    assert gone["Message"] == "The specified queue does not exist."
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="life")


def test_send_receive_delete_with_md5s(sqs: Any, nimbus_server: Any) -> None:
    url = sqs.create_queue(QueueName="md5s")["QueueUrl"]
    body = "héllo wörld 🦀"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=ATTRS,
                            MessageSystemAttributes={"AWSTraceHeader": {
                                "DataType": "String", "StringValue": "Root=1-abc"}})  # fmt: skip
    assert sent["MD5OfMessageBody"] == md5(body.encode())
    assert sent["MD5OfMessageAttributes"] == attributes_md5(ATTRS)
    assert sent["MD5OfMessageSystemAttributes"] == attributes_md5(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}}
    )
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                              AttributeNames=["ApproximateReceiveCount"],
                              MessageSystemAttributeNames=["SentTimestamp"])["Messages"]  # fmt: skip
    assert len(got) == 1
    message = got[0]
    assert message["MessageId"] == sent["MessageId"] and message["Body"] == body
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == ATTRS
    assert message["MD5OfMessageAttributes"] == attributes_md5(ATTRS)
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(message["Attributes"]["SentTimestamp"]) - nimbus_server.now() * 1000) < 60_000
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)


def test_plain_message_has_no_attribute_md5(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="x")
    assert "MD5OfMessageAttributes" not in sent and "SequenceNumber" not in sent
    message = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "MD5OfMessageAttributes" not in message and "MessageAttributes" not in message


def test_send_errors(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="errs", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    empty = error_of(sqs.send_message, QueueUrl=url, MessageBody="")
    assert empty["Code"] == "MissingParameter"
    assert empty["Message"] == "The request must contain the parameter MessageBody."
    big = error_of(sqs.send_message, QueueUrl=url, MessageBody="x" * 1025)
    assert big["Code"] == "InvalidParameterValue"
    assert big["Message"] == (
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    bad = error_of(sqs.send_message, QueueUrl=url, MessageBody="a\x00b")
    assert bad["Code"] == "InvalidMessageContents"
    blank = error_of(sqs.send_message, QueueUrl=url, MessageBody="x",
                     MessageAttributes={"ErrorDetails": {"DataType": "String",
                                                         "StringValue": ""}})  # fmt: skip
    assert blank["Code"] == "InvalidParameterValue"
    assert blank["Message"] == (
        "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
    )


def test_receive_parameter_ranges(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="ranges")["QueueUrl"]
    many = error_of(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)
    assert many["Code"] == "InvalidParameterValue"
    assert many["Message"] == (
        "Value 11 for parameter MaxNumberOfMessages is invalid. "
        "Reason: Must be between 1 and 10, if provided."
    )
    wait = error_of(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=21)
    assert wait["Message"] == (
        "Value 21 for parameter WaitTimeSeconds is invalid. "
        "Reason: Must be >= 0 and <= 20, if provided."
    )


def test_batches(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="batches", Attributes={"MaximumMessageSize": "1024"})[
        "QueueUrl"
    ]
    entries = [{"Id": f"m{i}", "MessageBody": f"body {i}"} for i in range(3)]
    entries.append({"Id": "huge", "MessageBody": "x" * 2000})
    entries[0]["MessageAttributes"] = {"k": {"DataType": "String", "StringValue": "v"}}
    result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    ok = {e["Id"]: e for e in result["Successful"]}
    assert set(ok) == {"m0", "m1", "m2"}
    assert ok["m1"]["MD5OfMessageBody"] == md5(b"body 1")
    assert ok["m0"]["MD5OfMessageAttributes"] == attributes_md5(entries[0]["MessageAttributes"])
    [failed] = result["Failed"]
    assert failed["Id"] == "huge" and failed["SenderFault"] is True
    assert failed["Code"] == "InvalidParameterValue"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    handles = [m["ReceiptHandle"] for m in got["Messages"]]
    assert len(handles) == 3
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": handles[0], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 0}])  # fmt: skip
    assert [e["Id"] for e in changed["Successful"]] == ["a"]
    assert [e["Id"] for e in changed["Failed"]] == ["b"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    handles[0] = again[0]["ReceiptHandle"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": f"d{i}", "ReceiptHandle": h} for i, h in enumerate(handles)]
    )
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d0", "d1", "d2"]
    too_many = [{"Id": f"e{i}", "MessageBody": "x"} for i in range(20)]
    error = error_of(sqs.send_message_batch, QueueUrl=url, Entries=too_many)
    assert error["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert error["Message"] == "Maximum number of entries per request are 10. You have sent 20."
    bad_id = [{"Id": "no spaces", "MessageBody": "x"}]
    error = error_of(sqs.send_message_batch, QueueUrl=url, Entries=bad_id)
    assert error["Code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.delete_message_batch(QueueUrl=url, Entries=[])


def test_change_visibility_and_bad_handles(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="vis")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="v")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "v"
    error = error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle="not-a-handle")
    assert error["Code"] == "ReceiptHandleIsInvalid"


def test_long_poll_returns_early_on_send(sqs: Any, nimbus_server: Any) -> None:
    url = sqs.create_queue(QueueName="longpoll")["QueueUrl"]
    sender = nimbus_server.client("sqs")
    timer = threading.Timer(0.5, lambda: sender.send_message(QueueUrl=url, MessageBody="wake"))
    started = time.monotonic()
    timer.start()
    try:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    finally:
        timer.join()
    elapsed = time.monotonic() - started
    assert got["Messages"][0]["Body"] == "wake"
    assert 0.4 < elapsed < 9.5  # woken by the send, before the 10 s wait ends


def test_long_poll_times_out_empty(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="quiet")["QueueUrl"]
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert 0.9 < time.monotonic() - started < 15  # the full wait, then an answer


def test_fifo_rules(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    missing = error_of(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert missing["Code"] == "MissingParameter"
    assert missing["Message"] == "The request must contain the parameter MessageGroupId."
    no_dedup = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert no_dedup["Code"] == "InvalidParameterValue"
    first = sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g",
                             MessageDeduplicationId="d1")  # fmt: skip
    second = sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="g",
                              MessageDeduplicationId="d2")  # fmt: skip
    assert int(first["SequenceNumber"]) < int(second["SequenceNumber"])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                              MessageSystemAttributeNames=["MessageGroupId"])["Messages"]  # fmt: skip
    assert [m["Body"] for m in got] == ["1", "2"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"


def test_purge_and_dead_letter_sources(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    source = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    sqs.send_message(QueueUrl=source, MessageBody="x")
    sqs.purge_queue(QueueUrl=source)
    assert "Messages" not in sqs.receive_message(QueueUrl=source)
    again = error_of(sqs.purge_queue, QueueUrl=source)
    assert again["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert again["Status"] == 403


def test_unknown_target_and_bad_shape(nimbus_server: Any) -> None:
    sqs = nimbus_server.client("sqs", parameter_validation=False)
    error = error_of(sqs.send_message, QueueUrl=5, MessageBody="x")
    assert error["Status"] == 400


def test_aws_cli(nimbus_server: Any) -> None:
    created = aws(nimbus_server, "sqs", "create-queue", "--queue-name", "cli-queue")
    assert created.returncode == 0, created.stderr
    url = json.loads(created.stdout)["QueueUrl"]
    sent = aws(nimbus_server, "sqs", "send-message", "--queue-url", url, "--message-body", "hi")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["MD5OfMessageBody"] == md5(b"hi")
    received = aws(nimbus_server, "sqs", "receive-message", "--queue-url", url)
    assert received.returncode == 0, received.stderr
    assert json.loads(received.stdout)["Messages"][0]["Body"] == "hi"
    missing = aws(nimbus_server, "sqs", "get-queue-url", "--queue-name", "nope")
    assert missing.returncode != 0
    assert "AWS.SimpleQueueService.NonExistentQueue" in missing.stderr


def test_fifo_attributes_are_unknown_on_a_standard_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="std-attrs")["QueueUrl"]
    fifo = sqs.create_queue(QueueName="fifo-attrs.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    expected = {
        "FifoQueue": ("false", "Unknown Attribute FifoQueue."),
        "ContentBasedDeduplication": ("true", "Unknown Attribute ContentBasedDeduplication."),
        "DeduplicationScope": ("queue", "You can specify the DeduplicationScope only when "
                               "FifoQueue is set to true."),
        "FifoThroughputLimit": ("perQueue", "You can specify the FifoThroughputLimit only when "
                                "FifoQueue is set to true."),
    }  # fmt: skip
    for name, (value, text) in expected.items():
        created = error_of(sqs.create_queue, QueueName="std-attrs", Attributes={name: value})
        assert (created["Code"], created["Message"], created["Status"]) == (
            "InvalidAttributeName", text, 400,
        ), name  # fmt: skip
        changed = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={name: value})
        assert (changed["Code"], changed["Message"]) == ("InvalidAttributeName", text), name
        if name != "FifoQueue":  # a FIFO queue has them all (FifoQueue itself is fixed)
            sqs.set_queue_attributes(QueueUrl=fifo, Attributes={name: value})
        read = error_of(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=[name])
        assert read["Code"] == "InvalidAttributeName"
        assert read["Message"] == f"Unknown Attribute {name}."
        got = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=[name])["Attributes"]
        assert name in got
    for call, params in (
        (sqs.create_queue, {"QueueName": "std-attrs", "Attributes": {"Colour": "blue"}}),
        (sqs.set_queue_attributes, {"QueueUrl": url, "Attributes": {"Colour": "blue"}}),
        (sqs.get_queue_attributes, {"QueueUrl": url, "AttributeNames": ["Colour"]}),
    ):
        unknown = error_of(call, **params)
        assert (unknown["Code"], unknown["Message"]) == (
            "InvalidAttributeName", "Unknown Attribute Colour.",
        )  # fmt: skip
    everything = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert not set(expected) & set(everything)


def test_batch_request_errors(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="batch-errors")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="held")
    [held] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
    handle = held["ReceiptHandle"]
    operations: list[tuple[Callable[..., Any], str, Callable[[str], dict[str, Any]]]] = [
        (sqs.send_message_batch, "SendMessageBatchRequestEntry",
         lambda i: {"Id": i, "MessageBody": "x"}),
        (sqs.change_message_visibility_batch, "ChangeMessageVisibilityBatchRequestEntry",
         lambda i: {"Id": i, "ReceiptHandle": handle, "VisibilityTimeout": 60}),
        (sqs.delete_message_batch, "DeleteMessageBatchRequestEntry",  # last: it deletes
         lambda i: {"Id": i, "ReceiptHandle": handle}),
    ]  # fmt: skip
    legacy = "AWS.SimpleQueueService."
    for call, entry_shape, entry in operations:
        cases = [
            ([], "EmptyBatchRequest",
             f"There should be at least one {entry_shape} in the request."),
            ([entry(f"e{n}") for n in range(11)], "TooManyEntriesInBatchRequest",
             "Maximum number of entries per request are 10. You have sent 11."),
            ([entry("a"), entry("b"), entry("a")], "BatchEntryIdsNotDistinct", "Id a repeated."),
        ]  # fmt: skip
        for bad_id in ("no spaces", "dot.ted", "x" * 81, "", "ünïcode"):
            cases.append(
                ([entry("ok"), entry(bad_id)], "InvalidBatchEntryId",
                 "A batch entry id can only contain alphanumeric characters, hyphens and "
                 "underscores. It can be at most 80 letters long.")
            )  # fmt: skip
        for entries, shape, text in cases:
            error = error_of(call, QueueUrl=url, Entries=entries)
            assert (error["Code"], error["QueryErrorCode"], error["Message"], error["Status"]) == (
                legacy + shape, shape, text, 400,
            ), (call, entries)  # fmt: skip
        longest = call(QueueUrl=url, Entries=[entry("A-z_0-9" + "x" * 73)])
        assert [e["Id"] for e in longest["Successful"]] == ["A-z_0-9" + "x" * 73]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    assert left == {names[0]: "1", names[1]: "0"}  # the one good send; refused batches: none


def test_batch_payload_is_limited_to_the_maximum_message_size(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="batch-long")["QueueUrl"]
    attribute = {"k": {"DataType": "String", "StringValue": "v"}}  # 1 + 6 + 1 bytes
    half = 524_288
    entries = [
        {"Id": "a", "MessageBody": "é" * (half // 2)},  # 2 bytes a character
        {"Id": "b", "MessageBody": "x" * (half - 8), "MessageAttributes": attribute},
    ]
    exactly = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(exactly["Successful"]) == 2 and not exactly.get("Failed")
    entries[1]["MessageBody"] += "x"
    error = error_of(sqs.send_message_batch, QueueUrl=url, Entries=entries)
    assert error["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert error["QueryErrorCode"] == "BatchRequestTooLong" and error["Status"] == 400
    assert error["Message"] == (
        "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    )
    depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "2"  # the refused batch: none


def test_batch_entry_failures_leave_the_other_entries(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="batch-partial", Attributes={"MaximumMessageSize": "1024"})[
        "QueueUrl"
    ]
    blank = {"k": {"DataType": "String", "StringValue": ""}}
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok1", "MessageBody": "one"},
        {"Id": "big", "MessageBody": "x" * 1025},
        {"Id": "blank", "MessageBody": "x", "MessageAttributes": blank},
        {"Id": "late", "MessageBody": "x", "DelaySeconds": 901},
        {"Id": "ok2", "MessageBody": "two"},
    ])  # fmt: skip
    assert [e["Id"] for e in sent["Successful"]] == ["ok1", "ok2"]
    failed = {f["Id"]: f for f in sent["Failed"]}
    assert set(failed) == {"big", "blank", "late"}
    assert all(f["SenderFault"] is True and f["Code"] == "InvalidParameterValue"
               for f in failed.values())  # fmt: skip
    assert failed["big"]["Message"] == (
        "One or more parameters cannot be validated. Reason: Message must be shorter than "
        "1024 bytes."
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
    handles = {m["Body"]: m["ReceiptHandle"] for m in got["Messages"]}
    assert set(handles) == {"one", "two"}
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "good", "ReceiptHandle": handles["one"], "VisibilityTimeout": 0},
        {"Id": "junk", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0},
        {"Id": "range", "ReceiptHandle": handles["two"], "VisibilityTimeout": 43_201},
    ])  # fmt: skip
    assert [e["Id"] for e in changed["Successful"]] == ["good"]
    bad = {f["Id"]: f for f in changed["Failed"]}
    assert bad["junk"]["Code"] == "ReceiptHandleIsInvalid" and bad["junk"]["SenderFault"] is True
    assert (
        bad["junk"]["Message"]
        == 'The input receipt handle "not-a-handle" is not a valid receipt handle.'
    )
    assert bad["range"]["Code"] == "InvalidParameterValue" and bad["range"]["SenderFault"] is True
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert again["Body"] == "one"  # made visible by its entry; "two" still in flight
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "d1", "ReceiptHandle": again["ReceiptHandle"]},
        {"Id": "junk", "ReceiptHandle": "not-a-handle"},
        {"Id": "d2", "ReceiptHandle": handles["two"]},
    ])  # fmt: skip
    assert sorted(e["Id"] for e in deleted["Successful"]) == ["d1", "d2"]
    [junk] = deleted["Failed"]
    assert junk["Id"] == "junk" and junk["SenderFault"] is True
    assert junk["Code"] == "ReceiptHandleIsInvalid"
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    assert left == {name: "0" for name in names}


def test_fifo_send_parameters_single_and_batch(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fifo-sends.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    group = "The request must contain the parameter MessageGroupId."
    dedup = (
        "The queue should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly"
    )
    delay = (
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter "
        "that is not valid for this queue type."
    )
    ids = {"MessageGroupId": "g", "MessageDeduplicationId": "d"}
    cases: list[tuple[dict[str, Any], str, str, str]] = [  # params, single code, batch code, text
        ({"MessageDeduplicationId": "d"}, "MissingParameter", "InvalidParameterValue", group),
        ({"MessageGroupId": "g"}, "InvalidParameterValue", "InvalidParameterValue", dedup),
        ({**ids, "DelaySeconds": 2}, "InvalidParameterValue", "InvalidParameterValue", delay),
    ]
    for params, single_code, batch_code, text in cases:
        error = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", **params)
        assert (error["Code"], error["Message"], error["Status"]) == (single_code, text, 400)
        result = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "bad", "MessageBody": "x", **params},
            {"Id": "good", "MessageBody": "y", "MessageGroupId": "g",
             "MessageDeduplicationId": f"ok-{len(text)}"},
        ])  # fmt: skip
        assert [e["Id"] for e in result["Successful"]] == ["good"]
        assert result["Failed"] == [
            {"Id": "bad", "SenderFault": True, "Code": batch_code, "Message": text}
        ]
    zero = sqs.send_message(QueueUrl=url, MessageBody="z", DelaySeconds=0, **ids)  # allowed
    assert zero["SequenceNumber"]
    content = sqs.create_queue(
        QueueName="fifo-content.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "5"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=content, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=content, MessageBody="same", MessageGroupId="g")  # a duplicate
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    depth = sqs.get_queue_attributes(QueueUrl=content, AttributeNames=names)["Attributes"]
    assert depth == {names[0]: "0", names[1]: "1"}  # the queue's own delay applies to FIFO


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def test_redrive_moves_on_the_receive_after_max_receive_count(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="redrive-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": 2})
    source = sqs.create_queue(QueueName="redrive-src", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-redrive"}}
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison", MessageAttributes=ATTRS,
                            MessageSystemAttributes=trace)  # fmt: skip
    first = None
    for count in ("1", "2"):  # VisibilityTimeout=0: each receive fails at once
        [message] = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0,
                                        AttributeNames=["All"])["Messages"]  # fmt: skip
        assert message["Attributes"]["ApproximateReceiveCount"] == count
        assert "DeadLetterQueueSourceArn" not in message["Attributes"]
        first = first or message["Attributes"]
    assert first is not None

    def depth(url: str) -> tuple[int, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return int(found[names[0]]), int(found[names[1]])

    assert depth(dlq) == (0, 0)  # received maxReceiveCount times: still in the source
    assert "Messages" not in sqs.receive_message(QueueUrl=source)  # this attempt moves it
    assert (depth(source), depth(dlq)) == ((0, 0), (1, 0))
    [moved] = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0, AttributeNames=["All"],
                                  MessageAttributeNames=["All"])["Messages"]  # fmt: skip
    assert (moved["MessageId"], moved["Body"]) == (sent["MessageId"], "poison")
    assert moved["MessageAttributes"] == ATTRS
    assert moved["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    attributes = moved["Attributes"]
    assert attributes["DeadLetterQueueSourceArn"] == queue_arn(sqs, source)
    assert attributes["ApproximateReceiveCount"] == "3"  # AWS keeps counting across queues
    for kept in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
        assert attributes[kept] == first[kept], kept
    assert attributes["AWSTraceHeader"] == "Root=1-redrive"
    [again] = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0,
                                  MessageSystemAttributeNames=["DeadLetterQueueSourceArn"]
                                  )["Messages"]  # fmt: skip
    assert again["Attributes"] == {"DeadLetterQueueSourceArn": queue_arn(sqs, source)}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    assert sqs.list_dead_letter_source_queues(QueueUrl=source)["queueUrls"] == []
