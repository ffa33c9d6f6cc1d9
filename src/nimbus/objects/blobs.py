"""Object and part bytes as files under `<data_dir>/objects/`, named by random ids.

A body streams into `tmp/<id>.tmp` while its digests are computed; once verified the
file is fsynced, renamed to `data/<id[:2]>/<id>` and the directory fsynced, so a file
under `data/` is always complete. Keys never become file names (they can be 1,024 bytes
of anything). At start-up every temp file is removed, and `sweep` removes data files no
metadata row refers to (a crash between the rename and the commit, or after a commit
and before the old file's unlink).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nimbus.objects import segments
from nimbus.objects.checksums import BodyDigests
from nimbus.objects.errors import EntityTooLarge
from nimbus.objects.model import Body

READ_CHUNK = 1024 * 1024
WRITE_BATCH = 1024 * 1024  # bytes hashed and written per hand-off to a worker thread
_COPY_CHUNK = 64 * 1024 * 1024
_IOV_MAX = 512  # buffers per writev, below every platform's IOV_MAX


@dataclass(frozen=True, slots=True)
class Blob:
    id: str
    size: int
    md5: bytes
    checksum: str | None = None


class BlobStore:
    def __init__(self, root: Path) -> None:
        self._tmp = root / "tmp"
        self._data = root / "data"

    def start(self) -> int:
        """Create the directories and remove the temp files a crash left; how many."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._data.mkdir(parents=True, exist_ok=True)
        removed = 0
        for orphan in self._tmp.iterdir():
            orphan.unlink(missing_ok=True)
            removed += 1
        return removed

    def sweep(self, referenced: Iterable[str]) -> int:
        """Remove data files that no row's reference names; how many."""
        kept = set(segments.blob_ids(referenced))
        removed = 0
        for shard in self._data.iterdir():
            for path in shard.iterdir():
                if path.name not in kept:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def path(self, blob: str) -> Path:
        return self._data / blob[:2] / blob

    async def write(self, body: Body, digests: BodyDigests, max_size: int) -> Blob:
        """Stream `body` to a new blob; nothing is kept if a digest fails or it is too big."""
        blob, tmp = self._new()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                batch: list[bytes] = []
                batched = 0
                async for chunk in _chunks(body):
                    batched += len(chunk)
                    if digests.size + batched > max_size:
                        raise EntityTooLarge(digests.size + batched, max_size)
                    batch.append(chunk)
                    if batched >= WRITE_BATCH:
                        # off the event loop: other requests' bytes keep arriving meanwhile
                        await asyncio.to_thread(_absorb, fd, digests, batch)
                        batch, batched = [], 0
                _absorb(fd, digests, batch)  # a small remainder: not worth a hand-off
                md5, checksum = digests.finish()
                await asyncio.to_thread(self._publish, fd, tmp, blob)
            finally:
                os.close(fd)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Blob(blob, digests.size, md5, checksum)

    async def concat(self, sources: Iterable[str], *, md5: bool = False) -> Blob:
        """A new blob holding the sources' bytes in order (the kernel copies when it can);
        with `md5` the bytes are read through and hashed instead."""
        blob, tmp = self._new()
        paths = [self.path(source) for source in segments.blob_ids(sources)]
        try:
            size, digest = await asyncio.to_thread(self._concat, paths, tmp, blob, md5)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Blob(blob, size, digest)

    def open(self, ref: str, start: int, length: int) -> BlobReader:
        """A reader of the object `ref` (segments.py) names; FileNotFoundError if it has
        been replaced meanwhile."""
        covered = segments.spans(ref, start, length)
        return BlobReader([(self.path(blob), offset, size) for blob, offset, size in covered])

    async def remove(self, refs: Iterable[str]) -> None:
        paths = [self.path(blob) for blob in segments.blob_ids(refs)]
        if paths:
            await asyncio.to_thread(_unlink_all, paths)

    def _new(self) -> tuple[str, Path]:
        blob = secrets.token_hex(16)
        return blob, self._tmp / f"{blob}.tmp"

    def _publish(self, fd: int, tmp: Path, blob: str) -> None:
        os.fsync(fd)
        final = self.path(blob)
        final.parent.mkdir(exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)

    def _concat(self, paths: list[Path], tmp: Path, blob: str, md5: bool) -> tuple[int, bytes]:
        hasher = hashlib.md5()
        size = 0
        with tmp.open("wb", buffering=0) as out:
            for path in paths:
                with path.open("rb", buffering=0) as source:
                    size += _read_through(source, out, hasher) if md5 else _copy(source, out)
            self._publish(out.fileno(), tmp, blob)
        return size, hasher.digest()


class BlobReader:
    """`length` bytes of an object from `start`, as chunks, across its segments. Every
    file is opened at once, so a concurrent overwrite or delete (which unlinks the old
    files) cannot cut a read short."""

    def __init__(self, spans: list[tuple[Path, int, int]]) -> None:
        self._spans: list[tuple[int, int, int]] = []
        try:
            for path, offset, length in spans:
                self._spans.append((os.open(path, os.O_RDONLY), offset, length))
        except BaseException:
            self.close()
            raise

    async def chunks(self, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """Every chunk once; the files are closed at the end (or by `close`)."""
        try:
            for fd, start, length in list(self._spans):
                position, end = start, start + length
                while position < end and self._spans:
                    size = min(chunk_size, end - position)
                    chunk = await asyncio.to_thread(os.pread, fd, size, position)
                    if not chunk:
                        break
                    position += len(chunk)
                    yield chunk
        finally:
            self.close()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    @property
    def length(self) -> int:
        return sum(length for _, _, length in self._spans)

    def read_now(self) -> bytes:
        """Every byte at once, on the calling thread (for small reads: a worker thread
        hand-off and a streamed response cost more than reading a few pages)."""
        try:
            return b"".join(os.pread(fd, length, start) for fd, start, length in self._spans)
        finally:
            self.close()

    def close(self) -> None:
        spans, self._spans = self._spans, []
        for fd, _, _ in spans:
            os.close(fd)


async def _chunks(body: Body) -> AsyncIterator[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        yield bytes(body)
        return
    async for chunk in body:
        if chunk:
            yield bytes(chunk)


def _absorb(fd: int, digests: BodyDigests, chunks: list[bytes]) -> None:
    """Hash and append `chunks` as they are: joining them first would copy every byte."""
    for chunk in chunks:
        digests.update(chunk)  # hashlib releases the GIL on buffers this large
    for start in range(0, len(chunks), _IOV_MAX):
        _write_all(fd, chunks[start : start + _IOV_MAX])


def _write_all(fd: int, chunks: list[bytes]) -> None:
    while chunks:
        written = os.writev(fd, chunks)
        while chunks and written >= len(chunks[0]):
            written -= len(chunks[0])
            chunks = chunks[1:]
        if written:  # a short write ended inside this chunk
            chunks = [chunks[0][written:], *chunks[1:]]


def _copy(source: BinaryIO, out: BinaryIO) -> int:
    """Append the rest of `source` to `out` (both unbuffered), in the kernel if it can."""
    copied = 0
    with contextlib.suppress(OSError):  # unsupported here: go on below from the same offsets
        while sent := os.copy_file_range(source.fileno(), out.fileno(), _COPY_CHUNK):
            copied += sent
        return copied
    before = out.tell()
    shutil.copyfileobj(source, out)
    return copied + out.tell() - before


def _read_through(source: BinaryIO, out: BinaryIO, hasher: hashlib._Hash) -> int:
    size = 0
    while chunk := source.read(READ_CHUNK):
        hasher.update(chunk)
        out.write(chunk)
        size += len(chunk)
    return size


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
