"""The enforcement report: each limit of DESIGN.md §5, and how this host enforces it.

Computed from `limits.probe()`'s capabilities; `nimbus doctor` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nimbus.sandbox.cgroups import PIDS_MAX
from nimbus.sandbox.limits import CgroupVersion, HostCapabilities, Support


@dataclass(frozen=True)
class Enforcement:
    name: str
    enforced: bool
    mechanism_or_reason: str


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
