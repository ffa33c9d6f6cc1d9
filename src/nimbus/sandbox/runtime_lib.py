"""The library directory every Python runtime gets: boto3 and its dependencies, as on Lambda.

The packages are pure Python, so one copy (symlinks into the platform's own
site-packages) serves every python3.X interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def default_location() -> Path:
    """Outside the data directory, which environments cannot see."""
    prefix = Path(sys.prefix)
    if os.access(prefix, os.W_OK):
        return prefix / "nimbus-runtime-lib"
    return Path.home() / ".cache" / "nimbus" / "runtime-lib"


def build(target: Path) -> Path:
    """Create (or refresh) the directory of links; returns it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = target / source.name
        if link.is_symlink() and os.readlink(link) == str(source):
            continue
        tmp = target / f".{source.name}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(source)
        os.replace(tmp, link)
    return target
