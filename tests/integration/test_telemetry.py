"""Logs, metrics and the bill of real invocations, read the way users read them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from nimbus.packaging import build_package

if TYPE_CHECKING:
    from conftest import NimbusServer

ROLE = "arn:aws:iam::000000000000:role/test"
CHATTY = (
    "import sys\n"
    "print('loaded at init')\n"
    "def handler(event, context):\n"
    "    print('hello from', event.get('who', 'nobody'))\n"
    "    print('a line with an ERROR in it', file=sys.stderr)\n"
    "    if event.get('fail'):\n"
    "        raise ValueError('boom')\n"
    "    return {'ok': True}\n"
)
STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def invoke(server: NimbusServer, name: str, event: dict[str, Any]) -> dict[str, Any]:
    reply = server.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    reply["Body"] = json.load(reply["Payload"])
    return reply


@pytest.fixture(scope="module")
def chatty(nimbus_server: NimbusServer) -> str:
    nimbus_server.client("lambda").create_function(
        FunctionName="chatty", Runtime="python3.11", Role=ROLE, MemorySize=256,
        Handler="lambda_function.handler",
        Code={"ZipFile": build_package({"lambda_function.py": CHATTY})},
    )  # fmt: skip
    for who in ("ada", "grace", "linus"):
        assert invoke(nimbus_server, "chatty", {"who": who})["StatusCode"] == 200
    assert invoke(nimbus_server, "chatty", {"fail": True})["FunctionError"] == "Unhandled"
    return "chatty"


def all_events(server: NimbusServer, **request: Any) -> list[dict[str, Any]]:
    logs = server.client("logs")
    pages = logs.get_paginator("filter_log_events").paginate(**request)
    return [event for page in pages for event in page["events"]]


def test_log_group_and_streams_are_lambdas(nimbus_server: NimbusServer, chatty: str) -> None:
    logs = nimbus_server.client("logs")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert "/aws/lambda/chatty" in [g["logGroupName"] for g in groups]
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/chatty")["logStreams"]
    assert streams and all(STREAM_NAME.match(s["logStreamName"]) for s in streams)


def test_each_invocation_logs_start_output_end_report(
    nimbus_server: NimbusServer, chatty: str
) -> None:
    messages = [e["message"] for e in all_events(nimbus_server, logGroupName="/aws/lambda/chatty")]
    starts = [m for m in messages if m.startswith("START RequestId: ")]
    reports = [m for m in messages if m.startswith("REPORT RequestId: ")]
    assert len(starts) == len(reports) == 4
    assert all(m.rstrip("\n").endswith("Version: $LATEST") for m in starts)
    assert "hello from grace\n" in messages
    fields = dict(f.split(": ", 1) for f in reports[0].strip("\t\n").split("\t")[1:])
    assert set(fields) >= {"Duration", "Billed Duration", "Memory Size", "Max Memory Used"}
    assert fields["Memory Size"] == "256 MB"
    assert "Init Duration" in fields  # the first invocation was a cold start
    assert "Init Duration" not in reports[1]
    used = int(fields["Max Memory Used"].removesuffix(" MB"))
    assert 5 <= used <= 256  # measured by the cgroup, not a constant
    duration = float(fields["Duration"].removesuffix(" ms"))
    init = float(fields["Init Duration"].removesuffix(" ms"))
    billed = int(fields["Billed Duration"].removesuffix(" ms"))
    # Billed Duration: init plus duration, rounded up to the millisecond (as billed since
    # 2025-08); the printed figures are themselves rounded to 0.01 ms.
    assert duration + init - 0.01 <= billed < duration + init + 1.01


def test_get_log_events_reads_a_stream_to_its_end(nimbus_server: NimbusServer, chatty: str) -> None:
    logs = nimbus_server.client("logs")
    stream = logs.describe_log_streams(
        logGroupName="/aws/lambda/chatty", orderBy="LastEventTime", descending=True
    )["logStreams"][0]["logStreamName"]
    request = {"logGroupName": "/aws/lambda/chatty", "logStreamName": stream, "startFromHead": True}
    page = logs.get_log_events(**request)
    events = list(page["events"])
    while True:
        following = logs.get_log_events(**request, nextToken=page["nextForwardToken"])
        events += following["events"]
        if following["nextForwardToken"] == page["nextForwardToken"]:
            break
        page = following
    assert events[0]["message"].startswith("START RequestId: ")
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_filter_patterns_terms_and_phrases(nimbus_server: NimbusServer, chatty: str) -> None:
    group = {"logGroupName": "/aws/lambda/chatty"}
    hits = all_events(nimbus_server, **group, filterPattern="hello ada")
    assert [e["message"] for e in hits] == ["hello from ada\n"]
    phrase = all_events(nimbus_server, **group, filterPattern='"with an ERROR"')
    assert len(phrase) == 4
    excluded = all_events(nimbus_server, **group, filterPattern="hello -ada")
    assert sorted(e["message"] for e in excluded) == [
        "hello from grace\n", "hello from linus\n", "hello from nobody\n",
    ]  # fmt: skip


def test_logs_api_errors_are_aws_errors(nimbus_server: NimbusServer, chatty: str) -> None:
    logs = nimbus_server.client("logs")
    with pytest.raises(ClientError) as missing:
        logs.filter_log_events(logGroupName="/aws/lambda/nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["Error"]["Message"] == "The specified log group does not exist."
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as bad:
        logs.filter_log_events(logGroupName="/aws/lambda/chatty", filterPattern='"unclosed')
    assert bad.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as stream:
        logs.get_log_events(logGroupName="/aws/lambda/chatty", logStreamName="no-such")
    assert stream.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as token:
        logs.filter_log_events(logGroupName="/aws/lambda/chatty", nextToken="garbage")
    assert token.value.response["Error"]["Code"] == "InvalidParameterException"


def test_put_log_events_and_retention(nimbus_server: NimbusServer) -> None:
    logs = nimbus_server.client("logs")
    logs.create_log_group(logGroupName="app/orders")
    with pytest.raises(ClientError) as again:
        logs.create_log_group(logGroupName="app/orders")
    assert again.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    logs.create_log_stream(logGroupName="app/orders", logStreamName="worker-1")
    now = int(nimbus_server.now() * 1000)
    logs.put_log_events(
        logGroupName="app/orders", logStreamName="worker-1",
        logEvents=[{"timestamp": now, "message": "order 1 placed"},
                   {"timestamp": now + 1, "message": "order 1 shipped"}],
    )  # fmt: skip
    assert [e["message"] for e in all_events(nimbus_server, logGroupName="app/orders")] == [
        "order 1 placed", "order 1 shipped",
    ]  # fmt: skip
    logs.put_retention_policy(logGroupName="app/orders", retentionInDays=7)
    group = logs.describe_log_groups(logGroupNamePrefix="app/")["logGroups"][0]
    assert group["retentionInDays"] == 7
    with pytest.raises(ClientError) as bad:
        logs.put_retention_policy(logGroupName="app/orders", retentionInDays=8)
    assert bad.value.response["Error"]["Code"] == "InvalidParameterException"


def test_aws_cli_reads_logs(nimbus_server: NimbusServer, chatty: str) -> None:
    env = {**nimbus_server.cli_env, "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
    base = ["--endpoint-url", nimbus_server.endpoint, "--output", "json"]
    cli = [sys.executable, "-m", "awscli", "logs", "filter-log-events", *base]
    done = subprocess.run(
        [*cli, "--log-group-name", "/aws/lambda/chatty", "--filter-pattern", "linus"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [e["message"] for e in json.loads(done.stdout)["events"]] == ["hello from linus\n"]


def test_prometheus_metrics(nimbus_server: NimbusServer, chatty: str) -> None:
    with urllib.request.urlopen(nimbus_server.endpoint + "/_nimbus/metrics", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = reply.read().decode()
    samples = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert float(samples['nimbus_function_invocations_total{function="chatty"}']) >= 4
    assert float(samples['nimbus_function_errors_total{function="chatty"}']) >= 1
    assert float(samples['nimbus_function_cold_starts_total{function="chatty"}']) >= 1
    assert 'nimbus_function_duration_seconds_bucket{function="chatty",le="+Inf"}' in samples


def test_throttles_are_counted_not_billed(nimbus_server: NimbusServer) -> None:
    lam = nimbus_server.client("lambda")
    lam.create_function(
        FunctionName="closed", Runtime="python3.11", Role=ROLE, Handler="lambda_function.handler",
        Code={"ZipFile": build_package({"lambda_function.py": "def handler(e, c):\n    return 1\n"})},
    )  # fmt: skip
    lam.put_function_concurrency(FunctionName="closed", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as throttled:
        lam.invoke(FunctionName="closed")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    with urllib.request.urlopen(
        nimbus_server.endpoint + "/_nimbus/metrics.json?function=closed&minutes=5", timeout=10
    ) as reply:
        minutes = json.load(reply)["functions"]["closed"]
    assert sum(m["throttles"] for m in minutes) == 1
    assert sum(m["invocations"] for m in minutes) == 0
    bill = json.load(urllib.request.urlopen(nimbus_server.endpoint + "/_nimbus/bill", timeout=10))
    assert "closed" not in json.dumps(bill)
