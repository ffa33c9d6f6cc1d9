"""Random EventBridge calls through boto3, mostly invalid: the server never answers 5xx.

Client-side validation is off, so whatever hypothesis draws reaches the server: odd
patterns, schedules, entries with missing or malformed members, unknown buses, wrong
types. Each call must succeed or fail with a 4xx and an error code."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COUNTER = itertools.count()
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                         st.floats(allow_nan=False), st.text(max_size=8))  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
operators = st.sampled_from([
    {"prefix": "a"}, {"suffix": 1}, {"anything-but": ["x", None]}, {"numeric": [">", 0, "<"]},
    {"exists": True}, {"cidr": "10.0.0.0/8"}, {"wildcard": "a*b"}, {"equals-ignore-case": "X"},
    {"EXISTS": True},
])  # fmt: skip
pattern_values = st.one_of(
    st.lists(st.one_of(json_scalars, operators), max_size=3), json_scalars, operators
)
patterns = st.one_of(
    st.dictionaries(
        st.sampled_from(["source", "detail-type", "detail", "account", "$or"]),
        st.one_of(pattern_values, st.dictionaries(st.text(max_size=4), pattern_values, max_size=2)),
        max_size=3,
    ).map(json.dumps),
    st.text(max_size=20),
)
schedules = st.one_of(
    st.sampled_from(["rate(5 minutes)", "rate(1 minutes)", "cron(0 12 * * ? *)", "cron(x)"]),
    st.text(max_size=12),
)
names = st.one_of(st.from_regex(r"[a-z0-9._-]{1,8}", fullmatch=True), st.text(max_size=70))
strings = st.one_of(st.none(), st.text(max_size=20), st.integers(), st.lists(st.text(max_size=3)))
details = st.one_of(st.none(), json_values.map(json.dumps), st.text(max_size=12), st.integers())


def put_rule(events: Any, data: st.DataObject) -> None:
    params: dict[str, Any] = {"Name": data.draw(names)}
    for member, values in (("EventPattern", patterns), ("ScheduleExpression", schedules),
                           ("State", st.sampled_from(["ENABLED", "DISABLED", "OFF"])),
                           ("EventBusName", st.sampled_from(["default", "fuzz", "nope"])),
                           ("Description", strings)):  # fmt: skip
        if data.draw(st.booleans()):
            params[member] = data.draw(values)
    events.put_rule(**params)


def put_events(events: Any, data: st.DataObject) -> None:
    entry = st.fixed_dictionaries({}, optional={
        "Source": strings, "DetailType": strings, "Detail": details,
        "Resources": st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
        "EventBusName": st.sampled_from(["default", "fuzz", "nope", BUS_ARN + "fuzz", ""]),
        "Time": st.integers(-(2**35), 2**35),
    })  # fmt: skip
    events.put_events(Entries=data.draw(st.lists(entry, min_size=0, max_size=12)))


def put_targets(events: Any, data: st.DataObject) -> None:
    target = st.fixed_dictionaries({"Id": names, "Arn": st.sampled_from([
        "arn:aws:sqs:us-east-1:000000000000:fuzz-q", "arn:aws:sqs:us-east-1:000000000000:q.fifo",
        "arn:aws:lambda:us-east-1:000000000000:function:f", BUS_ARN + "fuzz", "arn:aws:sns:x:y:z",
        "nope", ""])}, optional={
        "Input": strings, "InputPath": st.sampled_from(["$.detail", "$..x", "nope", ""]),
        "InputTransformer": st.fixed_dictionaries({"InputTemplate": strings}, optional={
            "InputPathsMap": st.dictionaries(st.text(max_size=4), st.text(max_size=6), max_size=2)}),
        "RetryPolicy": st.fixed_dictionaries({}, optional={
            "MaximumRetryAttempts": st.integers(-1, 200),
            "MaximumEventAgeInSeconds": st.integers(0, 90_000)}),
        "DeadLetterConfig": st.fixed_dictionaries({"Arn": strings}),
        "SqsParameters": st.fixed_dictionaries({}, optional={"MessageGroupId": strings}),
    })  # fmt: skip
    events.put_targets(Rule=data.draw(st.sampled_from(["fuzz-rule", "nope"])),
                       Targets=data.draw(st.lists(target, max_size=7)))  # fmt: skip


def check_pattern(events: Any, data: st.DataObject) -> None:
    events.test_event_pattern(EventPattern=data.draw(patterns), Event=data.draw(details))


BUS_ARN = "arn:aws:events:us-east-1:000000000000:event-bus/"
ACTIONS = [put_rule, put_events, put_targets, check_pattern]


@pytest.fixture(scope="module")
def fuzz_client(nimbus_server: Any) -> Any:
    client = nimbus_server.client("events", parameter_validation=False)
    client.create_event_bus(Name="fuzz")
    client.put_rule(Name="fuzz-rule", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    return client


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_calls_never_get_a_5xx(fuzz_client: Any, data: st.DataObject) -> None:
    next(COUNTER)
    for action in data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=6)):
        try:
            action(fuzz_client, data)
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            assert 400 <= status < 500 and error.response["Error"]["Code"], error.response
