"""Memory: the idle server, its zygote, and the unshared memory of each warm environment.

1. A fresh server, idle: RSS/PSS/USS of the server process (the zygote starts lazily, at
   the first invoke, so it is measured after one no-op invoke, as a child of the server).
2. N concurrent invocations of a function that sleeps 0.5 s make N environments warm;
   each environment (a child of the zygote) is measured by its USS, the private clean +
   private dirty memory of /proc/PID/smaps_rollup: what one more environment costs.
Baseline: a standalone interpreter that imported boto3, which is what each environment
would cost without a zygote to share pages with.

Goals (issue): idle server RSS <= 100 MB; USS per extra warm environment <= 15 MB.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
import time

import benchlib as b

SLEEPER = "import time\n\ndef handler(event, context):\n    time.sleep(0.5)\n    return None\n"
STANDALONE = "import sys, time, boto3, botocore.session; print('ready', flush=True); time.sleep(60)"


def memory_of(pid: int) -> dict[str, float]:
    rollup = b.smaps_kb(pid)
    uss = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    return {"rss_mb": b.rss_kb(pid) / 1024, "pss_mb": rollup.get("Pss", 0) / 1024,
            "uss_mb": uss / 1024}  # fmt: skip


def environments(server_pid: int) -> set[int]:
    return {env for zygote in b.children(server_pid) for env in b.children(zygote)}


def burst(url: str, function: str, count: int) -> list[float]:
    """`count` concurrent invokes, one thread and one connection each; returns latencies."""
    clients = [b.KeepAliveClient(url) for _ in range(count)]
    prepared = [client.prepare(function) for client in clients]
    latencies: list[float] = [0.0] * count
    errors: list[BaseException] = []
    gate = threading.Barrier(count)

    def call(i: int) -> None:
        gate.wait()
        started = time.perf_counter()
        try:
            clients[i].send(*prepared[i])
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)
        latencies[i] = time.perf_counter() - started

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    if errors:
        raise errors[0]
    return latencies


def standalone_memory(interpreter: str) -> dict[str, float]:
    process = subprocess.Popen(
        [interpreter, "-c", STANDALONE], stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()
        return memory_of(process.pid)
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envs", type=int, default=20)
    args = parser.parse_args()
    from nimbus.sandbox.zygote import current_interpreter

    report = b.Report("memory")
    with b.NimbusServer() as server:
        time.sleep(1.0)
        idle = memory_of(server.pid)
        client = b.lambda_client(server.url)
        b.create_function(client, "noop", b.build_zip())
        client.invoke(FunctionName="noop", Payload=b"{}")
        time.sleep(0.5)
        after_first = memory_of(server.pid)
        zygotes = {pid: memory_of(pid) for pid in b.children(server.pid)}
        b.create_function(client, "sleeper", b.build_zip(SLEEPER))
        before = environments(server.pid)
        latencies = burst(server.url, "sleeper", args.envs)
        time.sleep(0.5)
        new_envs = sorted(environments(server.pid) - before)
        envs = [memory_of(pid) for pid in new_envs]
        after_burst = memory_of(server.pid)
        health = server.health()
    standalone = standalone_memory(current_interpreter())
    summarise(report, idle, after_first, after_burst, zygotes, envs, standalone)
    report.figures["burst_latency_ms"] = b.summary(b.ms(latencies))
    report.figures["health"] = health
    if len(envs) != args.envs:
        report.notes.append(f"{args.envs} concurrent invokes left {len(envs)} new environments")
    report.emit()


def summarise(
    report: b.Report,
    idle: dict[str, float],
    after_first: dict[str, float],
    after_burst: dict[str, float],
    zygotes: dict[int, dict[str, float]],
    envs: list[dict[str, float]],
    standalone: dict[str, float],
) -> None:
    report.row("server RSS, idle (fresh)", f"{idle['rss_mb']:.1f} MB")
    report.row("server USS, idle (fresh)", f"{idle['uss_mb']:.1f} MB")
    report.row("server RSS, after first invoke", f"{after_first['rss_mb']:.1f} MB")
    report.row(f"server RSS, {len(envs)} warm envs", f"{after_burst['rss_mb']:.1f} MB")
    for pid, mem in zygotes.items():
        report.row(f"zygote {pid} RSS / USS", f"{mem['rss_mb']:.1f} / {mem['uss_mb']:.1f} MB",
                   f"{standalone['rss_mb']:.1f} / {standalone['uss_mb']:.1f} MB")  # fmt: skip
    uss = [e["uss_mb"] for e in envs]
    rss = [e["rss_mb"] for e in envs]
    pss = [e["pss_mb"] for e in envs]
    med = b.percentile(uss, 50)
    report.row("env USS p50 (vs standalone boto3 USS)", f"{med:.2f} MB",
               f"{standalone['uss_mb']:.1f} MB", b.ratio(med, standalone["uss_mb"]))  # fmt: skip
    report.row("env USS max", f"{max(uss):.2f} MB")
    report.row("env RSS p50 / PSS p50", f"{b.percentile(rss, 50):.1f} / "
               f"{b.percentile(pss, 50):.1f} MB")  # fmt: skip
    report.figures = {
        "server_idle": idle, "server_after_first_invoke": after_first,
        "server_after_burst": after_burst, "zygotes": {str(k): v for k, v in zygotes.items()},
        "env_uss_mb": b.summary(uss), "env_rss_mb": b.summary(rss), "env_pss_mb": b.summary(pss),
        "standalone_boto3": standalone,
    }  # fmt: skip
    report.goals += [
        b.Goal("idle server RSS", idle["rss_mb"], 100.0, "MB"),
        b.Goal("USS per extra warm environment (p50)", med, 15.0, "MB"),
        b.Goal("USS per extra warm environment (max)", max(uss), 15.0, "MB"),
    ]


if __name__ == "__main__":
    main()
