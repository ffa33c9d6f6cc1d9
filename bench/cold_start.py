"""Cold start: the first boto3 Invoke of a just-created no-op Python function.

Each repetition creates a new function, times its first Invoke (a cold start: fork from
the zygote, confinement, handler import) and then a second one (warm, for reference).
The baseline, interleaved with nimbus in the same loop so both see the same noise, is
spawning `python -c "import boto3"` with the same interpreter: what a cold start costs
when every environment starts a fresh interpreter.

Goal (issue): p50 <= 25 ms and <= 0.1 x baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import time

import benchlib as b


def spawn_baseline() -> float:
    started = time.perf_counter()
    subprocess.run([b.PYTHON, "-c", "import boto3"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--memory", type=int, default=128)
    args = parser.parse_args()
    report = b.Report("cold_start")
    zip_bytes = b.build_zip()
    with b.NimbusServer() as server:
        client = b.lambda_client(server.url)
        # the very first invoke also starts the runtime's zygote: reported, not counted
        b.create_function(client, "zygote-warmup", zip_bytes)
        with b.stopwatch() as first:
            client.invoke(FunctionName="zygote-warmup", Payload=b"{}")
        spawn_baseline()
        cold, warm, base, create = [], [], [], []
        before = server.health()["cold_starts"]
        for i in range(args.reps):
            name = f"cold-{i}"
            with b.stopwatch() as created:
                b.create_function(client, name, zip_bytes, memory=args.memory)
            with b.stopwatch() as took:
                reply = client.invoke(FunctionName=name, Payload=b"{}")
            if reply["StatusCode"] != 200 or "FunctionError" in reply:
                raise RuntimeError(f"cold invoke failed: {reply}")
            with b.stopwatch() as again:
                client.invoke(FunctionName=name, Payload=b"{}")
            create.append(created[0])
            cold.append(took[0])
            warm.append(again[0])
            base.append(spawn_baseline())
        counted = server.health()["cold_starts"] - before
    if counted != args.reps:
        report.notes.append(f"expected {args.reps} cold starts, the server counted {counted}")
    summarise(report, first[0], cold, warm, base, create)
    report.emit()


def summarise(
    report: b.Report,
    first: float,
    cold: list[float],
    warm: list[float],
    base: list[float],
    create: list[float],
) -> None:
    c, w, s, cr = (b.summary(b.ms(x)) for x in (cold, warm, base, create))
    report.row("cold invoke p50 (boto3)", b.fmt_ms(c["p50"]), b.fmt_ms(s["p50"]),
               b.ratio(c["p50"], s["p50"]))  # fmt: skip
    report.row("cold invoke p90", b.fmt_ms(c["p90"]), b.fmt_ms(s["p90"]),
               b.ratio(c["p90"], s["p90"]))  # fmt: skip
    report.row("cold invoke min", b.fmt_ms(c["min"]), b.fmt_ms(s["min"]))
    report.row("warm invoke p50 (same fn, boto3)", b.fmt_ms(w["p50"]))
    report.row("cold - warm p50 (server-side cold cost)", b.fmt_ms(c["p50"] - w["p50"]))
    report.row("CreateFunction p50 (boto3)", b.fmt_ms(cr["p50"]))
    report.row("first invoke incl. zygote start", b.fmt_ms(first * 1000))
    report.figures = {
        "cold_ms": c, "warm_ms": w, "baseline_spawn_import_boto3_ms": s,
        "create_function_ms": cr, "first_invoke_with_zygote_ms": first * 1000,
        "ratio_p50": c["p50"] / s["p50"],
    }  # fmt: skip
    report.goals.append(b.Goal("cold start p50", c["p50"], 25.0, "ms"))
    report.goals.append(b.Goal("cold start p50 / baseline p50", c["p50"] / s["p50"], 0.1, "x"))


if __name__ == "__main__":
    main()
