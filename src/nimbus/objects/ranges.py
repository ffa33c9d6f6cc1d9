"""The Range header of a GET (RFC 7233, one byte range as S3 serves it).

`bytes=first-last`, `bytes=first-` and `bytes=-suffix`. A header that does not parse, or
asks for several ranges, is ignored (the whole object, 200), as S3 and RFC 7233 do. A
range that parses but starts at or past the end is unsatisfiable: InvalidRange (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nimbus.objects.errors import InvalidRange

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes `start`..`end` inclusive of an object of `size` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve, None for the whole object; InvalidRange if unsatisfiable."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise InvalidRange(header, size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignored
    if start >= size:
        raise InvalidRange(header, size)
    return ByteRange(start, min(end, size - 1), size)
