"""`nimbus buckets`: every bucket with its object count and total size."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nimbus.cli.client import Connection, pass_connection
from nimbus.cli.format import human_size, utc_time
from nimbus.cli.listing import Bucket, S3Url, list_buckets, list_pages


@dataclass(frozen=True)
class BucketUsage:
    bucket: Bucket
    objects: int
    size: int

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.bucket.name,
            "created": self.bucket.created.astimezone(UTC).isoformat(),
            "objects": self.objects,
            "size": self.size,
        }


def measure(client: Any, bucket: Bucket) -> BucketUsage:
    """Count and add up every object in the bucket, a page at a time."""
    objects = size = 0
    for page in list_pages(client, S3Url(bucket.name), recursive=True):
        objects += len(page.objects)
        size += sum(item.size for item in page.objects)
    return BucketUsage(bucket, objects, size)


def buckets_table(usages: Iterable[BucketUsage]) -> Table:
    table = Table()
    table.add_column("name", overflow="fold")
    table.add_column("created", no_wrap=True)
    for column in ("objects", "size"):
        table.add_column(column, justify="right", no_wrap=True)
    for usage in sorted(usages, key=lambda item: item.bucket.name):
        table.add_row(
            escape(usage.bucket.name),
            utc_time(usage.bucket.created),
            str(usage.objects),
            human_size(usage.size),
        )
    return table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the buckets as JSON (sizes in bytes).")
@pass_connection
def buckets(connection: Connection, as_json: bool) -> None:
    """List the buckets with their creation time, object count and total size."""
    with connection.reporting_errors():
        client = connection.client("s3")
        usages = [measure(client, bucket) for bucket in list_buckets(client)]
    if as_json:
        click.echo(json.dumps([usage.as_json() for usage in usages], indent=2))
    elif not usages:
        click.echo("no buckets")
    else:
        Console().print(buckets_table(usages))
