"""Creates execution environments: picks the zygote, builds the confinement plan, forks."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from nimbus.clock import Clock
from nimbus.sandbox import visibility
from nimbus.sandbox.cgroups import CgroupManager
from nimbus.sandbox.environment import Environment
from nimbus.sandbox.limits import HostCapabilities, rlimits_for
from nimbus.sandbox.spec import EnvironmentSpec
from nimbus.sandbox.zygote import Zygote

RUNTIME_DIR = Path(__file__).parent / "runtimes" / "python"


class EnvironmentFactory:
    """Knows the host's capabilities and keeps one zygote per interpreter."""

    def __init__(
        self,
        caps: HostCapabilities,
        run_dir: Path,
        hidden_dirs: list[Path],
        lib_dirs: list[str],
        sandbox_uid: int | None,
        sandbox_gid: int | None,
        cgroup_parent: str = "nimbus",
        mb_per_vcpu: int = 1769,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._mb_per_vcpu = mb_per_vcpu
        self.caps = caps
        self._run_dir = run_dir
        self._hidden = [str(path) for path in hidden_dirs]
        self._lib_dirs = lib_dirs
        self._keep_dirs = self._covered_runtime_dirs()  # fixed paths: resolved once
        self._uid = sandbox_uid
        self._gid = sandbox_gid
        self._cgroups = CgroupManager(caps, cgroup_parent)
        self._zygotes: dict[str, Zygote] = {}
        self._reveals: dict[str, list[dict[str, Any]]] = {}
        self._starting: dict[str, asyncio.Future[Zygote]] = {}

    async def start(self) -> None:
        shutil.rmtree(self._run_dir, ignore_errors=True)
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self._cgroups.cleanup_stale()

    @property
    def zygotes(self) -> list[Zygote]:
        return list(self._zygotes.values())

    async def zygote(self, interpreter: str) -> Zygote:
        """The running zygote for `interpreter`, started once even under concurrent calls."""
        starting = self._starting.get(interpreter)
        zygote = self._zygotes.get(interpreter)
        if starting is None or (starting.done() and (zygote is None or not zygote.alive)):
            starting = asyncio.ensure_future(self._start_zygote(interpreter))
            self._starting[interpreter] = starting
        return await asyncio.shield(starting)

    async def _start_zygote(self, interpreter: str) -> Zygote:
        zygote = Zygote(interpreter, self._lib_dirs)
        await zygote.start()
        self._zygotes[interpreter] = zygote
        return zygote

    def prewarm(self, interpreter: str) -> None:
        """Start the runtime's zygote in the background, ahead of the first cold start."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # synchronous callers (scripts) start it on first use
            return
        task = asyncio.ensure_future(self.zygote(interpreter))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def create(self, spec: EnvironmentSpec) -> Environment:
        """Fork a new environment and run the function's init in it."""
        env_id = secrets.token_hex(16)
        zygote = await self.zygote(spec.interpreter)
        cgroup = self._cgroups.create(env_id, spec.memory_mb)
        log_path = self._run_dir / f"{env_id}.log"
        env = Environment(env_id, spec, zygote, log_path, cgroup, self._mb_per_vcpu)
        tmp = self._run_dir / f"{env_id}.tmp"
        plan = self._plan(spec, cgroup.procs_files if cgroup else [], tmp)
        plan["reveal"] = self._reveal(spec.interpreter) if plan["mount_namespace"] else []
        try:
            await env.start(plan, self._function(spec, env_id))
        except BaseException:
            env.close()
            raise
        return env

    def _plan(self, spec: EnvironmentSpec, procs: list[str], tmp: Path) -> dict[str, Any]:
        isolated = self.caps.mount_ns.available
        if not isolated:
            tmp.mkdir(mode=0o1777, exist_ok=True)
            os.chmod(tmp, 0o1777)
        return {
            "cgroup_procs": procs,
            "mount_namespace": isolated,
            "code_dir": str(spec.code_dir),
            "hide_dirs": self._hidden if isolated else [],
            "keep_dirs": self._keep_dirs if isolated else [],
            "tmp_dir": "/tmp",
            "tmp_size_mb": spec.ephemeral_mb,
            "fallback_tmp": str(tmp),
            "rlimits": rlimits_for(spec.memory_mb, self.caps),
            "uid": self._uid,
            "gid": self._gid,
        }

    def _reveal(self, interpreter: str) -> list[dict[str, Any]]:
        plan = self._reveals.get(interpreter)
        if plan is None:
            needed = visibility.interpreter_paths(interpreter)
            needed += [Path(lib) for lib in self._lib_dirs]
            needed.append(RUNTIME_DIR)
            # the data dir is covered later, but its parents must stay traversable
            needed += [Path(hidden) for hidden in self._hidden]
            plan = visibility.reveal_plan(needed) if self._uid is not None else []
            self._reveals[interpreter] = plan
        return plan

    def _covered_runtime_dirs(self) -> list[str]:
        """The runtime's own directories that the environment's /tmp or a hidden dir would
        cover (an install under /tmp): bound back read-only at their paths."""
        covering = ["/tmp", *self._hidden]
        return [
            path
            for path in [*self._lib_dirs, str(RUNTIME_DIR)]
            if any(visibility.is_within(path, cover) for cover in covering)
        ]

    def _function(self, spec: EnvironmentSpec, env_id: str) -> dict[str, Any]:
        day = time.strftime("%Y/%m/%d", time.gmtime(self._clock()))
        return {
            "name": spec.function_name,
            "version": spec.version,
            "memory": spec.memory_mb,
            "handler": spec.handler,
            "timeout": spec.timeout_s,
            "code_dir": str(spec.code_dir),
            "isolation": spec.isolation.value,
            "log_group": spec.log_group,
            "log_stream": f"{day}/[{spec.version}]{env_id}",
        }

    def stop(self) -> None:
        for zygote in self._zygotes.values():
            zygote.stop()
        self._zygotes.clear()
        self._cgroups.close()
        shutil.rmtree(self._run_dir, ignore_errors=True)
