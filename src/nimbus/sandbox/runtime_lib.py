"""The library directory every Python runtime gets: boto3 and its dependencies, as on Lambda.

The packages are pure Python, so one tree serves every python3.X interpreter. It is a
real directory tree (hard links into the platform's site-packages where the filesystem
allows, copies elsewhere), never symlinks: the environment sees the host through a
private mount tree in which the platform's install may be covered (a virtualenv under
/tmp lies beneath the environment's own /tmp), and a link would point into what is
hidden. A self-contained tree can be bound back, read-only, at its own path
(`keep_dirs` in the confinement plan), and botocore's data files load from it lazily.

Each tree is named by the versions it holds and never changes once renamed into place,
so servers sharing an install never pull a tree from under each other's environments.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
SKIPPED = ("__pycache__",)


def default_location() -> Path:
    """Outside the data directory, which environments cannot see."""
    prefix = Path(sys.prefix)
    if os.access(prefix, os.W_OK):
        return prefix / "nimbus-runtime-lib"
    return Path.home() / ".cache" / "nimbus" / "runtime-lib"


def build(location: Path) -> Path:
    """The tree for the installed package versions under `location`, built once."""
    sources = dict(_sources())
    target = location / _fingerprint(sources)
    if target.is_dir():
        return target
    location.mkdir(parents=True, exist_ok=True)
    for entry in location.iterdir():
        if entry.is_symlink():  # the links earlier versions made
            entry.unlink()
    staging = location / f".build-{os.getpid()}-{target.name}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for source in sources.values():
        _mirror(source, staging / source.name)
    try:
        os.rename(staging, target)
    except OSError as exc:  # another server renamed the same tree first
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    return target


def _sources() -> Iterator[tuple[str, Path]]:
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        yield name, origin.parent if origin.name == "__init__.py" else origin


def _fingerprint(sources: dict[str, Path]) -> str:
    """Names the tree by what is in it: each package's distribution version and origin."""
    distributions = importlib.metadata.packages_distributions()
    parts = []
    for name, source in sorted(sources.items()):
        versions = [
            f"{dist}=={importlib.metadata.version(dist)}" for dist in distributions.get(name, [])
        ]
        parts.append(f"{name}:{source}:{','.join(versions)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _mirror(source: Path, target: Path) -> None:
    if source.is_file():
        _place(source, target)
        return
    for directory, subdirs, files in os.walk(source):
        subdirs[:] = [name for name in subdirs if name not in SKIPPED]
        here = target / Path(directory).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            _place(Path(directory) / name, here / name)


def _place(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links refused: a copy reads the same
        shutil.copy2(source, target)
