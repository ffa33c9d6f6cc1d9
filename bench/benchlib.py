"""Shared helpers of the nimbus benchmarks: servers, clients, statistics, /proc, output.

Benchmarks are plain scripts (`.venv/bin/python bench/<name>.py`); the test suite never
runs them. Every script measures nimbus and its baseline in the same run and prints a
table, then one line of JSON (the last line of its output) that `run_all.py` reads.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REGION = "us-east-1"
ACCESS_KEY = SECRET_KEY = "test"
ROLE = "arn:aws:iam::000000000000:role/bench"
NOOP_SOURCE = "def handler(event, context):\n    return None\n"
INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"


# -- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/mean/min of a sample (same unit as the sample)."""
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else float("nan"),
        "min": min(values) if values else float("nan"),
    }


def ms(seconds: Sequence[float]) -> list[float]:
    return [s * 1000.0 for s in seconds]


# -- goals and output ---------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """One target from the issue: `value op target` must hold."""

    name: str
    value: float
    target: float
    unit: str
    op: str = "<="

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.op == "<=" else self.value >= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "target": self.target,
            "unit": self.unit,
            "op": self.op,
            "met": self.met,
        }


@dataclass
class Report:
    """Rows of a table plus goals; printed as text, then as one JSON line."""

    benchmark: str
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def row(self, what: str, nimbus: str, baseline: str = "", ratio: str = "") -> None:
        self.rows.append((what, nimbus, baseline, ratio))

    def compare(self, what: str, nimbus: float, baseline: float, unit: str = "ms") -> None:
        """A row with both figures and their ratio (nimbus / baseline)."""
        show = fmt_ms if unit == "ms" else (lambda v: f"{v:.0f}{unit}")
        self.row(what, show(nimbus), show(baseline), ratio(nimbus, baseline))

    def emit(self) -> None:
        header = ("measure", "nimbus", "baseline", "ratio")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(4)]
        print(f"\n== {self.benchmark} ==")
        for r in [header, *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
        for goal in self.goals:
            mark = "met" if goal.met else "NOT MET"
            print(
                f"goal {goal.name}: {goal.value:.3f} {goal.unit} {goal.op} {goal.target} -> {mark}"
            )
        for note in self.notes:
            print(f"note: {note}")
        out = {
            "benchmark": self.benchmark,
            "figures": self.figures,
            "goals": [g.as_dict() for g in self.goals],
            "notes": self.notes,
            "table": [list(r) for r in self.rows],
        }
        sys.stdout.flush()
        print(json.dumps(out), flush=True)


def fmt_ms(value: float) -> str:
    return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}x" if b else "n/a"


# -- processes and /proc ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children(pid: int) -> list[int]:
    """Direct children of `pid`, read from /proc/*/stat."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the comm field may contain spaces; the parent pid follows the closing ')'
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def smaps_kb(pid: int) -> dict[str, int]:
    """Fields of /proc/PID/smaps_rollup in kB (Rss, Pss, Private_Clean, ...)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0])
    return values


def uss_kb(pid: int) -> int:
    """Unique set size: memory only this process maps (private clean + private dirty)."""
    rollup = smaps_kb(pid)
    return rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is the state (stat field 3): utime and stime are stat fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        kids = [kid for parent in frontier for kid in children(parent)]
        found += kids
        frontier = kids
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# -- the nimbus server --------------------------------------------------------------------


class NimbusServer:
    """`python -m nimbus server` on a free port with a private data dir, as a subprocess."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(tempfile.mkdtemp(prefix="nimbus-bench-"))
        self._extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log = self.data_dir.with_suffix(".log")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> NimbusServer:
        env = {**os.environ, **self._extra_env}
        argv = [PYTHON, "-m", "nimbus", "server", "--port", str(self.port)]
        with open(self._log, "wb") as log:
            self.process = subprocess.Popen(
                [*argv, "--data-dir", str(self.data_dir / "data")],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_ready(f"{self.url}/_nimbus/health", self.process, self._log)
        return self

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_nimbus/health", timeout=5) as reply:
            return dict(json.loads(reply.read()))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self._log.unlink()

    def __enter__(self) -> NimbusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    """Poll `url` until it answers; fail loudly if our process died (e.g. port taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server at {url} not ready after {timeout}s")


class MotoServer:
    """moto's standalone server (`python -m moto.server`) on a free port, as a subprocess.

    The usual local stand-in for SQS and S3; needs `pip install -e '.[bench]'`.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="moto-bench-", suffix=".log")[1])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> MotoServer:
        argv = [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self._log.open("wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        wait_ready(f"{self.url}/moto-api/", self.process, self._log)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.unlink(missing_ok=True)


ECHO_APP = """
import sys, uvicorn

async def raw(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

def starlette_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def echo(request: Request) -> Response:
        return Response(await request.body(), 200, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b"{}", 200)

    return Starlette(routes=[Route("/_nimbus/health", health),
                             Route("/{path:path}", echo, methods=["GET", "POST"])])

app = raw if sys.argv[2] == "raw" else starlette_app()
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            lifespan="off", log_level="warning", access_log=False)
"""


class EchoServer:
    """The HTTP baseline: a trivial echo endpoint under uvicorn with nimbus's settings."""

    def __init__(self, kind: str) -> None:
        assert kind in ("raw", "starlette")
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkstemp(prefix="echo-bench-", suffix=".log")[1])

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> EchoServer:
        with open(self._log, "wb") as log:
            self.process = subprocess.Popen(
                [PYTHON, "-c", ECHO_APP, str(self.port), self.kind],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_ready(f"{self.url}/_nimbus/health", self.process, self._log)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self._log.unlink(missing_ok=True)


# -- clients ------------------------------------------------------------------------------


def lambda_client(url: str, pool: int = 10) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": 1},
        read_timeout=120,
        connect_timeout=10,
        max_pool_connections=pool,
    )
    return boto3.client(
        "lambda", endpoint_url=url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=config,
    )  # fmt: skip


def build_zip(source: str = NOOP_SOURCE) -> bytes:
    from nimbus.packaging import build_package

    data: bytes = build_package({"lambda_function.py": source})
    return data


def create_function(
    client: Any, name: str, zip_bytes: bytes, env: dict[str, str] | None = None,
    memory: int = 128, timeout: int = 30,
) -> None:  # fmt: skip
    client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": zip_bytes},
        MemorySize=memory,
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )


def sign(url: str, path: str, body: bytes) -> dict[str, str]:
    """SigV4 headers for a Lambda POST, as botocore computes them."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url + path, data=body)
    request.headers["Content-Type"] = "application/json"
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "lambda", REGION).add_auth(request)
    return dict(request.headers.items())


class KeepAliveClient:
    """One kept-open `http.client` connection sending SigV4-signed Lambda Invokes."""

    def __init__(self, url: str) -> None:
        self.url = url
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def prepare(self, function: str, payload: bytes = b"{}") -> tuple[str, dict[str, str]]:
        path = INVOKE_PATH.format(name=function)
        return path, sign(self.url, path, payload)

    def send(self, path: str, headers: dict[str, str], payload: bytes = b"{}") -> bytes:
        self.conn.request("POST", path, body=payload, headers=headers)
        reply = self.conn.getresponse()
        body = reply.read()
        if reply.status != 200 or reply.getheader("X-Amz-Function-Error"):
            raise RuntimeError(f"invoke failed: {reply.status} {body[:300]!r}")
        return body

    def invoke(self, function: str, payload: bytes = b"{}") -> bytes:
        path, headers = self.prepare(function, payload)
        return self.send(path, headers, payload)

    def close(self) -> None:
        self.conn.close()


def timed_keepalive(url: str, function: str, count: int, warmup: int = 50) -> list[float]:
    """Latencies (s) of `count` sequential invokes; signing is done before the clock starts."""
    client = KeepAliveClient(url)
    try:
        for _ in range(warmup):
            client.invoke(function)
        samples = []
        for _ in range(count):
            path, headers = client.prepare(function)
            started = time.perf_counter()
            client.send(path, headers)
            samples.append(time.perf_counter() - started)
        return samples
    finally:
        client.close()


# -- machine ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


@contextlib.contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t:` ... then t[0] is the elapsed seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)
