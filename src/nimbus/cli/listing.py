"""What `nimbus ls` and `nimbus buckets` read from S3, and how `ls` writes it.

Both page through the boto3 paginators, so no listing stops at S3's 1000 keys
per reply. The lines follow `aws s3 ls`: `DATE TIME SIZE NAME` for objects and
`PRE name/` for common prefixes, names relative to the prefix's last `/`, with
times in UTC rather than local time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nimbus.cli.client import CliError
from nimbus.cli.format import human_size, utc_stamp

SCHEME = "s3://"
DELIMITER = "/"
_STAMP_WIDTH = len("2024-05-01 12:00:00")
_SIZE_WIDTH = 10


@dataclass(frozen=True)
class S3Url:
    """`s3://BUCKET[/PREFIX]`, split."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> S3Url:
        bucket, _, prefix = text.removeprefix(SCHEME).partition("/")
        if not text.startswith(SCHEME) or not bucket:
            raise CliError(f"invalid S3 URL {text!r}: expected s3://BUCKET[/PREFIX]")
        return cls(bucket, prefix)

    @property
    def folder(self) -> str:
        """The prefix up to and including its last `/`: what listed names are relative to."""
        return self.prefix[: self.prefix.rfind(DELIMITER) + 1]


@dataclass(frozen=True)
class Bucket:
    name: str
    created: datetime


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class Page:
    """One ListObjectsV2 reply: the prefixes it rolled up and the objects it listed."""

    prefixes: tuple[str, ...]
    objects: tuple[StoredObject, ...]


def list_buckets(client: Any) -> Iterator[Bucket]:
    for page in client.get_paginator("list_buckets").paginate():
        for bucket in page.get("Buckets", []):
            yield Bucket(bucket["Name"], bucket["CreationDate"])


def list_pages(client: Any, url: S3Url, *, recursive: bool) -> Iterator[Page]:
    """Every page under the URL's prefix; rolled up at `/` unless `recursive`."""
    query = {"Bucket": url.bucket, "Prefix": url.prefix}
    if not recursive:
        query["Delimiter"] = DELIMITER
    for page in client.get_paginator("list_objects_v2").paginate(**query):
        yield Page(
            tuple(common["Prefix"] for common in page.get("CommonPrefixes", [])),
            tuple(
                StoredObject(item["Key"], int(item["Size"]), item["LastModified"])
                for item in page.get("Contents", [])
            ),
        )


def size_text(size: int, *, human: bool) -> str:
    return human_size(size) if human else str(size)


def bucket_line(bucket: Bucket) -> str:
    return f"{utc_stamp(bucket.created)} {bucket.name}"


def prefix_line(prefix: str, relative_to: str) -> str:
    return f"{'':{_STAMP_WIDTH}} {'PRE':>{_SIZE_WIDTH}} {prefix.removeprefix(relative_to)}"


def object_line(item: StoredObject, relative_to: str, *, human: bool) -> str:
    size = size_text(item.size, human=human)
    name = item.key.removeprefix(relative_to)
    return f"{utc_stamp(item.last_modified)} {size:>{_SIZE_WIDTH}} {name}"


def page_lines(page: Page, relative_to: str, *, human: bool) -> Iterator[str]:
    for prefix in page.prefixes:
        yield prefix_line(prefix, relative_to)
    for item in page.objects:
        yield object_line(item, relative_to, human=human)


def summary_lines(count: int, total_size: int, *, human: bool) -> list[str]:
    return ["", f"Total Objects: {count}", f"   Total Size: {size_text(total_size, human=human)}"]
