"""`nimbus events put` and `nimbus rules`: the event router seen from a terminal.

Both are thin over the `events` API through boto3, so what they show is exactly what
`aws events put-events` and `aws events list-rules` would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import CliError, Connection, pass_connection

DEFAULT_BUS = "default"


@click.group()
def events() -> None:
    """Put events on a bus and watch them pass."""


@events.command("put")
@click.option("--source", required=True, help="The event's source, e.g. com.example.orders.")
@click.option("--detail-type", required=True, help="The event's detail-type.")
@click.option("--detail", default="{}", show_default=True, help="A JSON object.")
@click.option("--bus", default=DEFAULT_BUS, show_default=True, help="A bus name or ARN.")
@click.option("--resource", "resources", multiple=True, help="A resource ARN (repeatable).")
@pass_connection
def put(
    connection: Connection,
    source: str,
    detail_type: str,
    detail: str,
    bus: str,
    resources: tuple[str, ...],
) -> None:
    """Put one event on a bus; print its id."""
    entry: dict[str, Any] = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": detail,
        "EventBusName": bus,
    }
    if resources:
        entry["Resources"] = list(resources)
    with connection.reporting_errors():
        reply = connection.client("events").put_events(Entries=[entry])
    result = reply["Entries"][0]
    if "ErrorCode" in result:
        raise CliError(f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}")
    click.echo(result["EventId"])


@click.command()
@click.option("--bus", default=DEFAULT_BUS, show_default=True, help="A bus name or ARN.")
@click.option("--prefix", default=None, help="Only rules whose name starts with this.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@pass_connection
def rules(connection: Connection, bus: str, prefix: str | None, as_json: bool) -> None:
    """A bus's rules: state, what they match or when they fire, and their targets."""
    client = connection.client("events")
    with connection.reporting_errors():
        listed = list(_rules(client, bus, prefix))
        found = [(rule, _targets(client, bus, rule["Name"])) for rule in listed]
    if as_json:
        for rule, targets in found:
            click.echo(json.dumps({**rule, "Targets": targets}, sort_keys=True, default=str))
        return
    Console().print(rules_table(bus, found))


def rules_table(bus: str, found: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> Table:
    table = Table(title=f"rules on {bus}")
    table.add_column("rule", overflow="fold")
    table.add_column("state", no_wrap=True)
    table.add_column("pattern / schedule", overflow="fold")
    table.add_column("targets", overflow="fold")
    for rule, targets in found:
        when = rule.get("ScheduleExpression") or rule.get("EventPattern") or ""
        names = ", ".join(target["Arn"].rsplit(":", 1)[-1] for target in targets)
        table.add_row(escape(rule["Name"]), rule["State"], escape(when), escape(names))
    return table


def _rules(client: Any, bus: str, prefix: str | None) -> Iterator[dict[str, Any]]:
    query: dict[str, Any] = {"EventBusName": bus}
    if prefix:
        query["NamePrefix"] = prefix
    for page in client.get_paginator("list_rules").paginate(**query):
        yield from page.get("Rules", [])


def _targets(client: Any, bus: str, rule: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName=bus)
    return [target for page in pages for target in page.get("Targets", [])]
