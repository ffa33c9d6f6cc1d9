"""Lambda deployment packages: validate and extract zip files safely.

A package is untrusted input, so it is fully planned from the central directory
before a single byte is decompressed (`package_plan`), and decompressed by us
(`package_inflate`, not `zipfile.ZipExtFile`) so that every size and checksum is
checked. This module validates and extracts; building zips is `nimbus.packaging`.

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
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nimbus.functions.package_inflate import Budget, Buffer, inflate
from nimbus.functions.package_limits import PackageLimits, unzip_error, unzipped_too_large
from nimbus.functions.package_plan import Entry, EntryKind, Plan, Tree, plan_package


@dataclass(frozen=True)
class CodePackage:
    sha256: str  # base64 of the SHA-256 of the zip bytes (Lambda's CodeSha256)
    size: int  # zip size in bytes (CodeSize)
    unzipped_size: int
    digest_hex: str  # hex sha256, used as a content-address directory name


# ---------------------------------------------------------------- public API


def inspect_package(data: bytes, limits: PackageLimits) -> CodePackage:
    """Validate without extracting; raise the AWS errors.

    Every file is decompressed in memory (streamed, then discarded) so that
    checksums and real sizes are verified: an accepted package will extract.
    """
    plan = plan_package(data, limits)
    view = memoryview(data)
    budget = _content_budget(plan, limits)
    for entry in plan.entries:
        if entry.kind is EntryKind.FILE:
            for _chunk in inflate(view, entry.info, entry.data_start, budget):
                pass
    return _describe(data, plan)


def extract_package(data: bytes, dest: Path, limits: PackageLimits) -> CodePackage:
    """Validate and extract atomically into `dest`.

    Extracts into a temporary directory beside `dest`, fsyncs, then renames it.
    `dest` is expected to be a content address: if it already exists (or a
    concurrent extraction wins the rename), it is left as is.
    """
    plan = plan_package(data, limits)
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


def _content_budget(plan: Plan, limits: PackageLimits) -> Budget:
    links = sum(e.info.file_size for e in plan.entries if e.kind is EntryKind.SYMLINK)
    return Budget(limits.unzipped - links, lambda: unzipped_too_large(limits))


# ---------------------------------------------------------------- extraction


def _materialise(view: memoryview, plan: Plan, root: str, limits: PackageLimits) -> None:
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
            raise unzip_error() from exc
        raise
    for directory in directories:
        os.chmod(directory, 0o755)
        _fsync_path(directory)


def _make_directories(root: str, tree: Tree) -> list[str]:
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


def _write_file(view: memoryview, entry: Entry, path: str, budget: Budget) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, 0o600)
    try:
        for chunk in inflate(view, entry.info, entry.data_start, budget):
            _write_all(descriptor, chunk)
        os.fchmod(descriptor, entry.mode)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, chunk: Buffer) -> None:
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


def _describe(data: bytes, plan: Plan) -> CodePackage:
    digest = hashlib.sha256(data).digest()
    return CodePackage(
        sha256=base64.b64encode(digest).decode("ascii"),
        size=len(data),
        unzipped_size=plan.unzipped_size,
        digest_hex=digest.hex(),
    )
