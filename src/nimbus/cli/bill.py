"""`nimbus bill`: the month's Lambda bill, free tier applied, optionally against a server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import Connection, pass_connection


def _usd(text: str, places: int = 2) -> str:
    value = Decimal(text)
    return f"${value:,.{places}f}" if value >= Decimal("0.01") or value == 0 else f"${value:f}"


def bill_table(bill: Mapping[str, Any]) -> Table:
    table = Table(title=f"nimbus bill for {bill['month']} ({bill['currency']})")
    table.add_column("function", overflow="fold")
    table.add_column("arch", no_wrap=True)
    for column in ("requests", "GB-seconds", "request cost", "compute cost"):
        table.add_column(column, justify="right", no_wrap=True)
    for line in bill["functions"]:
        table.add_row(
            escape(line["function"]), line["architecture"], f"{line['requests']:,}",
            line["gbSeconds"], _usd(line["requestCost"], 6), _usd(line["durationCost"], 6),
        )  # fmt: skip
    gross, free, net = bill["gross"], bill["freeTier"], bill["net"]
    usage = bill["usage"]
    table.add_section()
    table.add_row(
        "total usage", "", f"{usage['requests']:,}", usage["gbSeconds"],
        _usd(gross["requestCost"], 6), _usd(gross["computeCost"], 6),
    )  # fmt: skip
    table.add_row(
        "free tier", "", f"-{free['requests']:,}", f"-{free['gbSeconds']}",
        f"-{_usd(free['requestCredit'], 6)}", f"-{_usd(free['computeCredit'], 6)}",
    )  # fmt: skip
    table.add_row("due", "", "", "", _usd(net["requestCost"], 6), _usd(net["computeCost"], 6))
    return table


def comparison_line(bill: Mapping[str, Any], instance: Mapping[str, Any]) -> str:
    """The seed's argument in one line: pay per use against a server running all month."""
    ours, theirs = Decimal(bill["total"]), Decimal(instance["cost"])
    line = (
        f"An always-on {instance['instance']} server for {instance['month']} "
        f"({instance['hours']} h x ${instance['hourlyPrice']}/h) costs "
        f"{_usd(instance['costRounded'])}; these functions cost {_usd(bill['totalRounded'])}"
    )
    if ours > 0:
        return line + f" ({theirs / ours:,.1f}x less)."
    return line + " (nothing: all within the free tier)."


@click.command()
@click.option("--month", default=None, help="YYYY-MM (default: this month, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print the bill as JSON (exact decimals).")
@click.option("--compare-instance", default=None, metavar="TYPE",
              help="Also price an always-on server, e.g. 2vCPU-4GB.")  # fmt: skip
@pass_connection
def bill(
    connection: Connection, month: str | None, as_json: bool, compare_instance: str | None
) -> None:
    """Requests, GB-seconds and cost per function, with the monthly free tier applied."""
    query = {k: v for k, v in (("month", month), ("compare_instance", compare_instance)) if v}
    answer = connection.get_json("/_nimbus/bill" + (f"?{urlencode(query)}" if query else ""))
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    console = Console()
    console.print(bill_table(answer))
    console.print(f"Total due: {_usd(answer['totalRounded'])} (exact: ${answer['total']})")
    if "instance" in answer:
        console.print(comparison_line(answer, answer["instance"]))
