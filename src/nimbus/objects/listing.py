"""ListObjects(V2) over keys in UTF-8 byte order: prefix, delimiter roll-up, paging.

The store answers one question, `scan(start, stop, limit)`: up to `limit` keys in
[start, stop) in byte order. A listing is then the sorted, de-duplicated sequence of
*entries* (a key, or the common prefix it rolls up to: everything up to and including
the first delimiter after the prefix), restricted to entries greater than the marker
(StartAfter, Marker or the last entry of the previous page). Entries keep the keys'
order, so a page is a walk from the marker that jumps over each common prefix's keys
with one range bound instead of reading them. Common prefixes count against MaxKeys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
Scan = Callable[[bytes, bytes | None, int], Sequence[tuple[bytes, T]]]
SCAN_BATCH = 1000


def successor(prefix: bytes) -> bytes | None:
    """The least byte string greater than every string starting with `prefix`."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


@dataclass(slots=True)
class Listing(Generic[T]):
    contents: list[tuple[bytes, T]] = field(default_factory=list)
    common_prefixes: list[bytes] = field(default_factory=list)
    is_truncated: bool = False
    last: bytes | None = None  # the last entry returned: where the next page resumes

    @property
    def count(self) -> int:
        return len(self.contents) + len(self.common_prefixes)


def list_entries(
    scan: Scan[T],
    *,
    prefix: bytes = b"",
    delimiter: bytes | None = None,
    marker: bytes | None = None,
    max_keys: int = 1000,
) -> Listing[T]:
    """One page of at most `max_keys` entries greater than `marker`."""
    listing: Listing[T] = Listing()
    start: bytes | None = prefix
    if marker is not None and marker + b"\x00" > prefix:
        start = marker + b"\x00"
    stop = successor(prefix) if prefix else None
    while start is not None and not listing.is_truncated:
        limit = min(SCAN_BATCH, max_keys - listing.count + 1)
        rows = scan(start, stop, limit) if max_keys > 0 else ()
        start = _take(listing, rows, prefix, delimiter, marker, max_keys)
        if len(rows) < limit:
            break  # the scan returned every key left in [start, stop)
    return listing


def _take(
    listing: Listing[T],
    rows: Sequence[tuple[bytes, T]],
    prefix: bytes,
    delimiter: bytes | None,
    marker: bytes | None,
    max_keys: int,
) -> bytes | None:
    """Add `rows`' entries to `listing`; where the next scan starts (None: nowhere)."""
    skip_below = b""  # keys under the last common prefix seen roll up into it
    for key, item in rows:
        if key < skip_below:
            continue
        rolled = _rolled_up(key, prefix, delimiter)
        if rolled is not None:
            after = successor(rolled)
            if after is None:
                return None
            skip_below = after
            if marker is not None and rolled <= marker:
                continue  # returned on an earlier page
        if listing.count == max_keys:
            listing.is_truncated = True
            return None
        if rolled is None:
            listing.contents.append((key, item))
        else:
            listing.common_prefixes.append(rolled)
        listing.last = key if rolled is None else rolled
    if not rows:
        return None
    return max(rows[-1][0] + b"\x00", skip_below)


def _rolled_up(key: bytes, prefix: bytes, delimiter: bytes | None) -> bytes | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]
