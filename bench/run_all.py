"""Run every benchmark, then rewrite bench/RESULTS.md with the figures and the goals.

`.venv/bin/python bench/run_all.py [--only NAME ...]`. Each benchmark runs as its own
process; its output is shown as it runs and its last line (JSON) is collected. Takes
about five minutes on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import benchlib as b

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "cold_start", "warm_invoke", "snapshot_isolation", "memory", "telemetry_overhead",
    "logs_filter", "sqs_throughput", "esm_pipeline", "s3_objects", "s3_notifications",
    "events_router",
)  # fmt: skip
TIMEOUT_S = 240

METHOD = """\
Each script starts its own nimbus (`python -m nimbus server` on a free port with a
private data dir, or an in-process `Platform`) and its baseline, and measures both in the
same run, interleaved where the machine's noise could favour one of them:

- **cold_start**: per repetition, CreateFunction (no-op Python 3.11, 128 MB) then time
  the first boto3 Invoke; baseline: `python -c "import boto3"` spawned with the same
  interpreter, interleaved with the nimbus repetitions. The zygote is started by one
  warm-up invoke before the repetitions (its start is reported apart).
- **warm_invoke**: a warm no-op at 1,769 MB (one vCPU: at 128 MB the environment's CPU
  quota, 128/1769 of a CPU, throttles it as Lambda would; that case is reported beside).
  Latency over one kept-open `http.client` connection, SigV4-signed by botocore before
  the clock starts; boto3's own latency; throughput with 16 keep-alive connections from a
  separate client process (asyncio/uvloop, pre-signed requests); server CPU per request
  from /proc. Baselines: a raw ASGI echo and a Starlette echo under uvicorn with nimbus's
  settings (uvloop, httptools), measured the same way in interleaved rounds. In-process:
  `Platform.functions.invoke`, against a frame round trip over a socketpair to a forked
  echo process (the transport nimbus uses to reach an environment).
- **snapshot_isolation**: back-to-back invokes of a no-op with
  `NIMBUS_ISOLATION=invocation` (1,769 MB) in-process and over HTTP; baseline: bare
  `os.fork(); os._exit(0); waitpid` in an interpreter started like the zygote with boto3
  imported, alternating with nimbus rounds.
- **memory**: server RSS/USS idle, the zygote's RSS/USS, and the USS (private clean +
  private dirty from /proc/PID/smaps_rollup) of each of 20 environments made warm by 20
  concurrent invokes of a function sleeping 0.5 s; baseline: a standalone interpreter
  that imported boto3 (what each environment would cost without a zygote).
- **telemetry_overhead**: two servers, identical but for `NIMBUS_TELEMETRY=false` on the
  baseline, each with the warm no-op at 1,769 MB; keep-alive latency and 16-connection
  throughput in interleaved rounds. With telemetry on, each invocation appends its log
  lines, updates the minute metrics and commits its usage record (fsync) before answering.
- **logs_filter**: in-process `LogsService` over a store of 1,000,000 Lambda-like lines in
  one group across 1,000 streams; first page of FilterLogEvents for several patterns
  (median of runs); baselines: `grep -m 10000` and Python `in` over the same lines in a
  flat file.
- **sqs_throughput**: SendMessageBatch + ReceiveMessage(10) + DeleteMessageBatch via boto3
  with 4 client threads against nimbus and `moto_server` in interleaved rounds.
- **esm_pipeline**: a no-op function behind an SQS event source mapping: send-to-handler
  latency (the handler logs `now - send time`) and messages/s for a queued backlog;
  peers: Celery 5 and Dramatiq with Redis, 2 worker processes, a no-op task
  (`bench/task_queue_peers.py`; needs `pip install -e '.[bench]'`).
- **s3_objects**: boto3 against nimbus and `moto_server`: 8 client threads (one client
  each) looping PutObject of a new 1 KB key then GetObject of it for 4 s (pairs/s), and
  `upload_file`/`download_file` of 1 GiB of random bytes with s3transfer defaults (moto
  at 256 MB: it keeps objects in memory and serves ranged GETs of a 1 GiB multipart
  object at ~13 MB/s); bare baseline: the same bytes written to a local file with fsync,
  read back, and copied to a new file without fsync (download_file's floor), by one
  process. Interleaved rounds, medians.
- **s3_notifications**: a warm function (1,769 MB) whose handler sends each record's key
  to a reply queue with a module-level boto3 SQS client; sequential PutObject to a bucket
  with a LambdaFunctionConfiguration (s3:ObjectCreated:*), timed from the PutObject
  response to ReceiveMessage (WaitTimeSeconds=20) returning the key; baseline: the same
  handler through boto3 `invoke(InvocationType="Event")`, timed from the 202. Interleaved
  sample by sample with a QueueConfiguration bucket (the outbox without a function) and a
  reply floor (a second client's SendMessage while the first long-polls).
- **events_router**: in-process, 1,000 rules of varied patterns and 2,000 varied events:
  events/s through `RuleIndex.matching` (what the router calls per event) against the
  reference interpreter of `tests/unit/events/pattern_reference.py` trying every pattern
  on every event, interleaved rounds, one core. Then a server: PutEvents to a rule whose
  target is a warm function (1,769 MB) that sends the event's key to a reply queue,
  timed from before PutEvents to ReceiveMessage returning the key; baseline: the same
  handler through `invoke(InvocationType="Event")`, interleaved sample by sample; and
  PutEvents of 10 entries from 4 boto3 threads to a bus whose rule targets a queue
  (accepted events/s), against `moto_server` in alternating rounds.
"""


def run(name: str) -> dict[str, Any]:
    """Run one benchmark, echoing its output; returns its JSON line (or the failure)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [b.PYTHON, str(HERE / f"{name}.py")], stdout=subprocess.PIPE, text=True, cwd=b.ROOT
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if not line.startswith("{"):
            print(line, end="", flush=True)
    code = process.wait(timeout=TIMEOUT_S)
    elapsed = time.monotonic() - started
    if code != 0 or not lines or not lines[-1].startswith("{"):
        return {"benchmark": name, "error": f"exit {code}", "seconds": elapsed}
    result: dict[str, Any] = json.loads(lines[-1])
    result["seconds"] = elapsed
    return result


def markdown(results: list[dict[str, Any]], host: dict[str, str], total_s: float) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# nimbus benchmark results",
        "",
        f"Written by `bench/run_all.py` on {now} (total run time {total_s:.0f} s).",
        "Re-run with `.venv/bin/python bench/run_all.py`; every figure below is from that run.",
        "",
        "## Machine",
        "",
        f"- CPUs (nproc): {host['nproc']}, {host['cpu']}",
        f"- memory: {host['memory']}; kernel {host['kernel']}; Python {host['python']}",
        f"- load average at the start: {host['loadavg']}, at the end: {b.machine()['loadavg']}",
        "  (the machine is shared and noisy: medians and percentiles over many repetitions,",
        "  baselines measured in the same run, interleaved; absolute figures move between",
        "  runs by tens of percent, ratios less)",
        "",
        "## Goals",
        "",
        "| benchmark | goal | measured | target | met |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        for goal in result.get("goals", []):
            mark = "yes" if goal["met"] else "**no**"
            out.append(
                f"| {result['benchmark']} | {goal['name']} | {goal['value']:.3f} {goal['unit']} "
                f"| {goal['op']} {goal['target']:g} {goal['unit']} | {mark} |"
            )
    for result in results:
        out += ["", f"## {result['benchmark']} ({result.get('seconds', 0):.0f} s)", ""]
        if "error" in result:
            out.append(f"**failed**: {result['error']}")
            continue
        out += ["| measure | nimbus | baseline | ratio |", "|---|---|---|---|"]
        out += [f"| {' | '.join(row)} |" for row in result["table"]]
        out += [f"\nNote: {note}" for note in result.get("notes", [])]
    out += ["", "## Method", "", METHOD]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS)
    parser.add_argument("--no-write", action="store_true", help="do not rewrite RESULTS.md")
    args = parser.parse_args()
    host = b.machine()
    started = time.monotonic()
    results = [run(name) for name in (args.only or BENCHMARKS)]
    total = time.monotonic() - started
    text = markdown(results, host, total)
    if not args.no_write:
        (HERE / "RESULTS.md").write_text(text + "\n")
    print(
        f"\nall benchmarks: {total:.0f} s" + ("" if args.no_write else "; wrote bench/RESULTS.md")
    )
    failed = [r["benchmark"] for r in results if "error" in r]
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
