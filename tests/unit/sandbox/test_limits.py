"""Host-side limits: probing, the enforcement report, env cgroups, rlimits."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.sandbox import cgroups, enforcement, limits
from nimbus.sandbox.cgroups import CgroupManager, EnvCgroup
from nimbus.sandbox.limits import CgroupVersion, Controller, HostCapabilities, Support

MIB = 1024 * 1024
REPORT_ITEMS = {
    "memory limit",
    "cpu share",
    "timeout",
    "process count",
    "private /tmp",
    "read-only code",
    "hidden data dir",
    "unprivileged handler",
    "network isolation",
}

HYBRID_MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""
HYBRID_SELF = """\
9:name=systemd:/
8:pids:/
4:memory:/box/a1
1:cpu,cpuacct:/
0::/
"""
UNIFIED_MOUNTS = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev 0 0\n"
UNIFIED_SELF = "0::/user.slice/nimbus.service\n"


def _no_controllers(path: str) -> str:
    return ""


def test_v1_controllers_come_from_per_controller_mounts_under_our_own_group() -> None:
    found = limits.find_controllers(HYBRID_MOUNTS, HYBRID_SELF, _no_controllers)

    assert found == (
        Controller("memory", CgroupVersion.V1, "/sys/fs/cgroup/memory/box/a1"),
        Controller("cpu", CgroupVersion.V1, "/sys/fs/cgroup/cpu,cpuacct"),
        Controller("pids", CgroupVersion.V1, "/sys/fs/cgroup/pids"),
    )


def test_v2_controllers_are_those_listed_in_cgroup_controllers() -> None:
    own = "/sys/fs/cgroup/user.slice/nimbus.service"
    files = {f"{own}/cgroup.controllers": "cpuset cpu io memory pids\n"}

    found = limits.find_controllers(UNIFIED_MOUNTS, UNIFIED_SELF, files.__getitem__)

    assert [(c.name, c.version, c.directory) for c in found] == [
        (name, CgroupVersion.V2, own) for name in ("memory", "cpu", "pids")
    ]


def test_a_hybrid_v2_hierarchy_with_controllers_delegated_fills_in_what_v1_lacks() -> None:
    mounts = "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n" + UNIFIED_MOUNTS
    own = "4:memory:/\n0::/\n"

    found = limits.find_controllers(mounts, own, lambda path: "memory pids")

    assert [(c.name, c.version) for c in found] == [
        ("memory", CgroupVersion.V1),
        ("pids", CgroupVersion.V2),
    ]


def test_no_cgroup_mounts_means_no_controllers() -> None:
    assert limits.find_controllers("proc /proc proc rw 0 0\n", "", _no_controllers) == ()


def test_escaped_mount_points_are_decoded() -> None:
    [(_, point, _)] = limits.parse_mounts(r"cgroup /sys/fs/my\040cg cgroup rw,pids 0 0")

    assert point == "/sys/fs/my cg"


@given(
    st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz_=", min_size=1, max_size=12),
        st.lists(st.text("abcdefgh0123456789.-_", min_size=1, max_size=8), max_size=4),
        max_size=6,
    )
)
def test_self_cgroup_lines_parse_back_to_their_paths(groups: dict[str, list[str]]) -> None:
    lines = [f"{i + 1}:{name}:/{'/'.join(parts)}" for i, (name, parts) in enumerate(groups.items())]

    parsed = limits.parse_self_cgroup("\n".join([*lines, "0::/x"]))

    assert parsed == {"": "/x", **{name: "/" + "/".join(p) for name, p in groups.items()}}


def test_probe_on_this_host_is_sane() -> None:
    caps = limits.probe()

    assert caps.is_root == (os.geteuid() == 0)
    assert caps.privilege_drop.available == caps.is_root
    names = [c.name for c in caps.controllers]
    assert len(names) == len(set(names))
    assert set(names) <= {"memory", "cpu", "pids"}
    assert all(os.path.isdir(c.directory) for c in caps.controllers)
    for support in (caps.cgroups, caps.mount_ns, caps.user_ns, caps.pid_ns, caps.net_ns):
        assert support.detail
    if caps.is_root and caps.controllers:
        assert caps.cgroups.available


def test_probe_without_proc_or_linux_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_proc(path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(limits, "_read", no_proc)
    monkeypatch.setattr(sys, "platform", "darwin")

    caps = limits.probe()

    assert caps.controllers == ()
    assert not caps.cgroups.available
    assert "no /proc" in caps.cgroups.detail
    assert not caps.mount_ns.available
    assert caps.mount_ns.detail == "not Linux"
    assert CgroupManager(caps).create("env-1", 128) is None


def test_probe_as_an_unprivileged_user_degrades() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to become an unprivileged user in a child")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            caps = limits.probe()
            created = CgroupManager(caps).create("env-1", 128)
            enforced = sorted(e.name for e in enforcement.enforcement_report(caps) if e.enforced)
            facts = [caps.is_root, caps.cgroups.available, caps.mount_ns.available, created]
            os.write(write_fd, repr([*facts, enforced]).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)

    assert answer == repr([False, False, False, None, ["memory limit", "timeout"]])


def _caps(
    controllers: tuple[Controller, ...] = (), namespaces: bool = False, root: bool = False
) -> HostCapabilities:
    ns = Support(namespaces, "unshare(2)" if namespaces else "unshare(2) refused: EPERM")
    return HostCapabilities(
        is_root=root,
        controllers=controllers,
        cgroups=Support(bool(controllers), "cgroups" if controllers else "no cgroups mounted"),
        mount_ns=ns,
        user_ns=ns,
        pid_ns=ns,
        net_ns=ns,
        privilege_drop=Support(root, "setuid" if root else "not root"),
    )


def test_report_covers_every_limit_on_this_host() -> None:
    report = enforcement.enforcement_report(limits.probe())

    assert {item.name for item in report} == REPORT_ITEMS
    assert all(item.mechanism_or_reason for item in report)


def test_report_on_a_bare_laptop_is_honest() -> None:
    report = {item.name: item for item in enforcement.enforcement_report(_caps())}

    assert "RLIMIT_AS" in report["memory limit"].mechanism_or_reason
    assert report["timeout"].enforced
    for name in REPORT_ITEMS - {"memory limit", "timeout"}:
        assert not report[name].enforced, name
    assert "not enforced yet" in report["network isolation"].mechanism_or_reason


def test_report_on_a_fully_capable_host() -> None:
    controllers = tuple(Controller(n, CgroupVersion.V2, "/cg") for n in ("memory", "cpu", "pids"))
    report = enforcement.enforcement_report(_caps(controllers, namespaces=True, root=True))

    enforced = {item.name for item in report if item.enforced}
    assert enforced == REPORT_ITEMS - {"network isolation"}
    assert "memory.max" in next(i for i in report if i.name == "memory limit").mechanism_or_reason


def test_rlimits_add_an_address_space_cap_only_without_a_memory_cgroup() -> None:
    memory = (Controller("memory", CgroupVersion.V1, "/cg"),)

    assert limits.rlimits_for(128, _caps(memory)) == {"NOFILE": 1024, "CORE": 0}
    fallback = limits.rlimits_for(128, _caps())
    assert fallback["AS"] == (2 * 128 + 1024) * MIB
    assert "NPROC" not in fallback


def test_without_cgroups_create_returns_none() -> None:
    assert CgroupManager(_caps()).create("env-1", 128) is None


def test_create_returns_none_when_the_hierarchy_is_unusable(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    caps = _caps((Controller("memory", CgroupVersion.V1, str(missing)),))

    assert CgroupManager(caps).create("env-1", 128) is None


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x"])
def test_env_ids_that_are_not_one_path_component_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cgroup name"):
        CgroupManager(_caps()).create(name, 128)


def _fake_env(tmp_path: Path, version: CgroupVersion, files: dict[str, str]) -> EnvCgroup:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    group = cgroups._Group(str(tmp_path), version, frozenset({"memory", "cpu", "pids"}))
    return EnvCgroup("env-1", (group,))


def test_v2_oom_and_peak_come_from_memory_events_and_peak(tmp_path: Path) -> None:
    events = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n"
    env = _fake_env(tmp_path, CgroupVersion.V2, {"memory.events": events, "memory.peak": "999\n"})

    assert env.oom_killed()
    assert env.peak_memory_bytes() == 999


def test_v1_oom_counter_and_its_failcnt_fallback(tmp_path: Path) -> None:
    control = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"
    env = _fake_env(tmp_path, CgroupVersion.V1, {"memory.oom_control": control})
    assert not env.oom_killed()

    (tmp_path / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (tmp_path / "memory.failcnt").write_text("3\n")
    assert env.oom_killed()
    assert env.peak_memory_bytes() is None


@pytest.mark.parametrize(("memory_mb", "quota"), [(1769, 100_000), (128, 7_235), (10, 1_000)])
def test_v2_cpu_quota_is_proportional_to_memory(tmp_path: Path, memory_mb: int, quota: int) -> None:
    env = _fake_env(tmp_path, CgroupVersion.V2, {"cpu.max": ""})

    assert env.apply_cpu_quota(memory_mb)

    assert (tmp_path / "cpu.max").read_text() == f"{quota} 100000"


# ---------------------------------------------------------------- real cgroups


@pytest.fixture
def manager() -> Iterator[CgroupManager]:
    caps = limits.probe()
    if not caps.is_root:
        pytest.skip("creating cgroups needs root")
    if not caps.cgroups.available:
        pytest.skip(f"no usable cgroups: {caps.cgroups.detail}")
    manager = CgroupManager(caps, parent=f"nimbus-unit-{os.getpid()}")
    yield manager
    manager.close()
    for controller in caps.controllers:
        assert not os.path.exists(f"{controller.directory}/nimbus-unit-{os.getpid()}")


def _knob(env: EnvCgroup, name: str) -> str:
    for procs in env.procs_files:
        path = Path(procs).with_name(name)
        if path.exists():
            return path.read_text().split()[0]
    raise AssertionError(f"no {name} in {env.procs_files}")


def test_created_groups_carry_the_limits(manager: CgroupManager) -> None:
    env = manager.create("env-1", 128)
    assert env is not None
    v2 = any(Path(p).with_name("memory.max").exists() for p in env.procs_files)

    if v2:
        assert _knob(env, "memory.max") == str(128 * MIB)
    else:
        assert _knob(env, "memory.limit_in_bytes") == str(128 * MIB)
        assert _knob(env, "memory.memsw.limit_in_bytes") == str(128 * MIB)
    assert _knob(env, "pids.max") == "1024"
    assert env.apply_cpu_quota(128)
    assert "7235" in (_knob(env, "cpu.max") if v2 else _knob(env, "cpu.cfs_quota_us"))
    assert not env.oom_killed()
    assert env.peak_memory_bytes() == 0

    assert env.remove()
    assert not any(Path(p).parent.exists() for p in env.procs_files)


def test_remove_kills_what_is_left_in_the_group(manager: CgroupManager) -> None:
    env = manager.create("env-1", 128)
    assert env is not None
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        for procs in env.procs_files:
            Path(procs).write_text(str(os.getpid()))
        time.sleep(60)
        os._exit(0)
    _wait_until_member(env, pid)

    assert env.remove()

    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)


def _wait_until_member(env: EnvCgroup, pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if all(str(pid) in Path(p).read_text().split() for p in env.procs_files):
            return
        time.sleep(0.01)
    raise AssertionError("child did not join its cgroup")


def test_cleanup_stale_removes_groups_of_a_previous_run(manager: CgroupManager) -> None:
    envs = [manager.create(f"env-{i}", 128) for i in range(3)]

    removed = manager.cleanup_stale()

    assert removed == 3 * len(envs[0].procs_files if envs[0] else [])
    assert all(env and not Path(env.procs_files[0]).parent.exists() for env in envs)
