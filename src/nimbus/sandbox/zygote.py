"""Platform side of a runtime zygote: start it, ask it to fork environments, learn exits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from nimbus.errors import ServiceError
from nimbus.sandbox.runtimes.python import wire

ZYGOTE_SCRIPT = Path(wire.__file__).with_name("zygote.py")
MAX_MESSAGE = 1 << 20
logger = logging.getLogger(__name__)


class ZygoteError(ServiceError):
    """The runtime zygote could not be started or has died."""


class Zygote:
    """One pre-initialised interpreter per runtime; forks environments on request."""

    def __init__(self, interpreter: str, lib_dirs: list[str]) -> None:
        self.interpreter = interpreter
        self.lib_dirs = lib_dirs
        self._control: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._spawns: dict[str, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._hello: asyncio.Future[dict[str, Any]] | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        argv = [self.interpreter, "-I", "-S", str(ZYGOTE_SCRIPT), str(theirs.fileno())]
        self._process = subprocess.Popen(
            [*argv, *self.lib_dirs],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            close_fds=True,
        )
        theirs.close()
        ours.setblocking(False)
        self._control = ours
        loop.add_reader(ours.fileno(), self._on_readable)
        try:
            hello = await asyncio.wait_for(self._hello, timeout=30)
        except (TimeoutError, EOFError) as exc:
            self.stop()
            raise ZygoteError(f"runtime {self.interpreter} failed to start") from exc
        if hello.get("boto3_error"):
            logger.warning("boto3 unavailable in %s: %s", self.interpreter, hello["boto3_error"])

    async def spawn(self, env_id: str, spec: dict[str, Any], env_sock: int, log_fd: int) -> int:
        """Fork an environment; returns its pid. The fds are the environment's ends."""
        if self._control is None or not self.alive:
            raise ZygoteError(f"runtime {self.interpreter} is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._spawns[env_id] = future
        message = json.dumps({"kind": wire.SPAWN, "env_id": env_id, "spec": spec}).encode()
        await self._send(message, [env_sock, log_fd])
        return await future

    def exit_status(self, pid: int) -> asyncio.Future[int]:
        """A future for the exit code of environment `pid` (negative: killed by signal)."""
        future = self._exits.get(pid)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._exits[pid] = future
        return future

    def forget(self, pid: int) -> None:
        self._exits.pop(pid, None)

    async def _send(self, message: bytes, fds: list[int]) -> None:
        assert self._control is not None
        while True:
            try:
                socket.send_fds(self._control, [message], fds)
                return
            except BlockingIOError:
                await asyncio.sleep(0.001)

    def _on_readable(self) -> None:
        assert self._control is not None
        try:
            data = self._control.recv(MAX_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._on_closed()
            return
        self._dispatch(json.loads(data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "hello" and self._hello and not self._hello.done():
            self._hello.set_result(message)
        elif kind == wire.SPAWNED:
            future = self._spawns.pop(message["env_id"], None)
            if future and not future.done():
                future.set_result(message["pid"])
        elif kind == wire.EXITED:
            exit_future = self.exit_status(message["pid"])
            if not exit_future.done():
                exit_future.set_result(message["status"])

    def _on_closed(self) -> None:
        if self._control is not None:
            asyncio.get_running_loop().remove_reader(self._control.fileno())
        error = ZygoteError(f"runtime {self.interpreter} exited")
        for future in [*self._spawns.values(), *self._exits.values()]:
            if not future.done():
                future.set_exception(error)
        if self._hello and not self._hello.done():
            self._hello.set_exception(EOFError())
        self._spawns.clear()

    def stop(self) -> None:
        if self._control is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                asyncio.get_running_loop().remove_reader(self._control.fileno())
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def current_interpreter() -> str:
    return os.path.realpath(sys.executable)
