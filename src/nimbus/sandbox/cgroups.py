"""The cgroup(s) of each execution environment: created with limits, measured, removed.

`CgroupManager` makes one group per environment under `<own cgroup>/<parent>` in every
hierarchy `limits.probe()` found usable (v1 per controller, or the v2 one) and writes
its memory and pids limits; `EnvCgroup` applies the CPU quota after init, reads peak
memory and OOM kills, and kills and removes the group when the environment ends.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

from nimbus.sandbox.limits import MIB, CgroupVersion, HostCapabilities

log = logging.getLogger(__name__)

PIDS_MAX = 1024
CFS_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000
REMOVE_DEADLINE_S = 1.0


@dataclass(frozen=True)
class _Group:
    """One directory of an env's group: a v1 hierarchy or the v2 one."""

    path: str
    version: CgroupVersion
    controllers: frozenset[str]


class EnvCgroup:
    """The cgroup(s) of one execution environment."""

    def __init__(self, env_id: str, groups: tuple[_Group, ...]) -> None:
        self.env_id = env_id
        self._groups = groups
        self._peak_fd = -1  # opened on first read: every invocation reads it again

    @property
    def procs_files(self) -> list[str]:
        """The files the environment's process writes its own pid into."""
        return [f"{g.path}/cgroup.procs" for g in self._groups]

    def apply_cpu_quota(self, memory_mb: int, mb_per_vcpu: int = 1769) -> bool:
        """CPU in proportion to memory; applied after init (Lambda boosts init CPU)."""
        group = self._group("cpu")
        if group is None:
            return False
        quota = max(MIN_QUOTA_US, CFS_PERIOD_US * memory_mb // mb_per_vcpu)
        try:
            if group.version is CgroupVersion.V2:
                _write(f"{group.path}/cpu.max", f"{quota} {CFS_PERIOD_US}")
            else:
                _write(f"{group.path}/cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(f"{group.path}/cpu.cfs_quota_us", str(quota))
        except OSError as exc:
            log.warning("cpu quota for %s not applied: %s", self.env_id, exc)
            return False
        return True

    def peak_memory_bytes(self) -> int | None:
        """Read after every invocation, so the file stays open and is re-read with one
        pread: opening it each time was a tenth of the server's CPU on a warm invoke."""
        try:
            if self._peak_fd < 0:
                group = self._group("memory")
                if group is None:
                    return None
                v2 = group.version is CgroupVersion.V2
                name = "memory.peak" if v2 else "memory.max_usage_in_bytes"
                self._peak_fd = os.open(f"{group.path}/{name}", os.O_RDONLY | os.O_CLOEXEC)
            return int(os.pread(self._peak_fd, 64, 0))
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        """Whether the kernel OOM-killed a process of this environment."""
        group = self._group("memory")
        if group is None:
            return False
        name = "memory.events" if group.version is CgroupVersion.V2 else "memory.oom_control"
        counters = _read_counters(f"{group.path}/{name}")
        if "oom_kill" in counters:
            return counters["oom_kill"] > 0
        # kernels before 4.13 lack the counter; hitting the limit is the best sign left
        return _read_counters(f"{group.path}/memory.failcnt").get("", 0) > 0

    def remove(self) -> bool:
        """Kill what is left in the group, then remove it; never raises."""
        if self._peak_fd >= 0:
            os.close(self._peak_fd)
            self._peak_fd = -1
        return all([_remove_group(g.path) for g in self._groups])

    def _group(self, controller: str) -> _Group | None:
        return next((g for g in self._groups if controller in g.controllers), None)


class CgroupManager:
    """Makes, and cleans up, the env groups under `<own cgroup>/<parent>`."""

    def __init__(self, caps: HostCapabilities, parent: str = "nimbus") -> None:
        _check_name(parent)
        self._parent = parent
        self._bases = _bases(caps)
        self._prepared = False

    @property
    def available(self) -> bool:
        return bool(self._bases)

    def create(self, env_id: str, memory_mb: int) -> EnvCgroup | None:
        """The env's groups with their limits set, or None when cgroups are unusable."""
        _check_name(env_id)
        if not self._bases:
            return None
        groups = tuple(
            _Group(f"{b.path}/{self._parent}/{env_id}", b.version, b.controllers)
            for b in self._bases
        )
        try:
            self._prepare()
            for group in groups:
                os.mkdir(group.path)
                _set_limits(group, memory_mb)
        except OSError as exc:
            log.warning("no cgroup for environment %s: %s", env_id, exc)
            EnvCgroup(env_id, groups).remove()
            return None
        return EnvCgroup(env_id, groups)

    def cleanup_stale(self) -> int:
        """Remove env groups left by a previous run; returns how many were removed."""
        removed = 0
        for base in self._bases:
            parent = f"{base.path}/{self._parent}"
            for entry in _subdirectories(parent):
                removed += 1 if _remove_group(entry) else 0
        return removed

    def close(self) -> None:
        """Remove every env group, then the parent groups (platform shutdown)."""
        self.cleanup_stale()
        for base in self._bases:
            with contextlib.suppress(OSError):
                os.rmdir(f"{base.path}/{self._parent}")
        self._prepared = False

    def _prepare(self) -> None:
        if self._prepared:
            return
        for base in self._bases:
            parent = f"{base.path}/{self._parent}"
            with contextlib.suppress(FileExistsError):
                os.mkdir(parent)
            if base.version is CgroupVersion.V2:
                enable = " ".join(f"+{name}" for name in sorted(base.controllers))
                _write(f"{base.path}/cgroup.subtree_control", enable)
                _write(f"{parent}/cgroup.subtree_control", enable)
        self._prepared = True


def _bases(caps: HostCapabilities) -> tuple[_Group, ...]:
    """This process's own groups, one per hierarchy, with the wanted controllers in each."""
    if not caps.cgroups.available:
        return ()
    by_path: dict[str, _Group] = {}
    for c in caps.controllers:
        known = by_path.get(c.directory)
        names = (known.controllers if known else frozenset()) | {c.name}
        by_path[c.directory] = _Group(c.directory, c.version, names)
    return tuple(by_path.values())


def _set_limits(group: _Group, memory_mb: int) -> None:
    memory = str(memory_mb * MIB)
    path = group.path
    if group.version is CgroupVersion.V2:
        if "memory" in group.controllers:
            _write(f"{path}/memory.max", memory)
            _write_optional(f"{path}/memory.swap.max", "0")
            _write_optional(f"{path}/memory.oom.group", "1")
        if "pids" in group.controllers:
            _write(f"{path}/pids.max", str(PIDS_MAX))
        return
    if "memory" in group.controllers:
        _write(f"{path}/memory.limit_in_bytes", memory)
        # without this the group could escape its limit into swap
        _write_optional(f"{path}/memory.memsw.limit_in_bytes", memory)
        _write_optional(f"{path}/memory.swappiness", "0")
    if "pids" in group.controllers:
        _write(f"{path}/pids.max", str(PIDS_MAX))


def _remove_group(path: str) -> bool:
    deadline = time.monotonic() + REMOVE_DEADLINE_S
    while True:
        _kill_members(path)
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                log.warning("cgroup %s not removed: %s", path, exc)
                return False
        time.sleep(0.005)


def _kill_members(path: str) -> None:
    if os.path.exists(f"{path}/cgroup.kill"):
        with contextlib.suppress(OSError):
            _write(f"{path}/cgroup.kill", "1")
            return
    for pid in _pids_in(path):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _pids_in(path: str) -> list[int]:
    try:
        return [int(line) for line in _read(f"{path}/cgroup.procs").split()]
    except (OSError, ValueError):
        return []


def _subdirectories(path: str) -> Iterator[str]:
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    yield from (entry.path for entry in entries if entry.is_dir(follow_symlinks=False))


def _read_counters(path: str) -> dict[str, int]:
    """`name value` lines (or one bare number, under key "") as a dict."""
    counters: dict[str, int] = {}
    try:
        text = _read(path)
    except OSError:
        return counters
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            *name, value = line.split()
            counters[" ".join(name)] = int(value)
    return counters


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"not a usable cgroup name: {name!r}")


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _write_optional(path: str, value: str) -> None:
    """Knobs that exist only with some kernels or boot options (swap accounting)."""
    with contextlib.suppress(OSError):
        _write(path, value)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()
