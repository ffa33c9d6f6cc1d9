"""`nimbus doctor`: which limits the platform enforces on this host, and how."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import CliError, Connection, pass_connection

DOCTOR_PATH = "/_nimbus/doctor"
_RUNTIME = re.compile(r"^([a-z]+)(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Enforcement:
    name: str
    enforced: bool
    detail: str


@dataclass(frozen=True)
class DoctorReport:
    runtimes: Mapping[str, str]
    enforcement: tuple[Enforcement, ...]


def parse_report(body: Any) -> DoctorReport:
    """The doctor reply, or a `CliError` if it does not have the expected shape."""
    try:
        runtimes = {str(name): str(path) for name, path in body["runtimes"].items()}
        enforcement = tuple(
            Enforcement(str(item["name"]), bool(item["enforced"]), str(item["detail"]))
            for item in body["enforcement"]
        )
    except (KeyError, TypeError, AttributeError):
        raise CliError(f"unexpected reply from {DOCTOR_PATH}: is the server nimbus?") from None
    return DoctorReport(runtimes, enforcement)


def fetch_report(connection: Connection) -> DoctorReport:
    return parse_report(connection.get_json(DOCTOR_PATH))


def runtime_sort_key(name: str) -> tuple[str, tuple[int, ...], str]:
    """Orders `python3.9` before `python3.13`: by family, then numeric version."""
    match = _RUNTIME.match(name)
    if match is None:
        return (name, (), name)
    version = tuple(int(part) for part in match.group(2).split("."))
    return (match.group(1), version, name)


def enforcement_table(report: DoctorReport) -> Table:
    table = Table(title="Limits")
    table.add_column("limit")
    table.add_column("enforced", justify="center")
    table.add_column("how / why not")
    for item in report.enforcement:
        mark = "[green]✓[/green]" if item.enforced else "[red]✗[/red]"
        table.add_row(escape(item.name), mark, escape(item.detail))
    return table


def runtimes_table(report: DoctorReport) -> Table:
    table = Table(title="Runtimes")
    table.add_column("runtime")
    table.add_column("interpreter")
    for name in sorted(report.runtimes, key=runtime_sort_key):
        table.add_row(escape(name), escape(report.runtimes[name]))
    return table


@click.command()
@pass_connection
def doctor(connection: Connection) -> None:
    """Show which limits the server enforces, and its runtimes."""
    report = fetch_report(connection)
    console = Console()
    console.print(enforcement_table(report))
    if report.runtimes:
        console.print(runtimes_table(report))
    else:
        console.print("no runtimes found: functions cannot run on this host")
