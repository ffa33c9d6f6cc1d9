"""EventBridge archives and replays through boto3 against a real server: counts, AWS's
error texts, replays to a rule's queue (with replay-name, FilterArns), cancel, and a
replay killed with SIGKILL that resumes and delivers every event exactly once.

Event times are computed from the server's clock (whole seconds, as envelopes carry
them), never from today's date; every wait is a long poll on a queue, never a sleep.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import NimbusServer, running_server, start, stop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ACCOUNT, REGION = "000000000000", "us-east-1"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/"
ARCHIVE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:archive/"
APP = json.dumps({"source": ["my.app"]})
SLOW = {  # replays of a batch of 2 events every 0.1 s: a replay of 40 takes ~2 s
    "NIMBUS_EVENTS_REPLAY_BATCH_SIZE": "2",
    "NIMBUS_EVENTS_REPLAY_BATCH_INTERVAL_SECONDS": "0.1",
}


# Names in these tests have capitals: the fuzz test below (same server, any order) draws
# lower-case names, so it never takes one of theirs.
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    env = {"NIMBUS_EVENTS_RETRY_BASE_DELAY_SECONDS": "0.05"}
    with running_server(tmp_path_factory.mktemp("archives") / "data", env) as running:
        yield running


@pytest.fixture(scope="module")
def loose_client(server: NimbusServer) -> Any:
    """No client-side validation: whatever hypothesis draws reaches the server."""
    return server.client("events", parameter_validation=False)


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def receive(sqs: Any, url: str, want: int, wait: int = 2) -> list[dict[str, Any]]:
    """Long-poll until `want` bodies arrived (each message deleted); the decoded bodies."""
    bodies: list[dict[str, Any]] = []
    for _ in range(20):
        if len(bodies) >= want:
            break
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait)
        for message in reply.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def nothing_more(sqs: Any, url: str) -> bool:
    return "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)


def until_state(events: Any, name: str, state: str, sqs: Any, probe: str) -> dict[str, Any]:
    """DescribeReplay until `state`, a one-second long poll on an empty queue between."""
    for _ in range(30):
        described: dict[str, Any] = events.describe_replay(ReplayName=name)
        if described["State"] == state:
            return described
        assert nothing_more(sqs, probe)
    raise AssertionError(f"replay {name} stayed {described['State']}")


def error_of(call: Any, **params: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status, response["Error"]["Code"], response["Error"]["Message"]


def put(events: Any, bus: str, times: list[int], source: str = "my.app") -> list[str]:
    """One event per time (epoch seconds) on `bus`, its index in `detail`; their ids."""
    ids: list[str] = []
    for n, when in enumerate(times):
        entry = {"Source": source, "DetailType": "thing", "Detail": json.dumps({"n": n}),
                 "EventBusName": bus, "Time": at(when)}  # fmt: skip
        (result,) = events.put_events(Entries=[entry])["Entries"]
        ids.append(result["EventId"])
    return ids


def rule_to(events: Any, name: str, bus: str, arn: str, **target: Any) -> str:
    rule_arn: str = events.put_rule(Name=name, EventBusName=bus, EventPattern=APP)["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn, **target}])
    return rule_arn


def test_archives_count_what_they_keep_and_answer_aws_errors(server: NimbusServer) -> None:
    events = server.client("events")
    events.create_event_bus(Name="arc-bus")
    made = events.create_archive(ArchiveName="Apps", EventSourceArn=BUS_ARN + "arc-bus",
                                 EventPattern=APP, Description="d", RetentionDays=7)  # fmt: skip
    assert made["ArchiveArn"] == ARCHIVE_ARN + "Apps" and made["State"] == "ENABLED"
    base = int(server.now()) - 3600
    put(events, "arc-bus", [base, base + 1, base + 2])
    put(events, "arc-bus", [base, base + 1], source="other.app")
    described = events.describe_archive(ArchiveName="Apps")
    assert described["EventCount"] == 3 and described["SizeBytes"] > 0
    assert json.loads(described["EventPattern"]) == {"source": ["my.app"]}
    assert described["RetentionDays"] == 7 and described["Description"] == "d"
    assert described["EventSourceArn"] == BUS_ARN + "arc-bus"
    listed = events.list_archives(NamePrefix="App", EventSourceArn=BUS_ARN + "arc-bus",
                                  State="ENABLED")["Archives"]  # fmt: skip
    assert [(a["ArchiveName"], a["EventCount"]) for a in listed] == [("Apps", 3)]
    assert events.list_archives(NamePrefix="nope")["Archives"] == []
    events.update_archive(ArchiveName="Apps", RetentionDays=0)
    assert events.describe_archive(ArchiveName="Apps")["RetentionDays"] == 0
    create = events.create_archive
    assert error_of(create, ArchiveName="Apps", EventSourceArn=BUS_ARN + "arc-bus") == (
        400, "ResourceAlreadyExistsException", "Archive Apps already exists.")  # fmt: skip
    assert error_of(create, ArchiveName="x", EventSourceArn=BUS_ARN + "nope") == (
        400, "ResourceNotFoundException", "Event bus nope does not exist.")  # fmt: skip
    bad_pattern = (400, "InvalidEventPatternException",
                   "Event pattern is not valid. Reason: Filter is not an object")  # fmt: skip
    assert error_of(create, ArchiveName="x", EventSourceArn=BUS_ARN + "arc-bus",
                    EventPattern='["a"]') == bad_pattern  # fmt: skip
    assert error_of(create, ArchiveName="bad name!", EventSourceArn=BUS_ARN + "arc-bus")[:2] == (
        400, "ValidationException")  # fmt: skip
    assert error_of(events.update_archive, ArchiveName="Apps") == (
        400, "ValidationException",
        "At least one of EventPattern, RetentionDays or Description must be provided.")  # fmt: skip
    for call in (events.describe_archive, events.delete_archive, events.update_archive):
        params: dict[str, Any] = {"Description": "x"} if call == events.update_archive else {}
        assert error_of(call, ArchiveName="Gone", **params) == (
            400, "ResourceNotFoundException", "Archive Gone does not exist.")  # fmt: skip
    assert error_of(events.list_archives, EventSourceArn=BUS_ARN + "nope")[1] == (
        "ResourceNotFoundException")  # fmt: skip
    events.delete_archive(ArchiveName="Apps")
    assert events.list_archives(NamePrefix="Apps")["Archives"] == []


def test_a_replay_sends_the_window_to_the_rules_queue_with_replay_name(
    server: NimbusServer,
) -> None:
    events, sqs = server.client("events"), server.client("sqs")
    events.create_event_bus(Name="replay-bus")
    archive = events.create_archive(ArchiveName="Replayed", EventSourceArn=BUS_ARN + "replay-bus",
                                    EventPattern=APP)["ArchiveArn"]  # fmt: skip
    base = int(server.now()) - 3600
    ids = put(events, "replay-bus", [base, base + 60, base + 120, base + 600])
    put(events, "replay-bus", [base + 30], source="other.app")
    first_url, first = queue(sqs, "replay-first")
    second_url, second = queue(sqs, "replay-second")
    _, probe = queue(sqs, "replay-probe")
    rule_to(events, "first", "replay-bus", first)
    second_rule = rule_to(events, "second", "replay-bus", second)
    window = {"EventSourceArn": archive, "EventStartTime": at(base),
              "EventEndTime": at(base + 300)}  # fmt: skip
    started = events.start_replay(ReplayName="All-rules", **window,
                                  Destination={"Arn": BUS_ARN + "replay-bus"})  # fmt: skip
    assert started["State"] == "STARTING" and started["ReplayArn"].endswith(":replay/All-rules")
    for url in (first_url, second_url):
        bodies = receive(sqs, url, 3)
        assert sorted(b["id"] for b in bodies) == sorted(ids[:3])  # not the one at +600
        assert {b["replay-name"] for b in bodies} == {"All-rules"}
        assert nothing_more(sqs, url)
    done = until_state(events, "All-rules", "COMPLETED", sqs, probe)
    assert done["EventLastReplayedTime"] == at(base + 120)
    assert done["ReplayEndTime"] >= done["ReplayStartTime"]
    assert done["Destination"] == {"Arn": BUS_ARN + "replay-bus"}
    events.start_replay(ReplayName="One-rule", **window,
                        Destination={"Arn": BUS_ARN + "replay-bus", "FilterArns": [second_rule]})  # fmt: skip
    assert len(receive(sqs, second_url, 3)) == 3
    assert nothing_more(sqs, first_url)
    until_state(events, "One-rule", "COMPLETED", sqs, probe)
    assert events.describe_archive(ArchiveName="Replayed")["EventCount"] == 4  # not re-archived
    listed = events.list_replays(NamePrefix="One", State="COMPLETED", EventSourceArn=archive)
    assert [r["ReplayName"] for r in listed["Replays"]] == ["One-rule"]


def test_replay_errors_are_aws_texts(server: NimbusServer) -> None:
    events = server.client("events")
    events.create_event_bus(Name="err-bus")
    archive = events.create_archive(ArchiveName="Err-archive",
                                    EventSourceArn=BUS_ARN + "err-bus")["ArchiveArn"]  # fmt: skip
    now = server.now()
    ok = {"EventSourceArn": archive, "EventStartTime": at(now - 60), "EventEndTime": at(now),
          "Destination": {"Arn": BUS_ARN + "err-bus"}}  # fmt: skip
    start_replay = events.start_replay
    assert error_of(start_replay, ReplayName="R1", **{**ok, "EventSourceArn": ARCHIVE_ARN + "no"}) == (
        400, "ValidationException",
        "Parameter EventSourceArn is not valid. Reason: Archive no does not exist.")  # fmt: skip
    assert error_of(start_replay, ReplayName="R1", **{**ok, "EventEndTime": at(now - 60)}) == (
        400, "ValidationException",
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")  # fmt: skip
    cross = (400, "ValidationException", "Parameter Destination.Arn is not valid. "
             "Reason: Cross event bus replay is not permitted.")  # fmt: skip
    to_default = {**ok, "Destination": {"Arn": BUS_ARN + "default"}}
    assert error_of(start_replay, ReplayName="R1", **to_default) == cross
    to_gone = {**ok, "Destination": {"Arn": BUS_ARN + "gone"}}
    assert error_of(start_replay, ReplayName="R1", **to_gone) == (
        400, "ResourceNotFoundException", "Event bus gone does not exist.")  # fmt: skip
    events.start_replay(ReplayName="R1", **ok)
    assert error_of(start_replay, ReplayName="R1", **ok) == (
        400, "ResourceAlreadyExistsException", "Replay R1 already exists.")  # fmt: skip
    for call in (events.describe_replay, events.cancel_replay):
        assert error_of(call, ReplayName="Gone") == (
            400, "ResourceNotFoundException", "Replay Gone does not exist.")  # fmt: skip
    sqs = server.client("sqs")
    _, probe = queue(sqs, "err-probe")
    until_state(events, "R1", "COMPLETED", sqs, probe)
    status, code, _ = error_of(events.cancel_replay, ReplayName="R1")
    assert (status, code) == (400, "IllegalStatusException")


def test_a_replay_killed_mid_way_resumes_and_delivers_each_event_once(tmp_path: Path) -> None:
    """A FIFO target: its deduplication id (the replayed event's key) absorbs the one
    redelivery the dispatcher may make (sent, row not yet deleted); the replay's cursor,
    committed with the rows of its batch, is what keeps the rest from repeating."""
    data = tmp_path / "data"
    first = start(data, SLOW)
    try:
        events, sqs = first.client("events"), first.client("sqs")
        archive = events.create_archive(ArchiveName="long",
                                        EventSourceArn=BUS_ARN + "default")["ArchiveArn"]  # fmt: skip
        base = int(first.now()) - 3600
        ids = put(events, "default", [base + n for n in range(40)])
        url, arn = queue(sqs, "long-replay.fifo", FifoQueue="true")
        rule = rule_to(events, "long", "default", arn, SqsParameters={"MessageGroupId": "replay"})
        window = {"EventSourceArn": archive, "EventStartTime": at(base),
                  "EventEndTime": at(base + 40), "Destination": {"Arn": BUS_ARN + "default"}}  # fmt: skip
        events.start_replay(ReplayName="long", **window)
        nowhere = {"Arn": BUS_ARN + "default", "FilterArns": [rule + "-absent"]}
        events.start_replay(ReplayName="cancelled", **{**window, "Destination": nowhere})
        assert events.cancel_replay(ReplayName="cancelled")["State"] == "CANCELLING"
        before = receive(sqs, url, 6)
        assert events.describe_replay(ReplayName="long")["State"] == "RUNNING"
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait()
    finally:
        stop(first)
    with running_server(data, SLOW) as second:
        events, sqs = second.client("events"), second.client("sqs")
        after = receive(sqs, url, 40 - len(before))
        assert nothing_more(sqs, url)
        _, probe = queue(sqs, "long-probe")
        until_state(events, "long", "COMPLETED", sqs, probe)
        assert events.describe_replay(ReplayName="cancelled")["State"] == "CANCELLED"
    delivered = [body["id"] for body in before + after]
    assert sorted(delivered) == sorted(ids)  # every event, none twice
    assert [body["detail"]["n"] for body in before + after] == list(range(40))  # in order


names = st.one_of(st.from_regex(r"[a-z0-9._-]{1,8}", fullmatch=True), st.text(max_size=70))
arns = st.one_of(st.sampled_from([BUS_ARN + "default", BUS_ARN + "nope", ARCHIVE_ARN + "fz",
                                  ARCHIVE_ARN + "nope", "arn:aws:events:x:1:rule/r", "", "nope"]),
                 st.text(max_size=20))  # fmt: skip
loose = st.one_of(st.none(), st.text(max_size=12), st.integers(-(2**40), 2**40), st.booleans())
# what botocore can serialize as a timestamp (it refuses text it cannot parse, and years
# past 9999) is what reaches the server
times = st.one_of(st.integers(-(2**34), 2**37), st.floats(-1e10, 1e11))


def fuzz_archive(events: Any, data: st.DataObject) -> None:
    params: dict[str, Any] = {"ArchiveName": data.draw(names)}
    for member, values in (("EventSourceArn", arns), ("RetentionDays", loose),
                           ("EventPattern", st.one_of(loose, st.just(APP))),
                           ("Description", loose)):  # fmt: skip
        if data.draw(st.booleans()):
            params[member] = data.draw(values)
    call = data.draw(st.sampled_from(["create", "update", "describe", "delete"]))
    if call == "create":
        events.create_archive(**params)
    elif call == "update":
        params.pop("EventSourceArn", None)
        events.update_archive(**params)
    else:
        getattr(events, f"{call}_archive")(ArchiveName=params["ArchiveName"])


def fuzz_replay(events: Any, data: st.DataObject) -> None:
    destination = st.fixed_dictionaries({"Arn": arns}, optional={"FilterArns": st.lists(arns)})
    params: dict[str, Any] = {"ReplayName": data.draw(names)}
    for member, values in (("EventSourceArn", arns), ("EventStartTime", times),
                           ("EventEndTime", times), ("Destination", destination)):  # fmt: skip
        if data.draw(st.booleans()):
            params[member] = data.draw(values)
    call = data.draw(st.sampled_from(["start", "describe", "cancel", "list"]))
    if call == "start":
        events.start_replay(**params)
    elif call == "list":
        events.list_replays(State=data.draw(loose), NamePrefix=data.draw(names))
    else:
        getattr(events, f"{call}_replay")(ReplayName=params["ReplayName"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_archive_and_replay_calls_never_get_a_5xx(
    loose_client: Any, data: st.DataObject
) -> None:
    events = loose_client
    for action in data.draw(st.lists(st.sampled_from([fuzz_archive, fuzz_replay]), min_size=1,
                                     max_size=5)):  # fmt: skip
        try:
            action(events, data)
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            assert 400 <= status < 500 and error.response["Error"]["Code"], error.response
