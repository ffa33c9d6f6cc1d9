"""`nimbus queues`: each queue's depth, and the fleet each event source mapping runs."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import Connection, pass_connection


def queues_table(snapshot: dict[str, Any]) -> Table:
    table = Table(title="queues")
    table.add_column("queue", overflow="fold")
    for column in ("visible", "in flight", "delayed", "oldest"):
        table.add_column(column, justify="right", no_wrap=True)
    for queue in snapshot["queues"]:
        table.add_row(
            escape(queue["url"].rsplit("/", 1)[-1]), str(queue["visible"]),
            str(queue["in_flight"]), str(queue["delayed"]), f"{queue['oldest_age_s']:.0f} s",
        )  # fmt: skip
    return table


def fleets_table(snapshot: dict[str, Any]) -> Table:
    table = Table(title="event source mappings")
    table.add_column("queue → function", overflow="fold")
    table.add_column("state", no_wrap=True)
    for column in ("running", "desired", "backlog", "processed", "failed", "filtered"):
        table.add_column(column, justify="right", no_wrap=True)
    for mapping in snapshot["mappings"]:
        last = mapping["decisions"][-1] if mapping["decisions"] else {}
        table.add_row(
            escape(f"{mapping['source'].rsplit(':', 1)[-1]} → {mapping['function']}"),
            mapping["state"], str(mapping["running"]), str(last.get("desired", 0)),
            str(last.get("backlog", 0)), str(mapping["processed"]), str(mapping["failed"]),
            str(mapping["filtered"]),
        )  # fmt: skip
    return table


@click.command()
@pass_connection
def queues(connection: Connection) -> None:
    """Queue depth and in-flight messages, and the consumers each mapping runs now."""
    snapshot = connection.get_json("/_nimbus/queues?history=1")
    console = Console()
    console.print(queues_table(snapshot))
    console.print(fleets_table(snapshot))
