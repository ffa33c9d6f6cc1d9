"""Warm synchronous Invoke: latency over HTTP and in-process, and throughput.

Targets, all up at once and measured in interleaved rounds so they share the noise:
  nimbus          `python -m nimbus server`, a warm no-op function
  echo-raw        a raw ASGI echo app under uvicorn with nimbus's settings (uvloop, httptools)
  echo-starlette  the same echo as a Starlette route (nimbus's framework)
Latency: one kept-open `http.client` connection, SigV4 signed by botocore before the clock
starts (the signing cost is reported apart). boto3's own Invoke latency is reported too.
Throughput: 16 concurrent keep-alive connections from a separate client process.
In-process: `Platform.functions.invoke` on uvloop; its floor is a frame round trip over a
socketpair to a forked echo process (the transport nimbus uses to reach an environment).

Goals (issue): HTTP p50 <= 1.5 ms; >= 1,000 invokes/s with 16 clients; in-process
p50 <= 0.2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import benchlib as b

FUNCTION = "warm-noop"
SMALL = "warm-noop-128"
# One full vCPU: at 128 MB an environment gets 128/1769 of a CPU (Lambda's share) and the
# CFS quota, not nimbus, dominates the figures; the 128 MB case is reported beside it.
FULL_CPU_MB = 1769


def boto3_latencies(url: str, count: int) -> list[float]:
    client = b.lambda_client(url)
    for _ in range(20):
        client.invoke(FunctionName=FUNCTION, Payload=b"{}")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        client.invoke(FunctionName=FUNCTION, Payload=b"{}")["Payload"].read()
        samples.append(time.perf_counter() - started)
    return samples


def throughput(url: str, pid: int, conns: int, seconds: float) -> dict[str, float]:
    """Load from a separate process; adds the server's (and its environments') CPU/request."""
    script = Path(__file__).with_name("loadgen.py")
    argv = [b.PYTHON, str(script), url, FUNCTION, "--conns", str(conns)]
    server_cpu = b.cpu_seconds(pid)
    envs = b.descendants(pid)
    env_cpu = sum(b.cpu_seconds(p) for p in envs)
    out = subprocess.run(
        [*argv, "--seconds", str(seconds)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    server_cpu = b.cpu_seconds(pid) - server_cpu
    env_cpu = sum(b.cpu_seconds(p) for p in b.descendants(pid)) - env_cpu
    result["server_cpu_us_per_request"] = server_cpu / result["all_requests"] * 1e6
    result["env_cpu_us_per_request"] = env_cpu / result["all_requests"] * 1e6
    return result


def signing_cost(url: str, count: int = 500) -> list[float]:
    path = b.INVOKE_PATH.format(name=FUNCTION)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        b.sign(url, path, b"{}")
        samples.append(time.perf_counter() - started)
    return samples


def measure_http(
    targets: dict[str, str], pids: dict[str, int], args: argparse.Namespace
) -> dict[str, Any]:
    keepalive: dict[str, list[float]] = {name: [] for name in targets}
    boto: dict[str, list[float]] = {name: [] for name in targets}
    rps: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    for _ in range(args.rounds):
        for name, url in targets.items():
            keepalive[name] += b.timed_keepalive(url, FUNCTION, args.requests // args.rounds)
            boto[name] += boto3_latencies(url, args.boto3_requests // args.rounds)
    for _ in range(args.load_rounds):
        for name, url in targets.items():
            rps[name].append(throughput(url, pids[name], args.conns, args.seconds))
    return {"keepalive": keepalive, "boto3": boto, "load": rps}


# -- in-process ---------------------------------------------------------------------------


class EchoPeer:
    """A forked process echoing on a socketpair: the floor of one platform-environment trip."""

    async def __aenter__(self) -> EchoPeer:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            ours.close()
            while data := theirs.recv(65536):
                theirs.sendall(data)
            os._exit(0)
        theirs.close()
        self.reader, self.writer = await asyncio.open_unix_connection(sock=ours)
        return self

    async def latencies(self, count: int) -> list[float]:
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            self.writer.write(b"12345678")
            await self.reader.readexactly(8)
            samples.append(time.perf_counter() - started)
        return samples

    async def __aexit__(self, *exc: object) -> None:
        self.writer.close()
        # uvloop keeps its own duplicate of the socket, so the child may never see EOF
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


async def invoke_latencies(platform: Any, name: str, count: int) -> list[float]:
    from nimbus.functions.invoke import InvokeRequest

    request = InvokeRequest(function=name, payload=b"{}")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        result = await platform.functions.invoke(request)
        samples.append(time.perf_counter() - started)
        if result.function_error:
            raise RuntimeError(result.payload)
    return samples


async def in_process(count: int, rounds: int) -> dict[str, list[float]]:
    """Nimbus at 1,769 and 128 MB and the socketpair floor, in alternating rounds."""
    from nimbus.functions.registry import ConfigChanges
    from nimbus.platform import Platform
    from nimbus.settings import Settings

    samples: dict[str, list[float]] = {FUNCTION: [], SMALL: [], "floor": []}
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-") as data:
        platform = Platform(Settings(data_dir=Path(data)))
        await platform.start()
        try:
            for name, memory in ((FUNCTION, FULL_CPU_MB), (SMALL, 128)):
                changes = ConfigChanges(runtime="python3.11", handler="lambda_function.handler",
                                        role=b.ROLE, memory_size=memory)  # fmt: skip
                platform.functions.create(name, changes, b.build_zip())
                await invoke_latencies(platform, name, 100)
            async with EchoPeer() as peer:
                await peer.latencies(100)
                for _ in range(rounds):
                    samples["floor"] += await peer.latencies(count // rounds)
                    for name in (FUNCTION, SMALL):
                        samples[name] += await invoke_latencies(platform, name, count // rounds)
        finally:
            await platform.stop()
    return samples


def measure_in_process(count: int, rounds: int) -> tuple[list[float], list[float], list[float]]:
    import uvloop

    samples = uvloop.run(in_process(count, rounds))
    return samples[FUNCTION], samples[SMALL], samples["floor"]


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--boto3-requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--load-rounds", type=int, default=2)
    parser.add_argument("--inproc", type=int, default=3000)
    args = parser.parse_args()
    with b.NimbusServer() as server, b.EchoServer("raw") as raw, b.EchoServer("starlette") as st:
        client = b.lambda_client(server.url)
        b.create_function(client, FUNCTION, b.build_zip(), memory=FULL_CPU_MB)
        b.create_function(client, SMALL, b.build_zip(), memory=128)
        client.invoke(FunctionName=FUNCTION, Payload=b"{}")
        targets = {"nimbus": server.url, "echo-raw": raw.url, "echo-starlette": st.url}
        pids = {"nimbus": server.pid, "echo-raw": raw.pid, "echo-starlette": st.pid}
        http = measure_http(targets, pids, args)
        small = b.timed_keepalive(server.url, SMALL, args.requests // args.rounds)
        sign = signing_cost(server.url)
        warm = server.health()
    nimbus_inproc, small_inproc, floor = measure_in_process(args.inproc, args.rounds)
    report = b.Report("warm_invoke")
    summarise(report, http, sign, nimbus_inproc, floor)
    add_small(report, small, small_inproc)
    report.figures["server_health_after"] = warm
    report.emit()


def summarise(
    report: b.Report,
    http: dict[str, Any],
    sign: list[float],
    inproc: list[float],
    floor: list[float],
) -> None:
    ka = {name: b.summary(b.ms(v)) for name, v in http["keepalive"].items()}
    bt = {name: b.summary(b.ms(v)) for name, v in http["boto3"].items()}
    load = {name: _load_summary(runs) for name, runs in http["load"].items()}
    n, raw, st = "nimbus", "echo-raw", "echo-starlette"
    for q in ("p50", "p90", "p99"):
        report.compare(f"HTTP keep-alive {q} (vs raw ASGI)", ka[n][q], ka[raw][q])
    report.compare("HTTP keep-alive p50 (vs Starlette)", ka[n]["p50"], ka[st]["p50"])
    report.compare("boto3 invoke p50 (vs raw ASGI)", bt[n]["p50"], bt[raw]["p50"])
    report.row(
        "client SigV4 signing p50 (not in HTTP figures)", b.fmt_ms(b.summary(b.ms(sign))["p50"])
    )
    for name, label in ((raw, "raw ASGI"), (st, "Starlette")):
        report.compare(
            f"throughput, 16 conns (vs {label})", load[n]["rps"], load[name]["rps"], "/s"
        )
    report.compare("latency under load p50 (vs raw ASGI)", load[n]["p50_ms"], load[raw]["p50_ms"])
    cpu = "server_cpu_us_per_request"
    report.compare("server CPU per request (vs raw ASGI)", load[n][cpu], load[raw][cpu], " us")
    report.compare("server CPU per request (vs Starlette)", load[n][cpu], load[st][cpu], " us")
    report.row("environment CPU per request", f"{load[n]['env_cpu_us_per_request']:.0f} us")
    ip, fl = b.summary(b.ms(inproc)), b.summary(b.ms(floor))
    for q in ("p50", "p99"):
        report.compare(f"in-process invoke {q} (vs socketpair RTT)", ip[q], fl[q])
    report.figures.update({
        "http_keepalive_ms": ka, "boto3_ms": bt, "throughput": load,
        "sign_ms": b.summary(b.ms(sign)), "in_process_ms": ip, "socketpair_floor_ms": fl,
    })  # fmt: skip
    report.goals += [
        b.Goal("HTTP warm invoke p50", ka[n]["p50"], 1.5, "ms"),
        b.Goal("throughput, 16 concurrent clients", load[n]["rps"], 1000.0, "invokes/s", ">="),
        b.Goal("in-process warm invoke p50", ip["p50"], 0.2, "ms"),
    ]


def add_small(report: b.Report, http: list[float], inproc: list[float]) -> None:
    """The same no-op at 128 MB, where the environment's CPU share is 128/1769 of a CPU."""
    h, i = b.summary(b.ms(http)), b.summary(b.ms(inproc))
    for q in ("p50", "p99"):
        report.row(f"128 MB fn: HTTP keep-alive {q}", b.fmt_ms(h[q]))
    for q in ("p50", "p99"):
        report.row(f"128 MB fn: in-process {q}", b.fmt_ms(i[q]))
    report.figures["http_keepalive_128mb_ms"] = h
    report.figures["in_process_128mb_ms"] = i


def _load_summary(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median over runs of each load figure."""
    keys = runs[0].keys()
    return {k: b.percentile([r[k] for r in runs], 50) for k in keys}


if __name__ == "__main__":
    main()
