"""`nimbus ls` and `nimbus buckets` without a server: URLs, lines, tables, paging."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from nimbus.cli.buckets import BucketUsage, buckets_table, measure
from nimbus.cli.listing import (
    Bucket,
    Page,
    S3Url,
    StoredObject,
    bucket_line,
    list_pages,
    object_line,
    page_lines,
    prefix_line,
    summary_lines,
)
from nimbus.cli.main import cli

NOON = datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))


@pytest.mark.parametrize(
    ("text", "bucket", "prefix", "folder"),
    [
        ("s3://photos", "photos", "", ""),
        ("s3://photos/", "photos", "", ""),
        ("s3://photos/2024/may", "photos", "2024/may", "2024/"),
        ("s3://photos/2024/may/", "photos", "2024/may/", "2024/may/"),
        ("s3://photos/a b/ünï", "photos", "a b/ünï", "a b/"),
    ],
)
def test_s3_url_splits_bucket_prefix_and_folder(
    text: str, bucket: str, prefix: str, folder: str
) -> None:
    url = S3Url.parse(text)
    assert (url.bucket, url.prefix, url.folder) == (bucket, prefix, folder)


@pytest.mark.parametrize("text", ["photos", "s3://", "s3:///key", "http://photos/x", "S3:/x"])
def test_ls_rejects_a_bad_url_in_one_line_before_connecting(text: str) -> None:
    result = CliRunner().invoke(cli, ["--endpoint", "http://127.0.0.1:9", "ls", text])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: invalid S3 URL {text!r}: expected s3://BUCKET[/PREFIX]\n"


def test_lines_align_like_aws_s3_ls_in_utc() -> None:
    item = StoredObject("docs/a b ü.txt", 1536, NOON)
    assert object_line(item, "docs/", human=False) == "2024-05-01 12:00:00       1536 a b ü.txt"
    assert object_line(item, "", human=True) == "2024-05-01 12:00:00    1.5 KiB docs/a b ü.txt"
    assert prefix_line("docs/sub/", "docs/") == f"{'':19}        PRE sub/"
    assert bucket_line(Bucket("photos", NOON)) == "2024-05-01 12:00:00 photos"


def test_page_lines_put_prefixes_before_objects() -> None:
    page = Page(("d/x/",), (StoredObject("d/a", 1, NOON),))
    assert [line.split()[-1] for line in page_lines(page, "d/", human=False)] == ["x/", "a"]


def test_summary_counts_objects_and_sizes() -> None:
    assert summary_lines(3, 2048, human=False) == ["", "Total Objects: 3", "   Total Size: 2048"]
    assert summary_lines(0, 2048, human=True)[-1] == "   Total Size: 2.0 KiB"


class FakeS3:
    """Just the paginators `listing` uses, over fixed pages."""

    def __init__(self, pages: Mapping[str, list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.queries: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> FakeS3:
        self.operation = operation
        return self

    def paginate(self, **query: Any) -> Iterator[dict[str, Any]]:
        self.queries.append(query)
        return iter(self.pages[self.operation])


def contents(*sizes: int) -> list[dict[str, Any]]:
    return [{"Key": f"k{size}", "Size": size, "LastModified": NOON} for size in sizes]


def test_list_pages_rolls_up_at_slash_unless_recursive() -> None:
    client = FakeS3({"list_objects_v2": [{"CommonPrefixes": [{"Prefix": "p/q/"}]}]})
    assert list(list_pages(client, S3Url("b", "p/"), recursive=False)) == [Page(("p/q/",), ())]
    list(list_pages(client, S3Url("b", "p/"), recursive=True))
    assert client.queries == [
        {"Bucket": "b", "Prefix": "p/", "Delimiter": "/"},
        {"Bucket": "b", "Prefix": "p/"},
    ]


def test_measure_adds_up_every_page() -> None:
    client = FakeS3(
        {"list_objects_v2": [{"Contents": contents(1, 2)}, {}, {"Contents": contents(4)}]}
    )
    assert measure(client, Bucket("b", NOON)) == BucketUsage(Bucket("b", NOON), 3, 7)


def test_buckets_table_and_json() -> None:
    usages = [
        BucketUsage(Bucket("zeta", NOON), 0, 0),
        BucketUsage(Bucket("[alpha]", NOON), 2, 1536),
    ]
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(buckets_table(usages))
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in console.export_text().splitlines()
        if "2024" in line
    ]
    assert rows == [
        ["[alpha]", "2024-05-01 12:00:00 UTC", "2", "1.5 KiB"],
        ["zeta", "2024-05-01 12:00:00 UTC", "0", "0 B"],
    ]
    assert json.loads(json.dumps(usages[1].as_json())) == {
        "name": "[alpha]",
        "created": datetime(2024, 5, 1, 12, tzinfo=UTC).isoformat(),
        "objects": 2,
        "size": 1536,
    }
