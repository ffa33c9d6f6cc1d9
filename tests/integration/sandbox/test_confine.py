"""confine() inside real child processes, under every Python runtime on this host.

Each test runs a small script in a fresh interpreter (as the zygote's children
would be) that confines itself and then reports what it can see as JSON.
Needs root, a mount namespace and cgroups; skips with the reason otherwise.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nimbus.sandbox import limits
from nimbus.sandbox.cgroups import CgroupManager, EnvCgroup
from nimbus.sandbox.limits import HostCapabilities

RUNTIME_DIR = Path(limits.__file__).parent / "runtimes" / "python"
SANDBOX_UID = 65534
MEMORY_MB = 64

# Like a zygote's child, the script imports what it needs before confining itself:
# interpreters under /root (mode 0700) cannot import lazily once the uid is dropped,
# so files are opened in binary or as utf-8 (whose codec is always loaded).
CHILD = r"""
import errno, json, os, resource, sys
sys.path.insert(0, sys.argv[1])
import confine

args = json.load(sys.stdin)
plan = args["plan"]
try:
    warnings = confine.confine(plan)
except confine.ConfinementError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(0)

def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]

def mount_type(path):
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                found = fields[fields.index("-") + 1]
    return found

code = plan.get("code_dir")
tmp = os.environ.get("TMPDIR", "/tmp")
stat = os.statvfs("/tmp")
report = {
    "warnings": warnings,
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "cwd": os.getcwd(),
    "tmpdir": tmp,
    "code": open(os.path.join(code, "handler.py"), encoding="utf-8").read(),
    "code_read_only": bool(os.statvfs(code).f_flag & os.ST_RDONLY),
    "code_write": attempt(lambda: open(os.path.join(code, "new.py"), "wb").close()),
    "data_write": attempt(lambda: open(os.path.join(args["data_dir"], "x"), "wb").close()),
    "secret_visible": os.path.exists(args["secret"]),
    "data_listing": sorted(os.listdir(args["data_dir"])),
    "tmp_marker_visible": os.path.exists(args["tmp_marker"]),
    "tmp_type": mount_type("/tmp"),
    "tmp_bytes": stat.f_blocks * stat.f_frsize,
    "tmp_write": attempt(lambda: open(os.path.join(tmp, "scratch"), "wb").close()),
    "cgroup": open("/proc/self/cgroup", encoding="utf-8").read(),
    "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
}
print(json.dumps(report))
sys.stdout.flush()
if args.get("hog"):
    chunks = []
    for _ in range(1024):  # 1 GiB at most: far past the limit
        chunks.append(b"x" * (1 << 20))
    sys.exit(3)
"""


def _interpreters() -> list[Any]:
    found = [pytest.param(sys.executable, id="platform")]
    for minor in range(9, 14):
        paths = sorted(glob.glob(f"/root/.pyenv/versions/3.{minor}*/bin/python3.{minor}"))
        if paths:
            found.append(pytest.param(paths[-1], id=f"3.{minor}"))
    return found


@pytest.fixture(scope="module")
def caps() -> HostCapabilities:
    caps = limits.probe()
    if not caps.is_root:
        pytest.skip("confinement needs root")
    if not caps.mount_ns.available:
        pytest.skip(f"no mount namespace: {caps.mount_ns.detail}")
    if caps.controller("memory") is None:
        pytest.skip(f"no memory cgroup: {caps.cgroups.detail}")
    return caps


@dataclass
class Layout:
    data_dir: Path
    code_dir: Path
    secret: Path
    tmp_marker: Path
    fallback_tmp: Path


@pytest.fixture
def layout() -> Iterator[Layout]:
    # outside /tmp, which the child covers with its own tmpfs
    root = Path(tempfile.mkdtemp(prefix="nimbus-confine-", dir="/var/tmp"))
    root.chmod(0o755)
    data = root / "data"
    code = data / "functions" / "f" / "code"
    code.mkdir(parents=True)
    (code / "handler.py").write_text("def handler(event, context): pass\n")
    (data / "secret.txt").write_text("root credentials\n")
    marker = Path(tempfile.mkstemp(prefix="nimbus-marker-", dir="/tmp")[1])
    yield Layout(data, code, data / "secret.txt", marker, data / "tmp" / "env-1")
    marker.unlink()
    shutil.rmtree(root)


@pytest.fixture
def cgroup(caps: HostCapabilities) -> Iterator[EnvCgroup]:
    manager = CgroupManager(caps, parent=f"nimbus-test-{os.getpid()}")
    group = manager.create("env-1", MEMORY_MB)
    assert group is not None
    yield group
    assert group.remove()
    manager.close()


def _plan(layout: Layout, group: EnvCgroup, **changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "cgroup_procs": group.procs_files,
        "mount_namespace": True,
        "code_dir": str(layout.code_dir),
        "hide_dirs": [str(layout.data_dir)],
        "tmp_dir": "/tmp",
        "tmp_size_mb": 16,
        "fallback_tmp": str(layout.fallback_tmp),
        "rlimits": {"NOFILE": 256},
        "uid": SANDBOX_UID,
        "gid": SANDBOX_UID,
    }
    plan.update(changes)
    return plan


def _run(
    interpreter: str, layout: Layout, plan: dict[str, Any], hog: bool = False
) -> tuple[int, dict[str, Any]]:
    request = {
        "plan": plan,
        "data_dir": str(layout.data_dir),
        "secret": str(layout.secret),
        "tmp_marker": str(layout.tmp_marker),
        "hog": hog,
    }
    done = subprocess.run(
        [interpreter, "-I", "-S", "-c", CHILD, str(RUNTIME_DIR)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert lines, f"child printed nothing (exit {done.returncode}): {done.stderr}"
    return done.returncode, json.loads(lines[0])


def _host_mount_points() -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


@pytest.mark.parametrize("interpreter", _interpreters())
def test_confined_environment_sees_only_what_it_should(
    interpreter: str, layout: Layout, cgroup: EnvCgroup
) -> None:
    code, report = _run(interpreter, layout, _plan(layout, cgroup))

    assert code == 0, report
    assert report["warnings"] == []
    assert (report["uid"], report["gid"], report["groups"]) == (SANDBOX_UID, SANDBOX_UID, [])
    assert report["cwd"] == str(layout.code_dir)
    assert report["code"].startswith("def handler")
    assert report["code_read_only"]
    assert report["code_write"] in ("EROFS", "EACCES")
    assert report["data_write"] in ("EROFS", "EACCES")
    assert not report["secret_visible"]
    assert report["data_listing"] == ["functions"]
    assert not report["tmp_marker_visible"]
    assert report["tmp_type"] == "tmpfs"
    assert report["tmp_bytes"] == 16 * 1024 * 1024
    assert report["tmp_write"] == "ok"
    assert report["nofile"] == [256, 256]
    for procs in cgroup.procs_files:
        group = Path(procs).parent
        assert any(
            line.endswith(f"/{group.parent.name}/{group.name}")
            for line in report["cgroup"].splitlines()
        ), (group, report["cgroup"])
    # everything happened in the child's own mount namespace
    assert layout.secret.exists()
    assert not {str(layout.data_dir), str(layout.code_dir)} & _host_mount_points()


def test_code_dir_is_read_only_even_for_root(layout: Layout, cgroup: EnvCgroup) -> None:
    _, report = _run(sys.executable, layout, _plan(layout, cgroup, uid=None))

    assert report["uid"] == 0
    assert report["code_write"] == "EROFS"
    assert report["data_write"] == "EROFS"


def test_memory_hog_is_oom_killed_by_the_cgroup(layout: Layout, cgroup: EnvCgroup) -> None:
    assert not cgroup.oom_killed()

    code, report = _run(sys.executable, layout, _plan(layout, cgroup), hog=True)

    assert report["warnings"] == []
    assert code == -signal.SIGKILL
    assert cgroup.oom_killed()
    peak = cgroup.peak_memory_bytes()
    assert peak is not None
    assert peak > (MEMORY_MB - 8) * limits.MIB


def test_failure_after_a_partial_mount_raises(layout: Layout, cgroup: EnvCgroup) -> None:
    # /tmp is mounted first; a hide target below a regular file then cannot be made
    blocked = str(layout.secret / "below-a-file")
    plan = _plan(layout, cgroup, hide_dirs=[blocked])

    _, report = _run(sys.executable, layout, plan)

    assert f"hide {blocked} failed after partial confinement" in report["error"]


def test_without_mount_namespace_it_degrades_to_warnings(layout: Layout, cgroup: EnvCgroup) -> None:
    plan = _plan(layout, cgroup, mount_namespace=False, hide_dirs=[])

    code, report = _run(sys.executable, layout, plan)

    assert code == 0
    assert any("no mount namespace" in warning for warning in report["warnings"])
    assert report["tmpdir"] == str(layout.fallback_tmp)
    assert report["tmp_write"] == "ok"
    assert report["uid"] == SANDBOX_UID
    assert report["secret_visible"]  # honest: nothing hides it without a namespace
    assert layout.fallback_tmp.stat().st_uid == SANDBOX_UID
