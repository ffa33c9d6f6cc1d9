"""What this host can enforce on execution environments, and the rlimits they get.

`probe()` finds out, once at start-up, which cgroup controllers and namespaces this
host offers and whether privileges can be dropped; `rlimits_for()` gives the rlimits
the child applies. Built on the probe: `cgroups.CgroupManager` makes one cgroup per
environment and `enforcement.enforcement_report()` says in words what is enforced
(`nimbus doctor`). The child side, which joins the cgroup, builds the mount namespace
and drops privileges, is `runtimes/python/confine.py`.

Env groups live under this process's own cgroup (read from /proc/self/cgroup), so
a platform that is itself limited or delegated a subtree stays inside it.
"""

from __future__ import annotations

import ctypes
import enum
import errno
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

MIB = 1024 * 1024
WANTED_CONTROLLERS = ("memory", "cpu", "pids")
NOFILE = 1024
AS_HEADROOM_MB = 1024
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


def rlimits_for(memory_mb: int, caps: HostCapabilities) -> dict[str, int]:
    """Rlimits for an environment, by `resource.RLIMIT_<name>`.

    No RLIMIT_NPROC: it counts per uid, and all environments share one."""
    limits = {"NOFILE": NOFILE, "CORE": 0}
    if caps.controller("memory") is None:
        # address space runs well ahead of resident memory (thread stacks, arenas)
        limits["AS"] = (2 * memory_mb + AS_HEADROOM_MB) * MIB
    return limits
