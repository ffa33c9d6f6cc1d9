"""An append-only journal of rows: in the operating system the moment `append` returns.

`append` is one `os.write` of one JSON line to an O_APPEND file: no thread hand-off and
no lock wait beyond a few microseconds, and once it has returned the row survives a
crash of the process (kill -9), because the kernel holds it. It reaches the disk when
the owner commits the same rows elsewhere durably and `retire`s the segment, or when a
machine crash is survived by luck: the journal promises only the process-crash case.

Rows go to numbered segment files `<dir>/<n>.log`. `rotate` starts a new segment and
returns the previous one, to be `retire`d (deleted) once its rows are safe elsewhere.
`leftovers` lists the segments a previous process did not retire, and `replay` reads one
back; a torn last line (a machine crash mid-write) is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

SUFFIX = ".log"
# one encoder for every row: `json.dumps` with separators builds a new one per call (3 us)
_ENCODER = json.JSONEncoder(separators=(",", ":"))


class Journal:
    """Numbered append-only segment files in one directory; not thread-safe by itself."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        numbers = [number for number, _ in _segments(directory)]
        self._number = max(numbers, default=0)
        self._fd = -1
        self.bytes = 0

    def leftovers(self) -> list[Path]:
        """Segments on disk from before this journal opened, oldest first."""
        return [path for _, path in _segments(self._dir)]

    def open(self) -> None:
        """Start appending to a new segment (after any leftovers)."""
        self._number += 1
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL | os.O_CLOEXEC
        self._fd = os.open(self._path(self._number), flags, 0o600)
        self.bytes = 0

    def append(self, row: Sequence[Any]) -> None:
        """Write one row; raise OSError if the kernel did not take all of it."""
        line = _ENCODER.encode(row).encode() + b"\n"
        view = memoryview(line)
        while view:  # a regular file takes it whole unless the disk is full
            written = os.write(self._fd, view)
            view = view[written:]
        self.bytes += len(line)

    def rotate(self) -> Path:
        """Close the current segment, open the next; return the closed one's path."""
        previous = self._path(self._number)
        self.close()
        self.open()
        return previous

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _path(self, number: int) -> Path:
        return self._dir / f"{number:012d}{SUFFIX}"


def replay(segment: Path) -> Iterator[list[Any]]:
    """The rows of a segment in the order written; a torn final line is skipped."""
    lines = segment.read_bytes().split(b"\n")
    for index, line in enumerate(lines):
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if index == len(lines) - 1:  # no newline after it: torn by a crash
                return
            raise
        yield row


def retire(segment: Path) -> None:
    segment.unlink(missing_ok=True)


def _segments(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        if path.suffix == SUFFIX and path.stem.isdigit():
            found.append((int(path.stem), path))
    return sorted(found)
