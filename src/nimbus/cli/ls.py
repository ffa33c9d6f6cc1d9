"""`nimbus ls [s3://BUCKET[/PREFIX]]`: buckets, or the prefixes and objects under one."""

from __future__ import annotations

import click

from nimbus.cli.client import Connection, pass_connection
from nimbus.cli.listing import (
    S3Url,
    bucket_line,
    list_buckets,
    list_pages,
    page_lines,
    summary_lines,
)


@click.command()
@click.argument("url", required=False, metavar="[s3://BUCKET[/PREFIX]]")
@click.option("--recursive", is_flag=True, help="Every key under the prefix, with its full name.")
@click.option("--human-readable", is_flag=True, help="Sizes in KiB, MiB and GiB.")
@click.option("--summarize", is_flag=True, help="End with the number and total size of objects.")
@pass_connection
def ls(
    connection: Connection,
    url: str | None,
    recursive: bool,
    human_readable: bool,
    summarize: bool,
) -> None:
    """List the buckets, or what is under an S3 URL, as `aws s3 ls` does (times in UTC)."""
    if url is None:
        with connection.reporting_errors():
            for bucket in list_buckets(connection.client("s3")):
                click.echo(bucket_line(bucket))
        return
    target = S3Url.parse(url)
    # --recursive names keys in full, as `aws s3 ls --recursive` does
    relative_to = "" if recursive else target.folder
    count = total_size = 0
    with connection.reporting_errors():
        for page in list_pages(connection.client("s3"), target, recursive=recursive):
            for line in page_lines(page, relative_to, human=human_readable):
                click.echo(line)
            count += len(page.objects)
            total_size += sum(item.size for item in page.objects)
    if summarize:
        click.echo("\n".join(summary_lines(count, total_size, human=human_readable)))
