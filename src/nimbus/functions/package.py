"""Lambda deployment packages: validate, extract and build zip files safely.

A package is untrusted input, so it is fully planned from the central directory
before a single byte is decompressed, and decompressed by this module (not by
`zipfile.ZipExtFile`) so that every size and checksum is checked by us.

Policy (every rejection is `InvalidParameterValue` with the AWS unzip text,
except the two size limits, which use their own AWS texts):

- The zip may hold at most `PackageLimits.entries` entries, counted before
  `zipfile` parses the directory so a huge directory cannot cost memory.
- Entry names are relative POSIX paths. Rejected: absolute paths, drive letters,
  backslashes, NUL, `..` components, components over 255 bytes, paths over
  4095 bytes. Empty and `.` components are ignored, so `./` is the root itself.
- Only stored and deflated entries; no encryption; no overlapping entries (the
  trick behind non-recursive zip bombs); local headers must match the directory.
- Unzipped size is bounded twice: by the declared sizes before reading, and by
  the bytes actually produced while reading, because a bomb can lie about its
  sizes. Each entry must then produce exactly its declared size and CRC-32.
- Regular files become 0o644, or 0o755 when any execute bit is set in the
  entry's Unix mode; directories become 0o755. Fifos and devices are rejected.
- A name may not be both a file and a directory, nor appear twice (repeated
  directory entries are fine), and nothing may live under a symlink.
- Symlinks are kept, as Lambda keeps them (`node_modules/.bin`, `lib.so`
  aliases), when their target is relative, made only of leading `..`
  components followed by plain names, and the `..` do not climb above the
  package root. Because a link's own directories are never links, and no `..`
  can follow a link, every link resolves inside the package, chains included.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import itertools
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TypeAlias

from nimbus.errors import InvalidParameterValue, NimbusError, RequestEntityTooLarge

UNZIP_ERROR_MESSAGE = (
    "Could not unzip uploaded file. Please check your file, then try to upload again."
)

_CHUNK = 1 << 20
_FEED = 1 << 16
_MAX_COMPONENT = 255
_MAX_PATH = 4095
_LOCAL_HEADER = b"PK\x03\x04"
_LOCAL_HEADER_SIZE = 30
_CENTRAL_ENTRY = b"PK\x01\x02"
_END_RECORD = b"PK\x05\x06"
_END_RECORD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_UTF8_NAMES = 0x800
_ENCRYPTED = 0x1
_DRIVE = re.compile(r"[A-Za-z]:")
_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".git"})

# A directory is a dict of its children; leaves say what kind of entry they are.
_Tree: TypeAlias = "dict[str, _Tree | EntryKind]"
_Buffer: TypeAlias = bytes | memoryview


@dataclass(frozen=True)
class PackageLimits:
    """Lambda's package limits; `entries` is nimbus's own guard, not an AWS limit."""

    zipped: int = 52_428_800
    unzipped: int = 262_144_000
    entries: int = 100_000


@dataclass(frozen=True)
class CodePackage:
    sha256: str  # base64 of the SHA-256 of the zip bytes (Lambda's CodeSha256)
    size: int  # zip size in bytes (CodeSize)
    unzipped_size: int
    digest_hex: str  # hex sha256, used as a content-address directory name


class EntryKind(Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    kind: EntryKind
    mode: int
    data_start: int
    target: str = ""


@dataclass(frozen=True)
class _Plan:
    entries: tuple[_Entry, ...]
    tree: _Tree

    @property
    def unzipped_size(self) -> int:
        return sum(entry.info.file_size for entry in self.entries)


class _Budget:
    """Bytes that may still be produced; `error` is raised once they run out."""

    def __init__(self, limit: int, error: Callable[[], NimbusError]) -> None:
        self.remaining = limit
        self.error = error

    def spend(self, amount: int) -> None:
        self.remaining -= amount
        if self.remaining < 0:
            raise self.error()


def _unzip_error() -> InvalidParameterValue:
    return InvalidParameterValue(UNZIP_ERROR_MESSAGE)


def _unzipped_too_large(limits: PackageLimits) -> InvalidParameterValue:
    return InvalidParameterValue(f"Unzipped size must be smaller than {limits.unzipped} bytes")


# ---------------------------------------------------------------- public API


def inspect_package(data: bytes, limits: PackageLimits) -> CodePackage:
    """Validate without extracting; raise the AWS errors.

    Every file is decompressed in memory (streamed, then discarded) so that
    checksums and real sizes are verified: an accepted package will extract.
    """
    plan = _plan(data, limits)
    view = memoryview(data)
    budget = _content_budget(plan, limits)
    for entry in plan.entries:
        if entry.kind is EntryKind.FILE:
            for _chunk in _inflate(view, entry, budget):
                pass
    return _describe(data, plan)


def extract_package(data: bytes, dest: Path, limits: PackageLimits) -> CodePackage:
    """Validate and extract atomically into `dest`.

    Extracts into a temporary directory beside `dest`, fsyncs, then renames it.
    `dest` is expected to be a content address: if it already exists (or a
    concurrent extraction wins the rename), it is left as is.
    """
    plan = _plan(data, limits)
    package = _describe(data, plan)
    if os.path.lexists(dest):
        return package
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{dest.name[:64]}.", suffix=".tmp", dir=dest.parent)
    try:
        _materialise(memoryview(data), plan, staging, limits)
        _publish(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return package


def build_package(files: Mapping[str, bytes | str]) -> bytes:
    """Zip `files` (name -> content) in memory, deterministically, mode 0o644."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            content = files[name]
            payload = content.encode() if isinstance(content, str) else content
            archive.writestr(_member(name, stat.S_IFREG | 0o644), payload)
    return buffer.getvalue()


def zip_directory(path: Path) -> bytes:
    """Zip a directory tree so that the same tree always gives the same bytes.

    Members are sorted and carry a fixed timestamp; only the execute bit of a
    file's mode is kept. `__pycache__`, `.git` and `*.pyc` are skipped, symlinks
    are stored as symlinks, and sockets, fifos and devices are left out. Same
    bytes across machines also needs the same zlib build.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, item in _walk(path):
            _add_to_zip(archive, name, item)
    return buffer.getvalue()


# ------------------------------------------------------------------ planning


def _plan(data: bytes, limits: PackageLimits) -> _Plan:
    if len(data) > limits.zipped:
        raise RequestEntityTooLarge(f"Zipped size must be smaller than {limits.zipped} bytes")
    if _central_entry_bound(data) > limits.entries:
        raise _unzip_error()
    entries = [_classify(data, info) for info in _read_directory(data)]
    if sum(entry.info.file_size for entry in entries) > limits.unzipped:
        raise _unzipped_too_large(limits)
    _check_no_overlap(entries)
    kept = tuple(_with_target(data, entry) for entry in entries if entry.parts)
    return _Plan(kept, _layout(kept))


def _central_entry_bound(data: bytes) -> int:
    """An upper bound on the entries `zipfile` would parse, at C speed."""
    end = len(data) - _END_RECORD_SIZE
    if end < 0:
        return 0  # too short to be a zip: zipfile will say so
    if not (data.startswith(_END_RECORD, end) and data.endswith(b"\0\0")):
        end = data.rfind(_END_RECORD, max(0, len(data) - (1 << 16) - _END_RECORD_SIZE))
    if end < 0:
        return 0  # not a zip: zipfile will say so without parsing any entry
    if end >= 20 and data.startswith(_ZIP64_LOCATOR, end - 20):
        return data.count(_CENTRAL_ENTRY)  # sizes come from the zip64 record
    directory_size = int.from_bytes(data[end + 12 : end + 16], "little")
    return data.count(_CENTRAL_ENTRY, max(0, end - directory_size), end)


def _read_directory(data: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        ValueError,  # includes UnicodeDecodeError of a UTF-8 flagged name
        EOFError,
        OSError,  # in-memory file: only seeks past either end raise this
        OverflowError,
    ) as exc:
        raise _unzip_error() from exc


def _classify(data: bytes, info: zipfile.ZipInfo) -> _Entry:
    if info.flag_bits & _ENCRYPTED or info.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    ):
        raise _unzip_error()
    kind, mode = _kind_and_mode(info)
    return _Entry(info, _safe_parts(info.orig_filename), kind, mode, _data_start(data, info))


def _kind_and_mode(info: zipfile.ZipInfo) -> tuple[EntryKind, int]:
    unix_mode = info.external_attr >> 16
    file_type = stat.S_IFMT(unix_mode)
    if info.orig_filename.endswith("/") or file_type == stat.S_IFDIR:
        # Some tools mark directories as regular files; the slash decides.
        if file_type not in (0, stat.S_IFDIR, stat.S_IFREG) or info.file_size:
            raise _unzip_error()
        return EntryKind.DIRECTORY, 0o755
    if file_type == stat.S_IFLNK:
        return EntryKind.SYMLINK, 0o777
    if file_type not in (0, stat.S_IFREG):
        raise _unzip_error()
    return EntryKind.FILE, 0o755 if unix_mode & 0o111 else 0o644


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path components of an entry name, or an error if it could escape."""
    if "\0" in name or "\\" in name or name.startswith("/") or _DRIVE.match(name):
        raise _unzip_error()
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    encoded = [len(part.encode()) for part in parts]
    if ".." in parts or sum(encoded) + len(parts) - 1 > _MAX_PATH:
        raise _unzip_error()
    if any(length > _MAX_COMPONENT for length in encoded):
        raise _unzip_error()
    if not parts and not name.endswith("/"):
        raise _unzip_error()  # "." alone names no file
    return parts


def _data_start(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where the entry's compressed bytes begin, after checking its local header."""
    offset = info.header_offset
    if offset < 0 or not data.startswith(_LOCAL_HEADER, offset):
        raise _unzip_error()
    header = data[offset : offset + _LOCAL_HEADER_SIZE]
    if len(header) < _LOCAL_HEADER_SIZE:
        raise _unzip_error()
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    name_start = offset + _LOCAL_HEADER_SIZE
    encoding = "utf-8" if info.flag_bits & _UTF8_NAMES else "cp437"
    if data[name_start : name_start + name_length] != info.orig_filename.encode(encoding):
        raise _unzip_error()
    start = name_start + name_length + extra_length
    if start + info.compress_size > len(data):
        raise _unzip_error()
    return start


def _check_no_overlap(entries: list[_Entry]) -> None:
    ordered = sorted(entries, key=lambda entry: entry.info.header_offset)
    for current, following in itertools.pairwise(ordered):
        if current.data_start + current.info.compress_size > following.info.header_offset:
            raise _unzip_error()


def _with_target(data: bytes, entry: _Entry) -> _Entry:
    """Read and vet a symlink's target; other entries pass through."""
    if entry.kind is not EntryKind.SYMLINK:
        return entry
    if entry.info.file_size > _MAX_PATH:
        raise _unzip_error()
    raw = b"".join(_inflate(memoryview(data), entry, _Budget(_MAX_PATH, _unzip_error)))
    try:
        target = raw.decode()
    except UnicodeDecodeError as exc:
        raise _unzip_error() from exc
    _check_target(entry.parts, target)
    return _Entry(entry.info, entry.parts, entry.kind, entry.mode, entry.data_start, target)


def _check_target(parts: tuple[str, ...], target: str) -> None:
    if not target or "\0" in target or "\\" in target or target.startswith("/"):
        raise _unzip_error()
    components = target.split("/")
    climbs = next((index for index, part in enumerate(components) if part != ".."), len(components))
    if climbs > len(parts) - 1 or _DRIVE.match(target):
        raise _unzip_error()
    if any(part in ("", ".", "..") for part in components[climbs:]):
        raise _unzip_error()


def _layout(entries: tuple[_Entry, ...]) -> _Tree:
    """The directory tree the entries describe; rejects every name collision."""
    root: _Tree = {}
    for entry in entries:
        node = root
        for part in entry.parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise _unzip_error()  # a file or symlink used as a directory
            node = child
        existing = node.get(entry.parts[-1])
        if entry.kind is EntryKind.DIRECTORY and existing is None:
            node[entry.parts[-1]] = {}
        elif entry.kind is EntryKind.DIRECTORY and isinstance(existing, dict):
            continue
        elif existing is None:
            node[entry.parts[-1]] = entry.kind
        else:
            raise _unzip_error()
    return root


# ------------------------------------------------------------- decompression


def _content_budget(plan: _Plan, limits: PackageLimits) -> _Budget:
    links = sum(e.info.file_size for e in plan.entries if e.kind is EntryKind.SYMLINK)
    return _Budget(limits.unzipped - links, lambda: _unzipped_too_large(limits))


def _inflate(view: memoryview, entry: _Entry, budget: _Budget) -> Iterator[_Buffer]:
    """The entry's bytes; the size and CRC-32 are checked once they are all out."""
    info = entry.info
    raw = view[entry.data_start : entry.data_start + info.compress_size]
    chunks = _stored(raw) if info.compress_type == zipfile.ZIP_STORED else _deflated(raw)
    size = crc = 0
    for chunk in chunks:
        budget.spend(len(chunk))
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if size != info.file_size or crc != info.CRC:
        raise _unzip_error()


def _stored(raw: memoryview) -> Iterator[_Buffer]:
    for start in range(0, len(raw), _CHUNK):
        yield raw[start : start + _CHUNK]


def _deflated(raw: memoryview) -> Iterator[_Buffer]:
    decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    # Small feeds keep `unconsumed_tail`, a copy of the unread input, small.
    feeds: list[_Buffer] = [raw[start : start + _FEED] for start in range(0, len(raw), _FEED)]
    for feed in [*feeds, b""]:
        pending = feed
        while True:
            try:
                chunk = decompressor.decompress(pending, _CHUNK)
            except zlib.error as exc:
                raise _unzip_error() from exc
            pending = decompressor.unconsumed_tail
            if not chunk:
                break  # output is capped, so no output means the feed is used up
            yield chunk
    if not decompressor.eof:
        raise _unzip_error()  # truncated stream


# ---------------------------------------------------------------- extraction


def _materialise(view: memoryview, plan: _Plan, root: str, limits: PackageLimits) -> None:
    budget = _content_budget(plan, limits)
    try:
        directories = _make_directories(root, plan.tree)
        for entry in plan.entries:
            if entry.kind is EntryKind.FILE:
                _write_file(view, entry, os.path.join(root, *entry.parts), budget)
        # Links last, so no write can ever pass through one.
        for entry in plan.entries:
            if entry.kind is EntryKind.SYMLINK:
                os.symlink(entry.target, os.path.join(root, *entry.parts))
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise _unzip_error() from exc
        raise
    for directory in directories:
        os.chmod(directory, 0o755)
        _fsync_path(directory)


def _make_directories(root: str, tree: _Tree) -> list[str]:
    made = [root]
    pending = [(root, tree)]
    while pending:
        path, node = pending.pop()
        for name, child in node.items():
            if isinstance(child, dict):
                made.append(os.path.join(path, name))
                os.mkdir(made[-1], 0o755)
                pending.append((made[-1], child))
    return made


def _write_file(view: memoryview, entry: _Entry, path: str, budget: _Budget) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, 0o600)
    try:
        for chunk in _inflate(view, entry, budget):
            _write_all(descriptor, chunk)
        os.fchmod(descriptor, entry.mode)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, chunk: _Buffer) -> None:
    remaining = memoryview(chunk)
    while remaining:
        remaining = remaining[os.write(descriptor, remaining) :]


def _fsync_path(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _publish(staging: str, dest: Path) -> None:
    try:
        os.rename(staging, dest)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not dest.is_dir():
            raise
        shutil.rmtree(staging)  # a concurrent extraction of the same content won
        return
    _fsync_path(os.fspath(dest.parent))


def _describe(data: bytes, plan: _Plan) -> CodePackage:
    digest = hashlib.sha256(data).digest()
    return CodePackage(
        sha256=base64.b64encode(digest).decode("ascii"),
        size=len(data),
        unzipped_size=plan.unzipped_size,
        digest_hex=digest.hex(),
    )


# ------------------------------------------------------------------ building


def _walk(directory: Path, prefix: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(zip name, member) below `directory`, parents first, siblings by name."""
    with os.scandir(directory) as listing:
        children = sorted(listing, key=lambda item: item.name)
    for child in children:
        if child.name in _SKIPPED_DIRECTORIES or child.name.endswith(".pyc"):
            continue
        yield prefix + child.name, child
        if child.is_dir(follow_symlinks=False):
            yield from _walk(Path(child.path), f"{prefix}{child.name}/")


def _add_to_zip(archive: zipfile.ZipFile, name: str, item: os.DirEntry[str]) -> None:
    mode = item.stat(follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        link = _member(name, stat.S_IFLNK | 0o777, zipfile.ZIP_STORED)
        archive.writestr(link, os.readlink(item.path))
    elif stat.S_ISDIR(mode):
        directory = _member(name + "/", stat.S_IFDIR | 0o755, zipfile.ZIP_STORED)
        directory.CRC = 0  # ZipFile.mkdir fills these in only for names, not ZipInfo
        archive.mkdir(directory)
    elif stat.S_ISREG(mode):
        permissions = 0o755 if mode & 0o111 else 0o644
        archive.writestr(_member(name, stat.S_IFREG | permissions), Path(item.path).read_bytes())


def _member(name: str, mode: int, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _EPOCH)
    info.create_system = _UNIX
    info.external_attr = mode << 16
    info.compress_type = method
    return info
