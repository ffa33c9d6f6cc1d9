"""One execution environment: a process forked from a zygote that runs one invocation at a time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimbus.sandbox.cgroups import EnvCgroup
from nimbus.sandbox.channel import Channel
from nimbus.sandbox.outcome import Outcome, OutcomeKind
from nimbus.sandbox.runtimes.python import wire
from nimbus.sandbox.spec import EnvironmentSpec
from nimbus.sandbox.zygote import Zygote

MAX_LOG_BYTES = 1 << 20
logger = logging.getLogger(__name__)
EXIT_STATUS_WAIT = 2.0
INIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Invocation:
    """What the environment needs to run one request."""

    request_id: str
    payload: bytes
    invoked_arn: str
    client_context: dict[str, Any] | None = None
    trace_id: str = ""


class Environment:
    """Owns the process, its channel, log file and cgroup; never shared between calls."""

    def __init__(
        self,
        env_id: str,
        spec: EnvironmentSpec,
        zygote: Zygote,
        log_path: Path,
        cgroup: EnvCgroup | None,
        mb_per_vcpu: int = 1769,
    ) -> None:
        self._mb_per_vcpu = mb_per_vcpu
        self.id = env_id
        self.spec = spec
        self.log_stream = ""
        self.pid = 0
        self.init_ms: float | None = None
        self.last_used = time.monotonic()
        self.invocations = 0
        self._zygote = zygote
        self._log_path = log_path
        self._cgroup = cgroup
        self._log_fd = -1
        self._pidfd = -1
        self._channel: Channel | None = None
        self._dead = False
        self._init_failure: bytes | None = None

    @property
    def alive(self) -> bool:
        return not self._dead

    async def start(self, plan: dict[str, Any], function: dict[str, Any]) -> None:
        """Fork from the zygote and wait for the function's init to finish (or fail)."""
        self.log_stream = function["log_stream"]
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._log_fd = os.open(self._log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        spec = {"function": function, "environ": dict(self.spec.environ), "plan": plan}
        try:
            self.pid = await self._zygote.spawn(self.id, spec, theirs.fileno(), self._log_fd)
        finally:
            theirs.close()
        with contextlib.suppress(OSError):
            self._pidfd = os.pidfd_open(self.pid)
        self._channel = await Channel.open(ours)
        await self._await_init()

    async def _await_init(self) -> None:
        assert self._channel is not None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(INIT_TIMEOUT_S):
                header, body = await self._channel.receive()
        except (TimeoutError, EOFError):
            self._init_failure = json.dumps(
                {"errorMessage": "Runtime failed to initialise", "errorType": "Runtime.Unknown"}
            ).encode()
            self.kill()
            return
        if header["kind"] == wire.READY:
            self.init_ms = float(header.get("init_ms", (time.perf_counter() - started) * 1000))
            for warning in header.get("warnings") or ():
                logger.warning("environment %s: %s", self.id, warning)
            if self._cgroup is not None:
                self._cgroup.apply_cpu_quota(self.spec.memory_mb, self._mb_per_vcpu)
        else:
            self._init_failure = body

    async def invoke(self, invocation: Invocation) -> Outcome:
        if self._init_failure is not None:
            return self._failed_init(invocation)
        assert self._channel is not None
        self.invocations += 1
        deadline = time.time() + self.spec.timeout_s
        header = {
            "kind": wire.INVOKE,
            "request_id": invocation.request_id,
            "invoked_arn": invocation.invoked_arn,
            "deadline_ms": int(deadline * 1000),
            "client_context": invocation.client_context,
            "trace_id": invocation.trace_id,
        }
        started = time.perf_counter()
        self._channel.send(header, invocation.payload)
        try:
            # asyncio.timeout, unlike wait_for, creates no task on this hot path
            async with asyncio.timeout(self.spec.timeout_s):
                reply, body = await self._channel.receive()
        except TimeoutError:
            self.kill()
            return self._outcome(OutcomeKind.TIMEOUT, b"", started)
        except EOFError:
            return await self._lost(started)
        finally:
            self.last_used = time.monotonic()
        return self._result_outcome(reply, body, started)

    def _result_outcome(self, reply: dict[str, Any], body: bytes, started: float) -> Outcome:
        status = reply.get("status")
        rss = int(reply.get("rss_kb", 0)) * 1024
        if status == "ok":
            return self._outcome(OutcomeKind.OK, body, started, rss)
        if status == "error":
            return self._outcome(OutcomeKind.HANDLER_ERROR, body, started, rss)
        # a snapshot child died: the template is still fine
        exit_status = int(json.loads(body).get("exit_status", 1))
        kind = OutcomeKind.OUT_OF_MEMORY if self._oom() else OutcomeKind.EXITED
        return self._outcome(kind, b"", started, rss, exit_status)

    async def _lost(self, started: float) -> Outcome:
        """The process died mid-invocation: find out how."""
        self._dead = True
        status: int | None = None
        with contextlib.suppress(TimeoutError, Exception):
            status = await asyncio.wait_for(
                asyncio.shield(self._zygote.exit_status(self.pid)), EXIT_STATUS_WAIT
            )
        kind = OutcomeKind.OUT_OF_MEMORY if self._oom() else OutcomeKind.EXITED
        return self._outcome(kind, b"", started, None, status)

    def _oom(self) -> bool:
        return self._cgroup is not None and self._cgroup.oom_killed()

    def _failed_init(self, invocation: Invocation) -> Outcome:
        self.kill()
        payload = json.loads(self._init_failure or b"{}")
        payload["requestId"] = invocation.request_id
        return Outcome(
            kind=OutcomeKind.INIT_ERROR,
            payload=json.dumps(payload).encode(),
            logs=self.read_logs(),
            duration_ms=0.0,
        )

    def _outcome(
        self,
        kind: OutcomeKind,
        payload: bytes,
        started: float,
        rss: int | None = None,
        exit_status: int | None = None,
    ) -> Outcome:
        duration = (time.perf_counter() - started) * 1000.0
        peak = self._cgroup.peak_memory_bytes() if self._cgroup is not None else None
        return Outcome(
            kind=kind,
            payload=payload,
            logs=self.read_logs(),
            duration_ms=duration,
            max_memory_bytes=max(peak or 0, rss or 0) or None,
            exit_status=exit_status,
        )

    def read_logs(self) -> bytes:
        """Everything the environment wrote since the last call (bounded), then truncate."""
        if self._log_fd < 0:
            return b""
        size = os.fstat(self._log_fd).st_size
        if size == 0:
            return b""
        start = max(0, size - MAX_LOG_BYTES)
        data = os.pread(self._log_fd, size - start, start)
        os.ftruncate(self._log_fd, 0)
        return data

    def kill(self) -> None:
        if self._dead:
            return
        self._dead = True
        if self._pidfd >= 0:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
        elif self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill the process and release every resource; safe to call twice."""
        self.kill()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        for fd in (self._pidfd, self._log_fd):
            if fd >= 0:
                os.close(fd)
        self._pidfd = self._log_fd = -1
        with contextlib.suppress(FileNotFoundError):
            self._log_path.unlink()
        if self._cgroup is not None:
            _remove_later(self._cgroup)
            self._cgroup = None
        if self.pid:
            self._zygote.forget(self.pid)


def _remove_later(cgroup: EnvCgroup) -> None:
    """Remove a cgroup without blocking the event loop: rmdir retries while the killed
    processes are still exiting."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        cgroup.remove()
        return
    loop.run_in_executor(None, cgroup.remove)
