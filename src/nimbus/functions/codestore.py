"""Deployment packages on disk, content-addressed: the zip and its extracted tree."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from nimbus.functions.model import CodeRef
from nimbus.functions.package import extract_package, inspect_package
from nimbus.functions.package_limits import PackageLimits


class CodeStore:
    """`zips/<sha256>.zip` is what GetFunction serves; `trees/<sha256>/` is what runs."""

    def __init__(self, root: Path, limits: PackageLimits) -> None:
        self._zips = root / "zips"
        self._trees = root / "trees"
        self._limits = limits
        for directory in (self._zips, self._trees):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o755)

    def save(self, data: bytes) -> CodeRef:
        """Validate, extract and persist a package; durable when this returns."""
        package = inspect_package(data, self._limits)
        extract_package(data, self._trees / package.digest_hex, self._limits)
        ref = CodeRef(sha256=package.sha256, size=package.size, digest_hex=package.digest_hex)
        zip_path = self.zip_path(ref)
        if not zip_path.exists():
            tmp = zip_path.with_suffix(".tmp")
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, zip_path)
        return ref

    def tree(self, ref: CodeRef) -> Path:
        return self._trees / ref.digest_hex

    def zip_path(self, ref: CodeRef) -> Path:
        return self._zips / f"{ref.digest_hex}.zip"

    def read_zip(self, digest_hex: str) -> bytes | None:
        if not digest_hex.isalnum():
            return None
        with contextlib.suppress(FileNotFoundError):
            return (self._zips / f"{digest_hex}.zip").read_bytes()
        return None

    def collect_garbage(self, referenced: Iterable[str]) -> None:
        """Remove packages no function version refers to any more."""
        keep = set(referenced)
        for path in self._zips.glob("*.zip"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)
        for path in self._trees.iterdir():
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
