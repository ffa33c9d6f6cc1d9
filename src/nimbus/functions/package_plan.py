"""Planning a package from its central directory, before a single byte is decompressed.

Each entry is classified (file, directory or symlink, with its mode), its name and its
local header are checked, overlapping entries are refused and the directory tree is laid
out, rejecting every name collision; symlink targets are read and vetted. The policy is
in the docstring of `nimbus.functions.package`.
"""

from __future__ import annotations

import io
import itertools
import re
import stat
import zipfile
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from nimbus.errors import RequestEntityTooLarge
from nimbus.functions.package_inflate import Budget, inflate
from nimbus.functions.package_limits import PackageLimits, unzip_error, unzipped_too_large

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

# A directory is a dict of its children; leaves say what kind of entry they are.
Tree: TypeAlias = "dict[str, Tree | EntryKind]"


class EntryKind(Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    kind: EntryKind
    mode: int
    data_start: int
    target: str = ""


@dataclass(frozen=True)
class Plan:
    entries: tuple[Entry, ...]
    tree: Tree

    @property
    def unzipped_size(self) -> int:
        return sum(entry.info.file_size for entry in self.entries)


# ------------------------------------------------------------------ planning


def plan_package(data: bytes, limits: PackageLimits) -> Plan:
    if len(data) > limits.zipped:
        raise RequestEntityTooLarge(f"Zipped size must be smaller than {limits.zipped} bytes")
    if _central_entry_bound(data) > limits.entries:
        raise unzip_error()
    entries = [_classify(data, info) for info in _read_directory(data)]
    if sum(entry.info.file_size for entry in entries) > limits.unzipped:
        raise unzipped_too_large(limits)
    _check_no_overlap(entries)
    kept = tuple(_with_target(data, entry) for entry in entries if entry.parts)
    return Plan(kept, _layout(kept))


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
        raise unzip_error() from exc


def _classify(data: bytes, info: zipfile.ZipInfo) -> Entry:
    if info.flag_bits & _ENCRYPTED or info.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    ):
        raise unzip_error()
    kind, mode = _kind_and_mode(info)
    return Entry(info, _safe_parts(info.orig_filename), kind, mode, _data_start(data, info))


def _kind_and_mode(info: zipfile.ZipInfo) -> tuple[EntryKind, int]:
    unix_mode = info.external_attr >> 16
    file_type = stat.S_IFMT(unix_mode)
    if info.orig_filename.endswith("/") or file_type == stat.S_IFDIR:
        # Some tools mark directories as regular files; the slash decides.
        if file_type not in (0, stat.S_IFDIR, stat.S_IFREG) or info.file_size:
            raise unzip_error()
        return EntryKind.DIRECTORY, 0o755
    if file_type == stat.S_IFLNK:
        return EntryKind.SYMLINK, 0o777
    if file_type not in (0, stat.S_IFREG):
        raise unzip_error()
    return EntryKind.FILE, 0o755 if unix_mode & 0o111 else 0o644


def _safe_parts(name: str) -> tuple[str, ...]:
    """The path components of an entry name, or an error if it could escape."""
    if "\0" in name or "\\" in name or name.startswith("/") or _DRIVE.match(name):
        raise unzip_error()
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    encoded = [len(part.encode()) for part in parts]
    if ".." in parts or sum(encoded) + len(parts) - 1 > _MAX_PATH:
        raise unzip_error()
    if any(length > _MAX_COMPONENT for length in encoded):
        raise unzip_error()
    if not parts and not name.endswith("/"):
        raise unzip_error()  # "." alone names no file
    return parts


def _data_start(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where the entry's compressed bytes begin, after checking its local header."""
    offset = info.header_offset
    if offset < 0 or not data.startswith(_LOCAL_HEADER, offset):
        raise unzip_error()
    header = data[offset : offset + _LOCAL_HEADER_SIZE]
    if len(header) < _LOCAL_HEADER_SIZE:
        raise unzip_error()
    name_length = int.from_bytes(header[26:28], "little")
    extra_length = int.from_bytes(header[28:30], "little")
    name_start = offset + _LOCAL_HEADER_SIZE
    encoding = "utf-8" if info.flag_bits & _UTF8_NAMES else "cp437"
    if data[name_start : name_start + name_length] != info.orig_filename.encode(encoding):
        raise unzip_error()
    start = name_start + name_length + extra_length
    if start + info.compress_size > len(data):
        raise unzip_error()
    return start


def _check_no_overlap(entries: list[Entry]) -> None:
    ordered = sorted(entries, key=lambda entry: entry.info.header_offset)
    for current, following in itertools.pairwise(ordered):
        if current.data_start + current.info.compress_size > following.info.header_offset:
            raise unzip_error()


def _with_target(data: bytes, entry: Entry) -> Entry:
    """Read and vet a symlink's target; other entries pass through."""
    if entry.kind is not EntryKind.SYMLINK:
        return entry
    if entry.info.file_size > _MAX_PATH:
        raise unzip_error()
    budget = Budget(_MAX_PATH, unzip_error)
    raw = b"".join(inflate(memoryview(data), entry.info, entry.data_start, budget))
    try:
        target = raw.decode()
    except UnicodeDecodeError as exc:
        raise unzip_error() from exc
    _check_target(entry.parts, target)
    return Entry(entry.info, entry.parts, entry.kind, entry.mode, entry.data_start, target)


def _check_target(parts: tuple[str, ...], target: str) -> None:
    if not target or "\0" in target or "\\" in target or target.startswith("/"):
        raise unzip_error()
    components = target.split("/")
    climbs = next((index for index, part in enumerate(components) if part != ".."), len(components))
    if climbs > len(parts) - 1 or _DRIVE.match(target):
        raise unzip_error()
    if any(part in ("", ".", "..") for part in components[climbs:]):
        raise unzip_error()


def _layout(entries: tuple[Entry, ...]) -> Tree:
    """The directory tree the entries describe; rejects every name collision."""
    root: Tree = {}
    for entry in entries:
        node = root
        for part in entry.parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise unzip_error()  # a file or symlink used as a directory
            node = child
        existing = node.get(entry.parts[-1])
        if entry.kind is EntryKind.DIRECTORY and existing is None:
            node[entry.parts[-1]] = {}
        elif entry.kind is EntryKind.DIRECTORY and isinstance(existing, dict):
            continue
        elif existing is None:
            node[entry.parts[-1]] = entry.kind
        else:
            raise unzip_error()
    return root
