"""`nimbus ls` and `nimbus buckets` against a real server, with objects put by boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import NimbusServer

from nimbus.cli.main import cli

BUCKET = "cli-photos"
EMPTY = "cli-empty"
TRICKY = "docs/a b ünï 鍵.txt"
MANY = 1100  # over S3's 1000 keys per page, so every listing here pages


def run(server: NimbusServer, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=server.cli_env)


def ok(server: NimbusServer, *args: str) -> list[str]:
    result = run(server, *args)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def names(lines: list[str]) -> list[str]:
    """The name column of `ls` lines: whatever follows the size or PRE."""
    return [line[31:] for line in lines]


@pytest.fixture(scope="module")
def s3(nimbus_server: NimbusServer) -> Any:
    client = nimbus_server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    client.create_bucket(Bucket=EMPTY)
    client.put_object(Bucket=BUCKET, Key="top.txt", Body=b"hello")
    client.put_object(Bucket=BUCKET, Key=TRICKY, Body=b"x" * 1536)
    client.put_object(Bucket=BUCKET, Key="docs/sub/deep.txt", Body=b"deep")
    for number in range(MANY):
        client.put_object(Bucket=BUCKET, Key=f"many/k{number:04}", Body=b"m")
    return client


TOTAL_OBJECTS = MANY + 3
TOTAL_SIZE = MANY + len(b"hello") + 1536 + len(b"deep")


def test_ls_alone_lists_the_buckets_with_their_creation_time(
    nimbus_server: NimbusServer, s3: Any
) -> None:
    created = {b["Name"]: b["CreationDate"] for b in s3.list_buckets()["Buckets"]}
    expected = [f"{created[name].strftime('%Y-%m-%d %H:%M:%S')} {name}" for name in sorted(created)]
    assert ok(nimbus_server, "ls") == expected


def test_ls_bucket_shows_prefixes_then_objects(nimbus_server: NimbusServer, s3: Any) -> None:
    lines = ok(nimbus_server, "ls", f"s3://{BUCKET}")
    assert names(lines) == ["docs/", "many/", "top.txt"]
    assert lines[0].split() == ["PRE", "docs/"]
    assert lines[2].split()[2:] == ["5", "top.txt"]


def test_ls_prefix_names_relative_to_its_folder(nimbus_server: NimbusServer, s3: Any) -> None:
    lines = ok(nimbus_server, "ls", f"s3://{BUCKET}/docs/", "--human-readable")
    assert names(lines) == ["sub/", "a b ünï 鍵.txt"]
    assert lines[1][20:30].strip() == "1.5 KiB"
    partial = ok(nimbus_server, "ls", f"s3://{BUCKET}/docs/a b")
    assert names(partial) == ["a b ünï 鍵.txt"]


def test_ls_pages_past_a_thousand_keys(nimbus_server: NimbusServer, s3: Any) -> None:
    lines = ok(nimbus_server, "ls", f"s3://{BUCKET}/many/", "--summarize")
    assert names(lines[:MANY]) == [f"k{number:04}" for number in range(MANY)]
    assert lines[MANY:] == ["", f"Total Objects: {MANY}", f"   Total Size: {MANY}"]


def test_ls_recursive_lists_every_key_in_full(nimbus_server: NimbusServer, s3: Any) -> None:
    lines = ok(nimbus_server, "ls", f"s3://{BUCKET}", "--recursive", "--summarize")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for o in page["Contents"]]  # fmt: skip
    assert names(lines[:-3]) == keys
    assert len(keys) == TOTAL_OBJECTS
    assert lines[-2:] == [f"Total Objects: {TOTAL_OBJECTS}", f"   Total Size: {TOTAL_SIZE}"]
    assert ok(nimbus_server, "ls", f"s3://{EMPTY}", "--recursive") == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["s3://no-such-bucket/x"], "error: NoSuchBucket: The specified bucket does not exist"),
        (["s3://no-such-bucket", "--recursive"], "error: NoSuchBucket: "),
        ([BUCKET], f"error: invalid S3 URL '{BUCKET}': expected s3://BUCKET[/PREFIX]"),
    ],
)
def test_ls_failures_are_one_line(
    nimbus_server: NimbusServer, s3: Any, args: list[str], error: str
) -> None:
    result = run(nimbus_server, "ls", *args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(error)


def test_buckets_counts_and_sizes_every_object(nimbus_server: NimbusServer, s3: Any) -> None:
    table = "\n".join(ok(nimbus_server, "buckets"))
    row = next(line for line in table.splitlines() if BUCKET in line)
    assert [cell.strip() for cell in row.split("│")[3:5]] == [str(TOTAL_OBJECTS), "2.6 KiB"]
    assert EMPTY in table
    listed = {
        item["name"]: item for item in json.loads("\n".join(ok(nimbus_server, "buckets", "--json")))
    }
    created = {b["Name"]: b["CreationDate"] for b in s3.list_buckets()["Buckets"]}
    assert listed[BUCKET]["objects"] == TOTAL_OBJECTS
    assert listed[BUCKET]["size"] == TOTAL_SIZE
    assert listed[EMPTY]["objects"] == listed[EMPTY]["size"] == 0
    assert {name: item["created"] for name, item in listed.items()} == {
        name: moment.isoformat() for name, moment in created.items()
    }
