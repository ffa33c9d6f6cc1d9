"""A real nimbus server in a subprocess, driven over HTTP as users drive it.

`nimbus_server` (module scope: one server per test module) yields a `NimbusServer`
with `.endpoint`, `.data_dir`, `.process`, `.credentials` and `.client(service)`.
Tests that need a server of their own (other settings, a restart) use
`running_server(data_dir, env=...)` directly. When a test that used a server fails,
the server's log is added to its report.

`NIMBUS_TEST_CLOCK_AT=2026-12-31T23:59:59Z pytest tests/integration` starts the first
server with its clock at that instant and every later one on the same clock, running on
from there, to rehearse the suite at a month's end; tests compute their expectations from the server's answers, not today's date.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
START_ATTEMPTS = 3  # a free port can be taken between our bind and the server's
CREDENTIALS = {"access_key_id": "test", "secret_access_key": "test", "region": "us-east-1"}
LOG_TAIL_BYTES = 20_000


@dataclass(frozen=True)
class NimbusServer:
    endpoint: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    clock_offset: float = 0.0
    root: Mapping[str, str] = dataclasses.field(default_factory=lambda: CREDENTIALS)

    def now(self) -> float:
        """The server's clock (epoch seconds): what expectations about its times use."""
        return time.time() + self.clock_offset

    @property
    def credentials(self) -> Mapping[str, str]:
        return self.root

    @property
    def cli_env(self) -> dict[str, str]:
        """Environment variables that point the `nimbus` client commands here."""
        return {
            "NIMBUS_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.root["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.root["secret_access_key"],
            "AWS_REGION": self.root["region"],
        }

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for this server; no retries unless `config` asks for them."""
        settings: dict[str, Any] = {"retries": {"total_max_attempts": 1}, "read_timeout": 120}
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.root["access_key_id"],
            aws_secret_access_key=self.root["secret_access_key"],
            region_name=self.root["region"],
            config=Config(**{**settings, **config}),
        )

    def log(self) -> str:
        """The tail of the server's stdout and stderr."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(max(0, self.log_path.stat().st_size - LOG_TAIL_BYTES))
                text = handle.read().decode("utf-8", errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
        return text or "(the server wrote nothing)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Launch:
    """How to start a server: interpreter, extra environment, bind address, root keys."""

    python: str = sys.executable
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    host: str = "127.0.0.1"  # clients connect on loopback whatever the bind address
    root: Mapping[str, str] = dataclasses.field(default_factory=lambda: CREDENTIALS)


def _spawn(data_dir: Path, port: int, log_path: Path, launch: Launch) -> NimbusServer:
    command = [launch.python, "-m", "nimbus", "server", "--host", launch.host]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    clock = _clock_at(os.environ.get("NIMBUS_TEST_CLOCK_AT"))
    child_env = {
        **os.environ,
        "NIMBUS_ROOT_ACCESS_KEY_ID": launch.root["access_key_id"],
        "NIMBUS_ROOT_SECRET_ACCESS_KEY": launch.root["secret_access_key"],
        "NIMBUS_REGION": launch.root["region"],
        **clock,
        **launch.env,
    }
    with log_path.open("ab") as log:
        # Its own session, so teardown can kill everything it started and nothing else.
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=child_env, start_new_session=True
        )
    offset = float(child_env.get("NIMBUS_CLOCK_OFFSET_SECONDS", "0"))
    endpoint = f"http://127.0.0.1:{port}"
    return NimbusServer(endpoint, data_dir, process, log_path, offset, launch.root)


def _clock_at(instant: str | None) -> dict[str, str]:
    if not instant:
        return {}
    return {"NIMBUS_CLOCK_OFFSET_SECONDS": repr(_offset_to(instant))}


@functools.cache
def _offset_to(instant: str) -> float:
    """Computed once per run: every server after the first, a restarted one included,
    runs on the same shifted clock, as a real clock would, instead of starting again
    at `instant` (time going back across a restart hid messages a test had moved)."""
    at = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return at.timestamp() - time.time()


def _is_healthy(server: NimbusServer) -> bool:
    try:
        with urllib.request.urlopen(server.endpoint + "/_nimbus/health", timeout=1) as reply:
            return int(reply.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_healthy(server: NimbusServer) -> bool:
    """True once healthy; False if the process exited first. Fails on timeout."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        if _is_healthy(server):
            return True
        time.sleep(0.1)
    stop(server)
    pytest.fail(f"nimbus did not become healthy in {START_TIMEOUT_SECONDS} s:\n{server.log()}")


def start(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    launch: Launch | None = None,
) -> NimbusServer:
    """Start a server (run by `python`) on a free port and wait for /_nimbus/health."""
    launch = launch or Launch(python, env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}.server.log"
    for _ in range(START_ATTEMPTS):
        server = _spawn(data_dir, free_port(), log_path, launch)
        if _wait_until_healthy(server):
            return server
        if "address already in use" not in server.log().lower():
            break
    pytest.fail(f"nimbus exited with {server.process.returncode} at start-up:\n{server.log()}")


def stop(server: NimbusServer) -> None:
    """SIGTERM, then SIGKILL to the server's whole process group if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            server.process.wait(STOP_TIMEOUT_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)  # stragglers: zygotes, environments
    server.process.wait()


@contextmanager
def running_server(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    launch: Launch | None = None,
) -> Iterator[NimbusServer]:
    server = start(data_dir, env, python, launch)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="module")
def nimbus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    with running_server(tmp_path_factory.mktemp("nimbus") / "data") as server:
        yield server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    server = getattr(item, "funcargs", {}).get("nimbus_server")
    if report.failed and isinstance(server, NimbusServer):
        report.sections.append(("nimbus server log", server.log()))
    return report
