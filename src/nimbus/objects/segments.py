"""Which blob files hold an object's bytes: one file, or its parts' files in order.

A multipart object keeps the files its parts were uploaded into: Complete commits a
row naming them instead of copying every byte into a new file (and fsyncing it again),
so completing a 1 GiB upload costs a commit, not 1 GiB of writes. The row's `blob` text
is a blob id for a single file, or `id:size,id:size,...` for parts, so rows written
before segments existed read the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    """A blob file and how many bytes of the object it holds (None: the whole file,
    for a single-file object, whose size is the object's)."""

    blob: str
    size: int | None = None


def encode(segments: Sequence[Segment]) -> str:
    if len(segments) == 1 and segments[0].size is None:
        return segments[0].blob
    return ",".join(f"{segment.blob}:{segment.size}" for segment in segments)


def decode(ref: str) -> tuple[Segment, ...]:
    if ":" not in ref:
        return (Segment(ref),)
    segments = []
    for item in ref.split(","):
        blob, _, size = item.partition(":")
        segments.append(Segment(blob, int(size)))
    return tuple(segments)


def blob_ids(refs: Iterable[str]) -> list[str]:
    """Every blob file the references name."""
    return [segment.blob for ref in refs for segment in decode(ref)]


def spans(ref: str, start: int, length: int) -> list[tuple[str, int, int]]:
    """(blob, offset in that file, bytes) covering `length` bytes of the object from
    `start`, in order."""
    segments = decode(ref)
    if len(segments) == 1 and segments[0].size is None:
        return [(segments[0].blob, start, length)]
    covered: list[tuple[str, int, int]] = []
    offset, end = 0, start + length
    for segment in segments:
        size = segment.size or 0
        low, high = max(start, offset), min(end, offset + size)
        if low < high:
            covered.append((segment.blob, low - offset, high - low))
        offset += size
    return covered
