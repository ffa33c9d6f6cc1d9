"""`nimbus top`: a live table of every function's recent invocations, like `top`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import click
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nimbus.cli.client import Connection, pass_connection

COLUMNS = ("function", "inv/s", "inv", "err", "thr", "p50", "p99", "max", "conc", "cold",
           "init", "GB-s")  # fmt: skip
LEGEND = ("inv: invocations · err: errors · thr: throttles · p50/p99/max: duration (ms) · "
          "conc: max concurrent · cold: cold starts · init: avg init (ms)")  # fmt: skip


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def top_view(snapshot: Mapping[str, Any], minutes: int) -> Group:
    """The header line and the table for one `/_nimbus/metrics.json` answer."""
    environments = snapshot.get("environments", {})
    header = Text(
        f"last {minutes} min · environments: {environments.get('warm', 0)} warm, "
        f"{environments.get('busy', 0)} busy · zygotes: {environments.get('zygotes', 0)}"
    )
    table = Table(box=box.SIMPLE_HEAD, caption=LEGEND, pad_edge=False, collapse_padding=True)
    table.add_column(COLUMNS[0], min_width=8, overflow="fold")
    for column in COLUMNS[1:]:
        table.add_column(column, justify="right", no_wrap=True)
    rows = sorted(snapshot.get("totals", []), key=lambda row: -row["invocations"])
    for row in rows:
        duration, init = row["duration_ms"], row["init_duration_ms"]
        table.add_row(
            escape(row["function"]),
            f"{row['invocations_per_second']:.1f}",
            str(row["invocations"]),
            str(row["errors"]),
            str(row["throttles"]),
            _ms(duration["p50"]),
            _ms(duration["p99"]),
            _ms(duration["max"]),
            str(row["concurrent_executions_max"]),
            str(row["cold_starts"]),
            _ms(init["avg"]),
            f"{float(row['billed_gb_seconds']):.3f}",
        )
    if not rows:
        table.add_row("(no invocations in this window)", *[""] * (len(COLUMNS) - 1))
    return Group(header, table)


@click.command()
@click.option("--minutes", default=5, show_default=True, type=click.IntRange(1, 1440),
              help="The window the figures cover.")  # fmt: skip
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.2),
              help="Seconds between refreshes.")  # fmt: skip
@click.option("--once", is_flag=True, help="Print the table once and exit.")
@pass_connection
def top(connection: Connection, minutes: int, interval: float, once: bool) -> None:
    """Live per-function invocations, errors, throttles, latency and GB-seconds."""
    path = f"/_nimbus/metrics.json?minutes={minutes}"
    if once:
        Console().print(top_view(connection.get_json(path), minutes))
        return
    with Live(top_view(connection.get_json(path), minutes), auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(top_view(connection.get_json(path), minutes), refresh=True)
        except KeyboardInterrupt:
            return
