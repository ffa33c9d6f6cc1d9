"""EventBridge through boto3 against a real server: buses, rules, targets, PutEvents, and
events reaching queues, functions and other buses, retried into a dead-letter queue and
kept through kill -9. Every wait is a long poll on a queue, never a sleep."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import NimbusServer, running_server, start, stop

from nimbus.packaging import build_package

ROLE = "arn:aws:iam::000000000000:role/test"
BUS_ARN = "arn:aws:events:us-east-1:000000000000:event-bus/"
FORWARD = """
import boto3, json, os
sqs = boto3.client("sqs")

def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    env = {"NIMBUS_EVENTS_RETRY_BASE_DELAY_SECONDS": "0.05"}
    with running_server(tmp_path_factory.mktemp("events") / "data", env) as running:
        yield running


def queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def receive(sqs: Any, url: str, want: int = 1) -> list[dict[str, Any]]:
    """Long-poll until `want` messages arrived; each is deleted once received."""
    messages: list[dict[str, Any]] = []
    for _ in range(15):
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                    MessageAttributeNames=["All"])  # fmt: skip
        for message in reply.get("Messages", []):
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(messages) >= want:
            break
    return messages


def error_of(call: Any, **params: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status, response["Error"]["Code"], response["Error"]["Message"]


def event(source: str = "my.app", detail: Any = None, **extra: Any) -> dict[str, Any]:
    body = json.dumps({"n": 1} if detail is None else detail)
    return {"Source": source, "DetailType": "thing", "Detail": body, **extra}


def test_buses_crud_and_errors(server: NimbusServer) -> None:
    events = server.client("events")
    arn = events.create_event_bus(Name="orders", Description="o")["EventBusArn"]
    assert arn == BUS_ARN + "orders"
    described = events.describe_event_bus(Name="orders")
    assert described["Arn"] == arn and described["Description"] == "o"
    assert events.describe_event_bus()["Name"] == "default"
    assert error_of(events.create_event_bus, Name="orders") == (
        400, "ResourceAlreadyExistsException", "Event bus orders already exists.")  # fmt: skip
    assert error_of(events.describe_event_bus, Name="nope") == (
        400, "ResourceNotFoundException", "Event bus nope does not exist.")  # fmt: skip
    assert error_of(events.delete_event_bus, Name="default") == (
        400, "ValidationException", "Cannot delete event bus default.")  # fmt: skip
    events.create_event_bus(Name="orders-2")
    first = events.list_event_buses(NamePrefix="orders", Limit=1)
    assert [b["Name"] for b in first["EventBuses"]] == ["orders"]
    rest = events.list_event_buses(NamePrefix="orders", NextToken=first["NextToken"])
    assert [b["Name"] for b in rest["EventBuses"]] == ["orders-2"] and "NextToken" not in rest
    events.delete_event_bus(Name="orders-2")
    assert "orders-2" not in [b["Name"] for b in events.list_event_buses()["EventBuses"]]


def test_rules_and_targets_crud_and_errors(server: NimbusServer) -> None:
    events, sqs = server.client("events"), server.client("sqs")
    _, arn = queue(sqs, "crud-target")
    pattern = json.dumps({"source": ["my.app"]})
    rule_arn = events.put_rule(Name="crud", EventPattern=pattern, Description="d")["RuleArn"]
    assert rule_arn == "arn:aws:events:us-east-1:000000000000:rule/crud"
    described = events.describe_rule(Name="crud")
    assert (described["EventPattern"], described["State"], described["Description"]) == (
        pattern, "ENABLED", "d")  # fmt: skip
    events.disable_rule(Name="crud")
    assert events.list_rules(NamePrefix="crud")["Rules"][0]["State"] == "DISABLED"
    events.enable_rule(Name="crud")
    status, code, message = error_of(events.put_rule, Name="bad", EventPattern='{"a": 1}')
    assert (status, code) == (400, "InvalidEventPatternException")
    assert (
        message.splitlines()[0]
        == 'Event pattern is not valid. Reason: "a" must be an object or an array'
    )
    assert error_of(events.describe_rule, Name="nope") == (
        400, "ResourceNotFoundException", "Rule nope does not exist on EventBus default.")  # fmt: skip
    assert error_of(events.put_rule, Name="s", ScheduleExpression="rate(1 minutes)")[1:] == (
        "ValidationException", "Parameter ScheduleExpression is not valid.")  # fmt: skip
    targets = [{"Id": f"t{i}", "Arn": arn} for i in range(5)]
    assert events.put_targets(Rule="crud", Targets=targets)["FailedEntryCount"] == 0
    assert error_of(events.put_targets, Rule="crud", Targets=[{"Id": "t9", "Arn": arn}]) == (
        400, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")  # fmt: skip
    assert error_of(events.put_targets, Rule="crud", Targets=[{"Id": "!@#$@!#$", "Arn": arn}]) == (
        400, "ValidationException",
        "1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
    )  # fmt: skip
    _, code, message = error_of(
        events.put_targets, Rule="crud", Targets=[{"Id": "x" * 65, "Arn": arn}]
    )
    assert code == "ValidationException" and message.endswith(
        "Member must have length less than or equal to 64"
    )
    assert error_of(events.delete_rule, Name="crud") == (
        400, "ValidationException", "Rule can't be deleted since it has targets.")  # fmt: skip
    assert error_of(events.put_targets, Rule="crud", Targets=[
        {"Id": "t0", "Arn": arn, "Input": "{}", "InputPath": "$.detail"}])[2] == (
        "Only one of Input, InputPath, or InputTransformer must be provided for target t0.")  # fmt: skip
    listed = events.list_targets_by_rule(Rule="crud", Limit=2)
    assert [t["Id"] for t in listed["Targets"]] == ["t0", "t1"] and listed["NextToken"]
    assert events.list_rule_names_by_target(TargetArn=arn)["RuleNames"] == ["crud"]
    events.remove_targets(Rule="crud", Ids=[t["Id"] for t in targets])
    events.delete_rule(Name="crud")
    assert error_of(events.describe_rule, Name="crud")[1] == "ResourceNotFoundException"


def test_put_events_entry_and_request_errors(server: NimbusServer) -> None:
    events = server.client("events")
    reply = events.put_events(Entries=[
        event(), {"DetailType": "t", "Detail": "{}"}, event(detail=[1]),
    ])  # fmt: skip
    assert reply["FailedEntryCount"] == 2
    ok, missing, malformed = reply["Entries"]
    assert set(ok) == {"EventId"}
    assert missing == {"ErrorCode": "InvalidArgument", "ErrorMessage":
                       "Parameter Source is not valid. Reason: Source is a required argument."}  # fmt: skip
    assert malformed == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    status, code, message = error_of(events.put_events, Entries=[event()] * 11)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("1 validation error detected: Value ")
    assert message.endswith(
        "at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"
    )
    assert error_of(events.put_events, Entries=[event(detail={"x": "y" * 262_144})]) == (
        400, "ValidationException", "Total size of the entries in the request is over the limit.")  # fmt: skip
    assert error_of(events.put_events, Entries=[event(EventBusName="nope")]) == (
        400, "ResourceNotFoundException", "Event bus nope does not exist.")  # fmt: skip
    matched = events.test_event_pattern(EventPattern=json.dumps({"detail": {"n": [{"numeric": [">", 0]}]}}),
        Event=json.dumps({"id": "1", "account": "1", "source": "s", "time": "t", "region": "r",
                          "detail-type": "d", "detail": {"n": 2}}))  # fmt: skip
    assert matched["Result"] is True
    assert error_of(events.test_event_pattern, EventPattern='{"source": ["s"]}', Event="[]")[1:] == (
        "ValidationException", "Parameter Event is not valid.")  # fmt: skip


def test_an_event_reaches_queues_as_the_envelope_or_its_transformed_input(
    server: NimbusServer,
) -> None:
    events, sqs = server.client("events"), server.client("sqs")
    plain_url, plain = queue(sqs, "plain-target")
    shaped_url, shaped = queue(sqs, "shaped-target")
    fifo_url, fifo = queue(sqs, "ordered-target.fifo", FifoQueue="true")
    events.put_rule(Name="to-queues", EventPattern=json.dumps({"detail": {"kind": ["order"]}}))
    events.put_targets(Rule="to-queues", Targets=[
        {"Id": "plain", "Arn": plain},
        {"Id": "shaped", "Arn": shaped, "InputTransformer": {
            "InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '"order <id> placed"'}},
        {"Id": "fifo", "Arn": fifo, "SqsParameters": {"MessageGroupId": "orders"}},
    ])  # fmt: skip
    sent = events.put_events(Entries=[
        event(detail={"kind": "order", "id": "o-1"}, Resources=["arn:aws:s3:::b"]),
        event(detail={"kind": "refund"}),
    ])  # fmt: skip
    event_id = sent["Entries"][0]["EventId"]
    (message,) = receive(sqs, plain_url)
    envelope = json.loads(message["Body"])
    assert envelope["id"] == event_id and envelope["version"] == "0"
    assert envelope["source"] == "my.app" and envelope["detail-type"] == "thing"
    assert envelope["account"] == "000000000000" and envelope["region"] == "us-east-1"
    assert envelope["resources"] == ["arn:aws:s3:::b"]
    assert envelope["detail"] == {"kind": "order", "id": "o-1"}
    assert envelope["time"].endswith("Z") and len(envelope["time"]) == 20
    assert [m["Body"] for m in receive(sqs, shaped_url)] == ['"order o-1 placed"']
    assert [json.loads(m["Body"])["id"] for m in receive(sqs, fifo_url)] == [event_id]


def test_an_event_reaches_a_function_and_another_bus(server: NimbusServer) -> None:
    events, sqs, lam = server.client("events"), server.client("sqs"), server.client("lambda")
    url, _ = queue(sqs, "from-function")
    forwarded_url, forwarded = queue(sqs, "from-other-bus")
    function = lam.create_function(
        FunctionName="forward-event", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": build_package({"app.py": FORWARD})}, Timeout=30,
        Environment={"Variables": {"QUEUE_URL": url}},
    )["FunctionArn"]  # fmt: skip
    events.create_event_bus(Name="audit")
    pattern = json.dumps({"source": ["billing"]})
    events.put_rule(Name="billing", EventPattern=pattern)
    events.put_targets(Rule="billing", Targets=[
        {"Id": "fn", "Arn": function}, {"Id": "audit", "Arn": BUS_ARN + "audit"}])  # fmt: skip
    events.put_rule(Name="back", EventBusName="audit", EventPattern=pattern)
    events.put_targets(Rule="back", EventBusName="audit", Targets=[  # a cycle, never looped
        {"Id": "default", "Arn": BUS_ARN + "default"}, {"Id": "q", "Arn": forwarded}])  # fmt: skip
    event_id = events.put_events(Entries=[event("billing")])["Entries"][0]["EventId"]
    (invoked,) = receive(sqs, url)
    assert json.loads(invoked["Body"])["id"] == event_id
    (on_audit,) = receive(sqs, forwarded_url)
    assert json.loads(on_audit["Body"])["id"] == event_id
    # a cycle default -> audit -> default stops at default: the function ran once
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_failed_deliveries_end_in_the_dead_letter_queue(server: NimbusServer) -> None:
    events, sqs = server.client("events"), server.client("sqs")
    dlq_url, dlq = queue(sqs, "events-dlq")
    _, small = queue(sqs, "small-target", MaximumMessageSize="1024")
    gone_url, gone = queue(sqs, "gone-target")
    events.put_rule(Name="failing", EventPattern=json.dumps({"source": ["failing"]}))
    rule_arn = events.describe_rule(Name="failing")["Arn"]
    events.put_targets(Rule="failing", Targets=[
        {"Id": "small", "Arn": small, "DeadLetterConfig": {"Arn": dlq},
         "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}},
        {"Id": "gone", "Arn": gone, "DeadLetterConfig": {"Arn": dlq}},
    ])  # fmt: skip
    sqs.delete_queue(QueueUrl=gone_url)
    event_id = events.put_events(Entries=[event("failing", {"pad": "x" * 2000})])["Entries"][0][
        "EventId"
    ]
    dead = receive(sqs, dlq_url, want=2)
    by_target = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m for m in dead}
    assert set(by_target) == {small, gone}
    for message in dead:
        assert json.loads(message["Body"])["id"] == event_id
        assert message["MessageAttributes"]["RULE_ARN"]["StringValue"] == rule_arn
    retried = {k: v["StringValue"] for k, v in by_target[small]["MessageAttributes"].items()}
    assert retried["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert retried["RETRY_ATTEMPTS"] == "2" and retried["ERROR_CODE"] == "SDK_CLIENT_ERROR"
    assert "1024" in retried["ERROR_MESSAGE"]
    missing = {k: v["StringValue"] for k, v in by_target[gone]["MessageAttributes"].items()}
    assert missing["ERROR_CODE"] == "NO_RESOURCE" and missing["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in missing
    _, code, message = error_of(events.put_targets, Rule="failing", Targets=[
        {"Id": "f", "Arn": small, "DeadLetterConfig": {"Arn": dlq + ".fifo"}}])  # fmt: skip
    assert code == "ValidationException"


def test_an_accepted_event_survives_kill_9(tmp_path: Path) -> None:
    """The first attempt fails and is retried minutes later; the server is killed with the
    row pending, then restarted with its clock past the retry, when delivery succeeds."""
    data = tmp_path / "data"
    first = start(data)
    try:
        events, sqs = first.client("events"), first.client("sqs")
        url, arn = queue(sqs, "durable-target", MaximumMessageSize="1024")
        events.put_rule(Name="durable", EventPattern=json.dumps({"source": ["durable"]}))
        events.put_targets(Rule="durable", Targets=[{"Id": "q", "Arn": arn}])
        event_id = events.put_events(Entries=[event("durable", {"pad": "x" * 2000})])["Entries"][0][
            "EventId"
        ]
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait()
    finally:
        stop(first)
    with sqlite3.connect(data / "events.db") as db:
        assert db.execute("SELECT count(*) FROM deliveries").fetchone() == (1,)
    with running_server(data, {"NIMBUS_CLOCK_OFFSET_SECONDS": "900"}) as second:
        sqs = second.client("sqs")
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "262144"})
        (message,) = receive(sqs, url)
        assert json.loads(message["Body"])["id"] == event_id
