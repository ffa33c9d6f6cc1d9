"""Building deployment packages: deterministic zips of a directory or of named files.

The CLI (`nimbus deploy`), scripts and tests build packages here; the platform's side,
which treats a package as untrusted input and extracts it safely, is
`nimbus.functions.package`.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNIX = 3
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".git"})


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
