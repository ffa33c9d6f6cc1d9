"""`nimbus functions`: every deployed function, as a table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import Connection, pass_connection
from nimbus.cli.format import human_size, short_time


def list_all(client: Any) -> Iterator[Mapping[str, Any]]:
    for page in client.get_paginator("list_functions").paginate():
        yield from page.get("Functions", [])


def functions_table(functions: Iterable[Mapping[str, Any]]) -> Table:
    table = Table()
    table.add_column("name", overflow="fold")
    table.add_column("runtime", no_wrap=True)
    for column in ("memory", "timeout", "code size"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("last modified", no_wrap=True)
    for function in sorted(functions, key=lambda item: str(item["FunctionName"])):
        table.add_row(
            escape(str(function["FunctionName"])),
            escape(str(function.get("Runtime", "-"))),
            f"{function.get('MemorySize', '-')} MB",
            f"{function.get('Timeout', '-')} s",
            human_size(int(function.get("CodeSize", 0))),
            escape(short_time(str(function.get("LastModified", "-")))),
        )
    return table


@click.command()
@pass_connection
def functions(connection: Connection) -> None:
    """List the deployed functions."""
    with connection.reporting_errors():
        found = list(list_all(connection.lambda_client()))
    if not found:
        click.echo("no functions deployed")
        return
    Console().print(functions_table(found))
