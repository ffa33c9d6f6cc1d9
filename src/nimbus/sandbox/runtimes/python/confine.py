"""Confine a freshly forked execution environment before any user code runs.

Standard library only, and Python 3.9 to 3.13: every python3.X runtime loads it.
The host side that decides the plan is `nimbus.sandbox.factory` (with `limits`, `cgroups`).

    confine({
        "cgroup_procs": [".../cgroup.procs", ...],   # join the env's cgroups
        "mount_namespace": True,                      # the steps below need it
        "code_dir": "/data/functions/f/code",         # stays at its path, read-only
        "hide_dirs": ["/data"],                       # covered by an empty tmpfs
        "keep_dirs": ["/tmp/venv/nimbus-runtime-lib"],  # under a cover, bound back read-only
        "tmp_dir": "/tmp", "tmp_size_mb": 512,        # a fresh private tmpfs
        "fallback_tmp": "/data/tmp/env-1",            # TMPDIR without a mount namespace
        "rlimits": {"NOFILE": 1024},
        "uid": 65534, "gid": 65534,                   # dropped last
    }) -> ["warning", ...]

What cannot be applied becomes a warning. Once the mount tree has been changed,
a failed step raises ConfinementError instead: a half-built sandbox (data dir
hidden but no code, or root left with a way to undo the mounts) must not run.
"""

from __future__ import annotations

import ctypes
import os
import resource

CLONE_NEWNS = 0x00020000
SHM_DIR = "/dev/shm"
SHM_SIZE_MB = 64  # POSIX shared memory for multiprocessing; /tmp is the real storage
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_NO_NEW_PRIVS = 38
LOCKED_DOWN = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
HIDE_OPTIONS = "size=1m,mode=755"


class ConfinementError(Exception):
    """A safety step failed after the mount tree was already changed."""


def confine(plan):
    """Apply `plan` to this process; returns warnings for what could not be applied."""
    warnings = []
    for path in plan.get("cgroup_procs", ()):
        _attempt(warnings, "join cgroup " + path, _write, path, str(os.getpid()))
    private = bool(plan.get("mount_namespace")) and _private_mounts(warnings)
    if private:
        private = _confine_mounts(plan, warnings)
    else:
        warnings.append("no mount namespace: code dir writable, data dir visible, /tmp shared")
    if not private and plan.get("fallback_tmp"):
        _attempt(warnings, "fallback tmp", _make_fallback_tmp, plan)
    if plan.get("code_dir"):
        # a working directory inside a covered dir would still reach what it hides
        _attempt(warnings, "chdir to code dir", os.chdir, plan["code_dir"])
    for name, value in plan.get("rlimits", {}).items():
        _attempt(warnings, "RLIMIT_" + name, _set_rlimit, name, value)
    _drop_privileges(plan, private, warnings)
    return warnings


def _attempt(warnings, what, step, *args):
    try:
        step(*args)
        return True
    except (OSError, ValueError) as exc:
        warnings.append(f"{what}: {exc}")
        return False


def _private_mounts(warnings):
    """A mount namespace of our own whose changes do not propagate back to the host."""
    if not _attempt(warnings, "unshare(CLONE_NEWNS)", _unshare, CLONE_NEWNS):
        return False
    return _attempt(warnings, "make / private", _mount, None, "/", None, MS_REC | MS_PRIVATE)


def _confine_mounts(plan, warnings):
    """True when confined; False when nothing was mounted yet; raises once partial."""
    held = {}
    mounted = False
    for what, step, args in _mount_steps(plan, held):
        try:
            step(*args)
        except (OSError, ValueError) as exc:
            if mounted:
                raise ConfinementError(f"{what} failed after partial confinement: {exc}") from exc
            warnings.append(f"{what}: {exc}")
            _close_held(held)
            return False
        mounted = mounted or step not in (_open_path, _open_reveal)
    return True


def _mount_steps(plan, held):
    """The steps in order, as (description, function, arguments)."""
    code_dir = plan.get("code_dir")
    hide_dirs = list(plan.get("hide_dirs", ()))
    steps = []
    if code_dir:
        steps.append(("open code dir", _open_path, (code_dir, held)))
    reveals = list(plan.get("reveal", ()))
    keep_dirs = list(plan.get("keep_dirs", ()))
    # every path is opened before the first mount: /tmp may hold them (a clone under mktemp)
    for index, reveal in enumerate(reveals):
        steps.append(("open " + reveal["cover"], _open_reveal, (index, reveal, held)))
    if keep_dirs:
        steps.append(("open runtime dirs", _open_reveal, ("keep", {"keep": keep_dirs}, held)))
    # /tmp first: a data dir below it (as in tests) is then re-created inside the new tmpfs
    if plan.get("tmp_dir"):
        options = "size={}m,mode=1777".format(int(plan.get("tmp_size_mb", 512)))
        flags = MS_NOSUID | MS_NODEV
        steps.append(("private tmp", _mount, ("tmpfs", plan["tmp_dir"], "tmpfs", flags, options)))
        if os.path.isdir(SHM_DIR):
            # the host's /dev/shm is one tmpfs shared by every process: left as it is,
            # it lets a handler write outside its /tmp and pass files to other functions
            options = "size={}m,mode=1777".format(SHM_SIZE_MB)
            steps.append(("private /dev/shm", _mount, ("tmpfs", SHM_DIR, "tmpfs", flags, options)))
    for index, reveal in enumerate(reveals):
        steps.append(("reveal under " + reveal["cover"], _reveal, (index, reveal, held)))
    for path in hide_dirs:
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        steps.append(("hide " + path, _hide, (path, flags)))
    if code_dir:
        steps.append(("bind code dir", _bind_code, (code_dir, held)))
        steps.append(("code dir read-only", _mount, (None, code_dir, None, LOCKED_DOWN)))
    if keep_dirs:
        steps.append(("bind back runtime dirs", _bind_back, ("keep", held)))
    for path in hide_dirs:
        steps.append(("seal " + path, _mount, (None, path, None, LOCKED_DOWN | MS_NOEXEC)))
    return steps


def _close_held(held):
    for value in held.values():
        for fd in [fd for _, fd in value] if isinstance(value, list) else [value]:
            os.close(fd)
    held.clear()


def _open_reveal(index, reveal, held):
    held["reveal", index] = [
        (path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in reveal["keep"]
    ]


def _reveal(index, reveal, held):
    """Cover a directory the sandbox user cannot traverse (e.g. /root holding the
    interpreters) with an open tmpfs, and bind back, read-only, only what must be seen."""
    keep = held.pop(("reveal", index))
    try:
        os.makedirs(reveal["cover"], exist_ok=True)
        _mount("tmpfs", reveal["cover"], "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    except OSError:
        _close_all(keep)
        raise
    _bind_read_only(keep)
    _mount(None, reveal["cover"], None, LOCKED_DOWN)


def _bind_back(index, held):
    """Directories the covers above emptied (an install under /tmp): bound back read-only."""
    _bind_read_only(held.pop(("reveal", index)))


def _bind_read_only(keep):
    """Bind each held directory read-only at its own path; closes every fd."""
    try:
        for path, fd in keep:
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, LOCKED_DOWN)
    finally:
        _close_all(keep)


def _close_all(keep):
    for _, fd in keep:
        os.close(fd)


def _hide(path, flags):
    if not os.path.isdir(path):
        os.makedirs(path)
    _mount("tmpfs", path, "tmpfs", flags, HIDE_OPTIONS)


def _open_path(code_dir, held):
    # held open so the bind below still reaches the code once its parent is covered
    held["code"] = os.open(code_dir, os.O_PATH | os.O_DIRECTORY)


def _bind_code(code_dir, held):
    fd = held.pop("code")
    try:
        if not os.path.isdir(code_dir):
            os.makedirs(code_dir)
        _mount(f"/proc/self/fd/{fd}", code_dir, None, MS_BIND)
    finally:
        os.close(fd)


def _make_fallback_tmp(plan):
    path = plan["fallback_tmp"]
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.geteuid() == 0 and plan.get("uid") is not None:
        os.chown(path, plan["uid"], plan.get("gid", plan["uid"]))
    os.environ["TMPDIR"] = path


def _set_rlimit(name, value):
    kind = getattr(resource, "RLIMIT_" + name, None)
    if kind is None:
        raise ValueError("unknown on this system")
    hard = resource.getrlimit(kind)[1]
    if os.geteuid() != 0 and hard != resource.RLIM_INFINITY and value > hard:
        value = hard  # only root may raise a hard limit
    resource.setrlimit(kind, (value, value))


def _drop_privileges(plan, strict, warnings):
    """Last step: root inside the mount namespace could unmount the covers."""
    uid = plan.get("uid")
    if uid is None:
        return
    if os.geteuid() != 0:
        warnings.append(f"not root: cannot switch to uid {uid}")
        return
    try:
        os.setgroups([])
        os.setgid(plan.get("gid", uid))
        os.setuid(uid)
    except OSError as exc:
        if strict:
            raise ConfinementError(f"dropping privileges failed: {exc}") from exc
        warnings.append(f"drop privileges: {exc}")
        return
    _attempt(warnings, "no_new_privs", _no_new_privs)


def _no_new_privs():
    """setuid binaries must not hand back what setuid() just gave up."""
    if _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _raise_errno("prctl(PR_SET_NO_NEW_PRIVS)")


def _unshare(flags):
    if hasattr(os, "unshare"):
        os.unshare(flags)
    elif _libc().unshare(flags) != 0:
        _raise_errno("unshare")


def _mount(source, target, fstype, flags, data=None):
    mount = _libc().mount
    mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    if mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)) != 0:
        _raise_errno("mount {} on {}".format(fstype or source or "(remount)", target))


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _raise_errno(what):
    code = ctypes.get_errno()
    raise OSError(code, f"{what}: {os.strerror(code)}")


def _bytes(value):
    return None if value is None else os.fsencode(value)


def _write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
