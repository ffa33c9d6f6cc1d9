"""`nimbus events put` and `nimbus rules` against a real server, checked through boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import NimbusServer

from nimbus.cli.events import tail_line
from nimbus.cli.main import cli


def run(server: NimbusServer, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=server.cli_env)


@pytest.fixture(scope="module")
def wired(nimbus_server: NimbusServer) -> dict[str, Any]:
    """A queue behind a rule on a custom bus, and a scheduled rule on the default bus."""
    sqs, events = nimbus_server.client("sqs"), nimbus_server.client("events")
    url = sqs.create_queue(QueueName="cli-events-sink")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.create_event_bus(Name="cli-orders")
    pattern = json.dumps({"source": ["cli.test"]})
    events.put_rule(Name="cli-to-queue", EventBusName="cli-orders", EventPattern=pattern)
    events.put_targets(
        Rule="cli-to-queue", EventBusName="cli-orders", Targets=[{"Id": "q", "Arn": arn}]
    )
    events.put_rule(Name="cli-nightly", ScheduleExpression="cron(0 3 * * ? *)", State="DISABLED")
    return {"sqs": sqs, "url": url, "pattern": pattern}


def test_put_delivers_to_the_rules_target_and_prints_the_event_id(
    nimbus_server: NimbusServer, wired: dict[str, Any]
) -> None:
    result = run(
        nimbus_server, "events", "put", "--bus", "cli-orders", "--source", "cli.test",
        "--detail-type", "Order Placed", "--detail", '{"id": 7}', "--resource", "arn:x:y",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    event_id = result.stdout.strip()
    reply = wired["sqs"].receive_message(QueueUrl=wired["url"], WaitTimeSeconds=20)
    event = json.loads(reply["Messages"][0]["Body"])
    assert event["id"] == event_id
    assert (event["source"], event["detail-type"]) == ("cli.test", "Order Placed")
    assert event["detail"] == {"id": 7}
    assert event["resources"] == ["arn:x:y"]


def test_put_reports_an_entry_error_on_one_line(
    nimbus_server: NimbusServer, wired: dict[str, Any]
) -> None:
    result = run(
        nimbus_server, "events", "put", "--source", "s", "--detail-type", "t", "--detail", "[1]"
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: MalformedDetail: Detail is malformed."


def test_put_on_an_unknown_bus_is_the_aws_error(nimbus_server: NimbusServer) -> None:
    result = run(
        nimbus_server, "events", "put", "--bus", "nope", "--source", "s", "--detail-type", "t"
    )
    assert result.exit_code == 1
    assert "ResourceNotFoundException: Event bus nope does not exist." in result.stderr


def test_rules_lists_state_pattern_schedule_and_targets(
    nimbus_server: NimbusServer, wired: dict[str, Any]
) -> None:
    result = run(nimbus_server, "rules", "--bus", "cli-orders", "--json")
    assert result.exit_code == 0, result.output
    [rule] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (rule["Name"], rule["State"]) == ("cli-to-queue", "ENABLED")
    assert json.loads(rule["EventPattern"]) == json.loads(wired["pattern"])
    assert [target["Id"] for target in rule["Targets"]] == ["q"]
    table = run(nimbus_server, "rules", "--prefix", "cli-")
    assert table.exit_code == 0, table.output
    assert "cli-nightly" in table.stdout and "DISABLED" in table.stdout
    assert "cron(0 3 * * ? *)" in table.stdout


def test_tail_shows_each_event_of_its_bus_with_the_rules_it_matched(
    nimbus_server: NimbusServer,
) -> None:
    """A second process tails a bus while this one puts events: the event that matches a
    rule names it, the other names none; another bus's event is not shown."""
    events = nimbus_server.client("events")
    events.create_event_bus(Name="cli-tail")
    pattern = json.dumps({"source": ["cli.test"]})
    events.put_rule(Name="tail-rule", EventBusName="cli-tail", EventPattern=pattern)
    env = {**os.environ, **nimbus_server.cli_env}
    # --recent: what the bus accepted before the tail's first poll is shown too, so the
    # puts need not wait for the process to start
    argv = [sys.executable, "-m", "nimbus", "events", "tail", "cli-tail", "--recent"]
    with subprocess.Popen(
        [*argv, "--count", "2", "--json"], env=env, stdout=subprocess.PIPE, text=True
    ) as tail:
        events.put_events(Entries=[
            {"EventBusName": "cli-tail", "Source": "cli.other", "DetailType": "Other",
             "Detail": "{}"},
            {"Source": "cli.test", "DetailType": "Default bus", "Detail": "{}"},
            {"EventBusName": "cli-tail", "Source": "cli.test", "DetailType": "Order Placed",
             "Detail": '{"id": 8}'},
        ])  # fmt: skip
        out, _ = tail.communicate(timeout=60)
    assert tail.returncode == 0
    shown = [json.loads(line) for line in out.splitlines()]
    assert [(t["bus"], t["event"]["detail-type"], t["rules"]) for t in shown] == [
        ("cli-tail", "Other", []),
        ("cli-tail", "Order Placed", ["tail-rule"]),
    ]
    assert shown[1]["event"]["detail"] == {"id": 8}


def test_tail_line_names_the_rules_and_the_replay() -> None:
    tapped = {
        "bus": "b", "rules": ["r1", "r2"],
        "event": {"time": "T", "source": "s", "detail-type": "d", "detail": {"k": 1},
                  "replay-name": "again"},
    }  # fmt: skip
    assert tail_line(tapped) == 'T b s d [replay again] -> r1, r2 {"k":1}'
    assert tail_line({**tapped, "rules": []}).endswith('-> (no rule) {"k":1}')


def test_tail_of_an_unknown_bus_is_one_error_line(nimbus_server: NimbusServer) -> None:
    result = run(nimbus_server, "events", "tail", "no-such-bus")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "error: ResourceNotFoundException: Event bus no-such-bus does not exist."
    )
