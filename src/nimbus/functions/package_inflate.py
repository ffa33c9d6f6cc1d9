"""Decompressing one package entry with bounded output, checking its size and CRC-32.

Entries are decompressed here rather than by `zipfile.ZipExtFile` so that every byte
produced counts against a `Budget`: a zip bomb can lie about its sizes, so the bytes
actually produced are what is bounded.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import TypeAlias

from nimbus.errors import NimbusError
from nimbus.functions.package_limits import unzip_error

_CHUNK = 1 << 20
_FEED = 1 << 16

Buffer: TypeAlias = bytes | memoryview


class Budget:
    """Bytes that may still be produced; `error` is raised once they run out."""

    def __init__(self, limit: int, error: Callable[[], NimbusError]) -> None:
        self.remaining = limit
        self.error = error

    def spend(self, amount: int) -> None:
        self.remaining -= amount
        if self.remaining < 0:
            raise self.error()


def inflate(
    view: memoryview, info: zipfile.ZipInfo, data_start: int, budget: Budget
) -> Iterator[Buffer]:
    """The entry's bytes; the size and CRC-32 are checked once they are all out."""
    raw = view[data_start : data_start + info.compress_size]
    chunks = _stored(raw) if info.compress_type == zipfile.ZIP_STORED else _deflated(raw)
    size = crc = 0
    for chunk in chunks:
        budget.spend(len(chunk))
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if size != info.file_size or crc != info.CRC:
        raise unzip_error()


def _stored(raw: memoryview) -> Iterator[Buffer]:
    for start in range(0, len(raw), _CHUNK):
        yield raw[start : start + _CHUNK]


def _deflated(raw: memoryview) -> Iterator[Buffer]:
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    # Small feeds keep `unconsumed_tail`, a copy of the unread input, small.
    feeds: list[Buffer] = [raw[start : start + _FEED] for start in range(0, len(raw), _FEED)]
    for feed in [*feeds, b""]:
        pending = feed
        while True:
            try:
                chunk = decompressor.decompress(pending, _CHUNK)
            except zlib.error as exc:
                raise unzip_error() from exc
            pending = decompressor.unconsumed_tail
            if not chunk:
                break  # output is capped, so no output means the feed is used up
            yield chunk
    if not decompressor.eof:
        raise unzip_error()  # truncated stream
