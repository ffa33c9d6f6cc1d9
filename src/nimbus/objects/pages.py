"""ListObjects (V1, markers) and ListObjectsV2 (continuation tokens) pages of a bucket.

The walk itself is listing.py over the store's key-ordered scan; this module turns
parameters into a marker and the walk into a `ListPage`. MaxKeys above the limit (1,000)
is served as the limit, as S3 does; below 0 it is an InvalidArgument.
"""

from __future__ import annotations

from dataclasses import replace

from nimbus.objects.errors import InvalidArgument
from nimbus.objects.listing import list_entries
from nimbus.objects.model import ListPage, ObjectLimits, ObjectSummary
from nimbus.objects.store import ObjectStore
from nimbus.objects.tokens import TokenCodec


class BucketLister:
    def __init__(self, objects: ObjectStore, tokens: TokenCodec, limits: ObjectLimits) -> None:
        self._store = objects
        self._tokens = tokens
        self._limits = limits

    def v2(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        max_keys: int | None,
        start_after: str | None,
        continuation_token: str | None,
    ) -> ListPage:
        """The token, when given, wins over `start_after`."""
        marker = start_after.encode() if start_after else None
        if continuation_token is not None:
            marker = self._tokens.decode(bucket, continuation_token)
        page = self.v1(bucket, prefix, delimiter, max_keys, None, marker)
        if page.next_marker is None:
            return page
        token = self._tokens.encode(bucket, page.next_marker.encode())
        return replace(page, next_token=token, next_marker=None)

    def v1(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        max_keys: int | None,
        marker: str | None,
        raw_marker: bytes | None = None,
    ) -> ListPage:
        """`next_marker` is the last key or common prefix returned, when truncated."""
        limit = self._limits.max_keys if max_keys is None else max_keys
        if limit < 0:
            raise InvalidArgument(
                "Argument maxKeys must be an integer between 0 and 2147483647",
                "maxKeys",
                str(limit),
            )

        def scan(start: bytes, stop: bytes | None, count: int) -> list[tuple[bytes, ObjectSummary]]:
            return self._store.scan(bucket, start, stop, count)

        listing = list_entries(
            scan,
            prefix=prefix.encode(),
            delimiter=delimiter.encode() if delimiter else None,
            marker=marker.encode() if marker else raw_marker,
            max_keys=min(limit, self._limits.max_keys),
        )
        last = listing.last if listing.is_truncated else None
        return ListPage(
            tuple(summary for _, summary in listing.contents),
            tuple(entry.decode() for entry in listing.common_prefixes),
            listing.is_truncated,
            listing.count,
            next_marker=last.decode() if last is not None else None,
        )
