"""`nimbus events put`, `nimbus events tail` and `nimbus rules`: the event router seen
from a terminal.

`put` and `rules` are thin over the `events` API through boto3, so what they show is
exactly what `aws events put-events` and `aws events list-rules` would. `tail` has no AWS
twin: it long-polls the platform's `/_nimbus/events/tail`, which answers as soon as a bus
accepts an event, with the rules that event matched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import CliError, Connection, endpoint_option, pass_connection

DEFAULT_BUS = "default"
TAIL_WAIT_S = 20  # the server's longest wait, as an SQS long poll


@click.group()
@endpoint_option
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


@events.command("tail")
@click.argument("bus", required=False)
@click.option("--recent", is_flag=True, help="First show the events the platform still keeps.")
@click.option("--count", type=int, default=None, help="Stop after this many events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@pass_connection
def tail(
    connection: Connection, bus: str | None, recent: bool, count: int | None, as_json: bool
) -> None:
    """Watch events as buses accept them (BUS, else every bus), with the rules they matched."""
    after = 0 if recent else _poll(connection, bus, 0, wait=0)["next"]
    shown = 0
    while count is None or shown < count:
        reply = _poll(connection, bus, after, wait=TAIL_WAIT_S)
        for tapped in reply["events"][: None if count is None else count - shown]:
            click.echo(json.dumps(tapped, sort_keys=True) if as_json else tail_line(tapped))
            shown += 1
        after = reply["next"]


def _poll(connection: Connection, bus: str | None, after: int, wait: float) -> Any:
    query = {"after": after, "wait": wait, **({"bus": bus} if bus else {})}
    return connection.get_json(f"/_nimbus/events/tail?{urlencode(query)}", timeout=wait + 10)


def tail_line(tapped: dict[str, Any]) -> str:
    """`TIME BUS SOURCE DETAIL-TYPE -> RULES DETAIL`, one line per event."""
    event = tapped["event"]
    rules = ", ".join(tapped["rules"]) or "(no rule)"
    detail = json.dumps(event.get("detail", {}), separators=(",", ":"), sort_keys=True)
    replay = f" [replay {event['replay-name']}]" if "replay-name" in event else ""
    return (
        f"{event.get('time', '')} {tapped['bus']} {event.get('source', '')} "
        f"{event.get('detail-type', '')}{replay} -> {rules} {detail}"
    )


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
