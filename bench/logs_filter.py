"""FilterLogEvents over a million stored lines: the first page, and the append cost.

One log group with 1,000,000 lines across ~1,000 streams, as Lambda writes them: START,
the function's own lines (plain text and some JSON), END, REPORT; a few rare lines
(an exception, a timeout). For each pattern the first page of `filter_log_events`
(default limit: 10,000 events / 1 MB; bounded scan, so a rare pattern may answer with
fewer events and a token) is timed, median of several runs.
Baseline, same lines, same run: `grep -m 10000 -F TERM` over the lines in a flat file
(including the process start), and Python's `in` over a list of the lines.
Also: the cost of `LogStore.append` (the warm-invoke hot path), the ingest rate, and a
rare pattern followed token by token to the end of the group.

Goals (issue): every first page <= 200 ms; append <= 5 us (only enqueues).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import benchlib as b

from nimbus.telemetry.logs import LogsService
from nimbus.telemetry.logstore import LogStore

GROUP = "/aws/lambda/bench"
START_MS = 1_795_000_000_000
# (label, filter pattern, the literal text the baselines search for)
CASES = (
    ("no pattern", "", ""),
    ("common term", "REPORT", "REPORT"),
    ("rare term", "ConnectionResetError", "ConnectionResetError"),
    ("never-matching term", "NoSuchNeedleAnywhere", "NoSuchNeedleAnywhere"),
    ("quoted phrase", '"Task timed out"', "Task timed out"),
    ("JSON, never matches", '{ $.level = "FATAL" }', '"level": "FATAL"'),
)


def invocation_lines(rng: random.Random) -> list[str]:
    """One invocation's log lines, shaped like a Python Lambda function's."""
    request = str(uuid.UUID(int=rng.getrandbits(128)))
    lines = [f"START RequestId: {request} Version: $LATEST\n"]
    for _ in range(rng.randint(1, 5)):
        lines.append(app_line(rng, request))
    duration = rng.uniform(1, 900)
    lines.append(f"END RequestId: {request}\n")
    lines.append(
        f"REPORT RequestId: {request}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 128 MB\t"
        f"Max Memory Used: {rng.randint(40, 90)} MB\t\n"
    )
    return lines


def app_line(rng: random.Random, request: str) -> str:
    roll = rng.random()
    stamp = "2026-11-28T19:05:00.123Z"
    if roll < 0.0001:
        return f"[ERROR]\t{stamp}\t{request}\tConnectionResetError: peer closed the socket\n"
    if roll < 0.0003:
        return f"{stamp} {request} Task timed out after 3.00 seconds\n"
    if roll < 0.3:
        order = rng.randint(1, 10**6)
        return f'{{"level": "INFO", "message": "order stored", "order": {order}}}\n'
    order, took = rng.randint(1, 10**6), rng.randint(1, 99)
    return f"[INFO]\t{stamp}\t{request}\tprocessed order {order} in {took} ms\n"


def build(store: LogStore, total: int, streams: int) -> tuple[list[str], float, list[float]]:
    """Append `total` lines invocation by invocation; returns the lines, the ingest seconds
    and a sample of append() call costs."""
    rng = random.Random(7)
    names = [f"2026/11/28/[$LATEST]{rng.getrandbits(128):032x}" for _ in range(streams)]
    lines: list[str] = []
    costs: list[float] = []
    started = time.perf_counter()
    clock_ms = START_MS
    while len(lines) < total:
        batch = invocation_lines(rng)[: total - len(lines)]
        clock_ms += 3
        events = [(clock_ms, line) for line in batch]
        began = time.perf_counter()
        store.append(GROUP, names[rng.randrange(streams)], events)
        costs.append(time.perf_counter() - began)
        lines.extend(batch)
    store.flush()
    return lines, time.perf_counter() - started, costs


def first_page(service: LogsService, pattern: str, runs: int) -> tuple[float, int, bool]:
    """Median seconds of the first page; its size and whether it carried a token."""
    samples, size, token = [], 0, False
    for _ in range(runs):
        began = time.perf_counter()
        page = service.filter_log_events(GROUP, None, None, None, None, pattern, None, None)
        samples.append(time.perf_counter() - began)
        size, token = len(page.events), page.next_token is not None
    return statistics.median(samples), size, token


def follow_to_end(service: LogsService, pattern: str) -> tuple[float, int, int]:
    """A rare pattern followed token by token through the whole group."""
    began = time.perf_counter()
    token: str | None = None
    calls = found = 0
    while True:
        page = service.filter_log_events(GROUP, None, None, None, None, pattern, token, None)
        calls += 1
        found += len(page.events)
        token = page.next_token
        if token is None:
            return time.perf_counter() - began, calls, found


def grep_time(path: Path, term: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(["grep", "-m", "10000", "-F", "--", term, str(path)],
                       stdout=subprocess.DEVNULL, check=False)  # fmt: skip
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def python_time(lines: list[str], term: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        found = 0
        for line in lines:
            if term in line:
                found += 1
                if found == 10_000:
                    break
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    report = b.Report("logs_filter")
    workdir = Path(tempfile.mkdtemp(prefix="nimbus-logs-bench-"))
    store = LogStore(workdir / "logs.db")
    try:
        service = LogsService(store, b.REGION, "000000000000", 30)
        lines, ingest_s, costs = build(store, args.lines, args.streams)
        flat = workdir / "lines.txt"
        flat.write_text("".join(lines))
        measure(report, service, lines, flat, args.runs)
        append_us = statistics.median(costs) * 1e6
        report.row("append() per invocation (p50 / p99)",
                   f"{append_us:.2f} us / {b.percentile(costs, 99) * 1e6:.2f} us")  # fmt: skip
        report.row("ingest (append -> committed)", f"{len(lines) / ingest_s:,.0f} lines/s")
        report.goals.append(b.Goal("append_p50", append_us, 5.0, "us"))
        elapsed, calls, found = follow_to_end(service, "ConnectionResetError")
        report.row("rare term followed to the end", f"{elapsed * 1000:.0f} ms",
                   f"{calls} calls, {found} events")  # fmt: skip
        size_mb = (workdir / "logs.db").stat().st_size / 2**20
        report.figures.update(lines=len(lines), streams=args.streams, db_mb=round(size_mb, 1),
                              flat_mb=round(flat.stat().st_size / 2**20, 1),
                              append_p50_us=append_us, machine=b.machine())  # fmt: skip
        report.notes.append(
            "nimbus examines a bounded part of the group per call (a rare term answers with "
            "fewer events and a token); grep and Python scan the flat file until 10,000 "
            "matches or its end"
        )
    finally:
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)
    report.emit()


def measure(
    report: b.Report, service: LogsService, lines: list[str], flat: Path, runs: int
) -> None:
    for label, pattern, term in CASES:
        took, size, token = first_page(service, pattern, runs)
        grep = grep_time(flat, term, runs)
        python = python_time(lines, term, runs)
        more = " +token" if token else ""
        report.row(f"first page: {label} ({size} events{more})", b.fmt_ms(took * 1000),
                   f"grep {b.fmt_ms(grep * 1000)}", b.ratio(took, grep))  # fmt: skip
        report.row(f"  vs python `in` ({label})", "", b.fmt_ms(python * 1000),
                   b.ratio(took, python))  # fmt: skip
        key = label.replace(" ", "_").replace(",", "")
        report.figures[f"first_page_ms_{key}"] = round(took * 1000, 3)
        report.figures[f"grep_ms_{key}"] = round(grep * 1000, 3)
        report.goals.append(b.Goal(f"first_page_{key}", took * 1000, 200.0, "ms"))


if __name__ == "__main__":
    main()
