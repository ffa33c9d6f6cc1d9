"""What logs, metrics and metering cost a warm invoke: the same server with them on and off.

Two `python -m nimbus server` processes, identical but for `NIMBUS_TELEMETRY=false` on one,
each with the warm no-op function at 1,769 MB. Latency over one kept-open signed
connection and throughput with 16 keep-alive connections from a separate process, in
interleaved rounds so both share the machine's noise. With telemetry on, every invocation
appends its log lines, updates the minute metrics and commits its usage record (fsync)
before it answers: written to the OS (a server crash loses none) and fsynced within
NIMBUS_USAGE_SYNC_INTERVAL_MS (default 100). A third server fsyncs every usage commit
before answering (interval 0), to show what that stricter setting costs.

Goal (issue 3): at most 10% more latency and at least 90% of the throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import urllib.request
from pathlib import Path

import benchlib as b

FUNCTION = "warm-noop"
FULL_CPU_MB = 1769


def throughput(url: str, conns: int, seconds: float) -> float:
    script = Path(__file__).with_name("loadgen.py")
    argv = [b.PYTHON, str(script), url, FUNCTION, "--conns", str(conns), "--seconds", str(seconds)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["rps"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--load-rounds", type=int, default=3)
    args = parser.parse_args()
    report = b.Report("telemetry_overhead")
    fsync_each = {"NIMBUS_USAGE_SYNC_INTERVAL_MS": "0"}
    with (
        b.NimbusServer() as on,
        b.NimbusServer({"NIMBUS_TELEMETRY": "false"}) as off,
        b.NimbusServer(fsync_each) as strict,
    ):
        targets = {"on": on.url, "off": off.url, "fsync-each": strict.url}
        for url in targets.values():
            client = b.lambda_client(url)
            b.create_function(client, FUNCTION, b.build_zip(), memory=FULL_CPU_MB)
            client.invoke(FunctionName=FUNCTION, Payload=b"{}")
        latency: dict[str, list[float]] = {name: [] for name in targets}
        rps: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                latency[name] += b.timed_keepalive(url, FUNCTION, args.requests // args.rounds)
        for _ in range(args.load_rounds):
            for name, url in targets.items():
                rps[name].append(throughput(url, args.conns, args.seconds))
        with urllib.request.urlopen(on.url + "/_nimbus/bill", timeout=30) as reply:
            billed = json.loads(reply.read())
    p50 = {name: b.percentile(b.ms(values), 50) for name, values in latency.items()}
    p99 = {name: b.percentile(b.ms(values), 99) for name, values in latency.items()}
    best = {name: statistics.median(values) for name, values in rps.items()}
    report.compare("warm invoke p50 (keep-alive)", p50["on"], p50["off"])
    report.compare("warm invoke p99 (keep-alive)", p99["on"], p99["off"])
    report.compare("warm invoke p50, fsync per usage commit", p50["fsync-each"], p50["off"])
    report.row(
        f"throughput, {args.conns} clients (median of {args.load_rounds})",
        f"{best['on']:.0f}/s", f"{best['off']:.0f}/s", b.ratio(best["on"], best["off"]),
    )  # fmt: skip
    latency_overhead = (p50["on"] / p50["off"] - 1) * 100
    throughput_share = best["on"] / best["off"] * 100
    report.goals.append(b.Goal("latency overhead", latency_overhead, 10.0, "%"))
    report.goals.append(b.Goal("throughput kept", throughput_share, 90.0, "%", op=">="))
    requests = sum(line["requests"] for line in billed["functions"])
    report.notes.append(
        f"baseline is the same server with NIMBUS_TELEMETRY=false; the telemetry server "
        f"billed {requests} requests in this run"
    )
    report.figures = {"p50_ms": p50, "p99_ms": p99, "rps": rps}
    report.emit()


if __name__ == "__main__":
    main()
