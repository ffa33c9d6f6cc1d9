"""`nimbus events put` and `nimbus rules` against a real server, checked through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import NimbusServer

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
