"""Which host directories the unprivileged sandbox user could not reach, and what to reveal.

Interpreters may live under a directory only root can traverse (pyenv in /root, mode
0700). In the environment's mount namespace such a directory is covered with an empty
tmpfs and only the needed subtrees are bound back, read-only.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any


def blocking_ancestor(path: Path) -> Path | None:
    """The first ancestor (or the path itself) that others cannot traverse."""
    current = Path("/")
    for part in path.resolve().parts[1:]:
        current = current / part
        try:
            mode = current.stat().st_mode
        except OSError:
            return None
        if current.is_dir() and not mode & 0o001:
            return current
    return None


def reveal_plan(needed: list[Path]) -> list[dict[str, Any]]:
    """`[{"cover": dir, "keep": [subtrees]}]` for every needed path behind a blocked dir."""
    covers: dict[Path, set[str]] = defaultdict(set)
    for path in needed:
        real = path.resolve()
        blocker = blocking_ancestor(real)
        if blocker is not None and blocker != real:
            covers[blocker].add(str(real))
    return [{"cover": str(cover), "keep": sorted(keep)} for cover, keep in covers.items()]


def interpreter_paths(interpreter: str) -> list[Path]:
    """The installation prefix of an interpreter (bin/python3.X -> prefix)."""
    return [Path(os.path.realpath(interpreter)).parent.parent]


def is_within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it, after resolving links in both."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(directory))
