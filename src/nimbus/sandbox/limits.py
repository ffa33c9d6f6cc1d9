"""Resource limits of execution environments, host side.

`probe()` finds out what this host can enforce; `enforcement_report()` says it in
words (`nimbus doctor`); `CgroupManager` makes one cgroup per environment; and
`rlimits_for()` gives the rlimits the child applies. The child side, which joins
the cgroup, builds the mount namespace and drops privileges, is
`runtimes/python/confine.py`.

Env groups live under this process's own cgroup (read from /proc/self/cgroup), so
a platform that is itself limited or delegated a subtree stays inside it.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import errno
import logging
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

MIB = 1024 * 1024
WANTED_CONTROLLERS = ("memory", "cpu", "pids")
PIDS_MAX = 1024
CFS_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000
NOFILE = 1024
AS_HEADROOM_MB = 1024
REMOVE_DEADLINE_S = 1.0
# user last: inside a user namespace the other unshares would succeed unprivileged
CLONE_FLAGS = {"mount": 0x00020000, "pid": 0x20000000, "net": 0x40000000, "user": 0x10000000}


class CgroupVersion(enum.Enum):
    V1 = "v1"
    V2 = "v2"


@dataclass(frozen=True)
class Controller:
    """A cgroup controller and this process's own group in the hierarchy holding it."""

    name: str
    version: CgroupVersion
    directory: str


@dataclass(frozen=True)
class Support:
    """Whether a mechanism is available; `detail` says how, or why not."""

    available: bool
    detail: str


@dataclass(frozen=True)
class HostCapabilities:
    is_root: bool
    controllers: tuple[Controller, ...]
    cgroups: Support
    mount_ns: Support
    user_ns: Support
    pid_ns: Support
    net_ns: Support
    privilege_drop: Support

    def controller(self, name: str) -> Controller | None:
        """The named controller when env groups can be made with it."""
        if not self.cgroups.available:
            return None
        return next((c for c in self.controllers if c.name == name), None)


@dataclass(frozen=True)
class Enforcement:
    name: str
    enforced: bool
    mechanism_or_reason: str


# ---------------------------------------------------------------- probing


def probe() -> HostCapabilities:
    """What this host offers; cheap, and never raises."""
    is_root = _is_root()
    found, cgroup_note = _probe_controllers()
    controllers, cgroups = _writable(found) if found else ((), Support(False, cgroup_note))
    namespaces = _probe_namespaces()
    drop = Support(True, "setuid/setgid as root") if is_root else Support(False, "not root")
    return HostCapabilities(
        is_root=is_root,
        controllers=controllers,
        cgroups=cgroups,
        mount_ns=namespaces["mount"],
        user_ns=namespaces["user"],
        pid_ns=namespaces["pid"],
        net_ns=namespaces["net"],
        privilege_drop=drop,
    )


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0


def parse_mounts(text: str) -> list[tuple[str, str, set[str]]]:
    """(fstype, mount point, options) of each cgroup/cgroup2 line of /proc/self/mounts."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] in ("cgroup", "cgroup2"):
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[1])  # \040
            found.append((fields[2], point, set(fields[3].split(","))))
    return found


def parse_self_cgroup(text: str) -> dict[str, str]:
    """Controller name -> own path; the unified (v2) hierarchy is under key ""."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for name in parts[1].split(",") if parts[1] else [""]:
                paths[name] = parts[2]
    return paths


def find_controllers(
    mounts_text: str, self_cgroup_text: str, read: Callable[[str], str]
) -> tuple[Controller, ...]:
    """The wanted controllers, from v1 per-controller mounts or a v2 hierarchy's
    cgroup.controllers (a hybrid host may have both; a controller is in one only)."""
    own = parse_self_cgroup(self_cgroup_text)
    found: dict[str, Controller] = {}
    for fstype, point, options in parse_mounts(mounts_text):
        key_options = options if fstype == "cgroup" else {""}
        for key in key_options & set(own):
            directory = _join(point, own[key])
            names = set(WANTED_CONTROLLERS) & options if key else _v2_controllers(read, directory)
            version = CgroupVersion.V1 if key else CgroupVersion.V2
            for name in names - set(found):
                found[name] = Controller(name, version, directory)
    return tuple(found[name] for name in WANTED_CONTROLLERS if name in found)


def _v2_controllers(read: Callable[[str], str], directory: str) -> set[str]:
    try:
        return set(WANTED_CONTROLLERS) & set(read(f"{directory}/cgroup.controllers").split())
    except OSError:
        return set()


def _join(mount_point: str, own_path: str) -> str:
    relative = own_path.strip("/")
    base = mount_point.rstrip("/")
    return f"{base}/{relative}" if relative else base or "/"


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _probe_controllers() -> tuple[tuple[Controller, ...], str]:
    try:
        mounts, own = _read("/proc/self/mounts"), _read("/proc/self/cgroup")
    except OSError as exc:
        return (), f"no /proc to read cgroup mounts from ({exc.strerror})"
    found = find_controllers(mounts, own, _read)
    usable = tuple(c for c in found if _v2_delegable(c) and os.path.isdir(c.directory))
    if not usable:
        return (), "no memory, cpu or pids controller mounted or delegated"
    return usable, ""


def _v2_delegable(controller: Controller) -> bool:
    """v2's no-internal-process rule: a non-root group that holds processes cannot
    enable controllers for children, unless they are already enabled."""
    if controller.version is CgroupVersion.V1:
        return True
    directory = controller.directory
    try:
        enabled = _read(f"{directory}/cgroup.subtree_control").split()
        has_procs = bool(_read(f"{directory}/cgroup.procs").strip())
        is_root_group = not os.path.exists(f"{directory}/cgroup.type")
    except OSError:
        return False
    return controller.name in enabled or is_root_group or not has_procs


def _writable(controllers: tuple[Controller, ...]) -> tuple[tuple[Controller, ...], Support]:
    """The controllers we can make groups with, and the cgroup support they add up to."""
    writable = tuple(c for c in controllers if os.access(c.directory, os.W_OK))
    unwritable = sorted({f"{c.name} ({c.directory})" for c in controllers if c not in writable})
    refused = f"cannot create groups for {', '.join(unwritable)}" if unwritable else ""
    if not writable:
        return (), Support(False, refused)
    parts = [f"{c.name} ({c.version.value})" for c in writable]
    return writable, Support(
        True, "; ".join(filter(None, ["cgroups: " + ", ".join(parts), refused]))
    )


def _probe_namespaces() -> dict[str, Support]:
    """Try unshare(2) for each namespace in a throwaway forked child."""
    if not sys.platform.startswith("linux"):
        return {kind: Support(False, "not Linux") for kind in CLONE_FLAGS}
    try:
        errnos = _unshare_in_child()
    except OSError as exc:
        reason = f"could not fork a probe child: {exc.strerror}"
        return {kind: Support(False, reason) for kind in CLONE_FLAGS}
    return {
        kind: Support(True, "unshare(2)")
        if errnos.get(kind) == 0
        else Support(False, f"unshare(2) refused: {os.strerror(errnos.get(kind, errno.ENOSYS))}")
        for kind in CLONE_FLAGS
    }


def _unshare_in_child() -> dict[str, int]:
    """Each namespace's unshare errno (0 = worked), reported by a child through a pipe."""
    read_fd, write_fd = os.pipe()
    try:
        with warnings.catch_warnings():
            # the child only calls unshare and _exit, so fork in a threaded server is safe
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            report = " ".join(f"{kind}={_try_unshare(flag)}" for kind, flag in CLONE_FLAGS.items())
            os.write(write_fd, report.encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        report = pipe.read().decode()
    os.waitpid(pid, 0)
    pairs = (item.split("=") for item in report.split())
    return {kind: int(code) for kind, code in pairs}


def _try_unshare(flag: int) -> int:  # pragma: no cover - runs in the probe child
    try:
        unshare = getattr(os, "unshare", None)
        if unshare is not None:
            unshare(flag)
            return 0
        libc = ctypes.CDLL(None, use_errno=True)
        return 0 if libc.unshare(flag) == 0 else ctypes.get_errno()
    except OSError as exc:
        return exc.errno or errno.EPERM
    except AttributeError:
        return errno.ENOSYS


# ---------------------------------------------------------------- the report


def enforcement_report(caps: HostCapabilities) -> list[Enforcement]:
    """Each limit of DESIGN.md §5 and whether this host enforces it, and how."""
    return [
        _memory_enforcement(caps),
        _cpu_enforcement(caps),
        Enforcement("timeout", True, "SIGKILL at the deadline"),
        _pids_enforcement(caps),
        _mount_enforcement(caps, "private /tmp", "tmpfs of EphemeralStorage size", None),
        _mount_enforcement(
            caps,
            "read-only code",
            "read-only bind mount",
            "code owned by root, handler unprivileged",
        ),
        _mount_enforcement(
            caps,
            "hidden data dir",
            "empty tmpfs over it",
            "data dir mode 0700, handler unprivileged",
        ),
        Enforcement(
            "unprivileged handler", caps.privilege_drop.available, _drop_detail(caps.privilege_drop)
        ),
        Enforcement(
            "network isolation",
            False,
            "not enforced yet: environments share the host network "
            f"(network namespaces {'available' if caps.net_ns.available else 'unavailable'})",
        ),
    ]


def _memory_enforcement(caps: HostCapabilities) -> Enforcement:
    memory = caps.controller("memory")
    if memory is None:
        reason = f"RLIMIT_AS fallback (address space, not resident memory): {caps.cgroups.detail}"
        return Enforcement("memory limit", True, reason)
    if memory.version is CgroupVersion.V2:
        return Enforcement("memory limit", True, "cgroup v2 memory.max, memory.swap.max=0")
    return Enforcement("memory limit", True, "cgroup v1 memory.limit_in_bytes (+memsw, no swap)")


def _cpu_enforcement(caps: HostCapabilities) -> Enforcement:
    cpu = caps.controller("cpu")
    if cpu is None:
        return Enforcement("cpu share", False, f"no cpu cgroup: {caps.cgroups.detail}")
    knob = "cpu.max" if cpu.version is CgroupVersion.V2 else "cpu.cfs_quota_us"
    return Enforcement("cpu share", True, f"cgroup {cpu.version.value} {knob}, 1769 MB per vCPU")


def _pids_enforcement(caps: HostCapabilities) -> Enforcement:
    pids = caps.controller("pids")
    if pids is None:
        # RLIMIT_NPROC counts per uid, and every environment shares one uid
        return Enforcement("process count", False, f"no pids cgroup: {caps.cgroups.detail}")
    return Enforcement("process count", True, f"cgroup {pids.version.value} pids.max={PIDS_MAX}")


def _mount_enforcement(
    caps: HostCapabilities, name: str, mechanism: str, uid_fallback: str | None
) -> Enforcement:
    if caps.mount_ns.available:
        return Enforcement(name, True, f"mount namespace: {mechanism}")
    if uid_fallback and caps.privilege_drop.available:
        return Enforcement(name, True, f"{uid_fallback} (no mount namespace)")
    return Enforcement(name, False, f"no mount namespace: {caps.mount_ns.detail}")


def _drop_detail(drop: Support) -> str:
    if drop.available:
        return "setgroups/setgid/setuid to the sandbox uid"
    return f"handler runs as the platform's user: {drop.detail}"


def rlimits_for(memory_mb: int, caps: HostCapabilities) -> dict[str, int]:
    """Rlimits for an environment, by `resource.RLIMIT_<name>`.

    No RLIMIT_NPROC: it counts per uid, and all environments share one."""
    limits = {"NOFILE": NOFILE, "CORE": 0}
    if caps.controller("memory") is None:
        # address space runs well ahead of resident memory (thread stacks, arenas)
        limits["AS"] = (2 * memory_mb + AS_HEADROOM_MB) * MIB
    return limits


# ---------------------------------------------------------------- cgroups


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
        group = self._group("memory")
        if group is None:
            return None
        name = "memory.peak" if group.version is CgroupVersion.V2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(f"{group.path}/{name}"))
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
