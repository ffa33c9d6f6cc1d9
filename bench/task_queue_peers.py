"""The task-queue peers for issue 4: Celery and Dramatiq on Redis, a no-op task each.

What the SQS event-source-mapping benchmark is compared against. Each peer runs with the
Redis on 127.0.0.1:6379 (its own database, a queue name unique to the run) and two worker
processes started as subprocesses of this script and stopped with SIGTERM (their warm
shutdown):

- Celery 5: Redis broker and result backend, one `worker --pool=prefork --concurrency=2`.
- Dramatiq: RedisBroker with the Results middleware (RedisBackend), two worker processes
  of one thread each (`dramatiq.Worker(broker, worker_threads=1)`).

Per peer: the enqueue → result round trip, sequential (p50 of `n`), and the throughput of
`n` no-op tasks enqueued back to back, from the first enqueue to the last result.
`celery_figures(n)` and `dramatiq_figures(n)` return
`{"round_trip_p50_ms": ..., "throughput_per_s": ...}` for other scripts to import.
Internally the script is also its own worker (`--celery-worker QUEUE`,
`--dramatiq-worker QUEUE`), so nothing is registered at import time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import benchlib as b

CELERY_REDIS = "redis://127.0.0.1:6379/14"
DRAMATIQ_REDIS = "redis://127.0.0.1:6379/15"
WORKER_PROCESSES = 2
READY_TIMEOUT_S = 60
RESULT_TIMEOUT_S = 60
RESULT_TTL_S = 300
STOP_TIMEOUT_S = 30
SCRIPT = Path(__file__).resolve()


def noop() -> None:
    """The task: does nothing, so only the queue's own cost is measured."""


# -- Celery -------------------------------------------------------------------------------


def celery_app(queue: str) -> Any:
    """A Celery app on Redis whose `noop` task goes to `queue`."""
    from celery import Celery

    app = Celery("nimbus-bench", broker=CELERY_REDIS, backend=CELERY_REDIS)
    app.conf.update(
        task_default_queue=queue,
        result_expires=RESULT_TTL_S,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    app.task(name="bench.noop")(noop)
    return app


def run_celery_worker(queue: str) -> None:
    """The worker subprocess: prefork, 2 children, only our queue, no cluster chatter."""
    celery_app(queue).worker_main(
        ["worker", "--pool=prefork", f"--concurrency={WORKER_PROCESSES}", "--loglevel=WARNING",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat"]
    )  # fmt: skip


def celery_figures(n: int = 1000) -> dict[str, float]:
    """Round trip p50 (ms) over `n` sequential tasks and throughput (tasks/s) of `n` tasks."""
    queue = f"bench-{uuid.uuid4().hex[:12]}"
    app = celery_app(queue)
    task = app.tasks["bench.noop"]
    with workers("--celery-worker", queue, 1):
        task.delay().get(timeout=READY_TIMEOUT_S)  # the worker is up and warm
        figures = measure(
            lambda: task.delay().get(timeout=RESULT_TIMEOUT_S),
            lambda: [task.delay() for _ in range(n)],
            lambda result: result.get(timeout=RESULT_TIMEOUT_S),
            n,
        )
    app.close()
    forget_celery_queue(queue)
    return figures


def forget_celery_queue(queue: str) -> None:
    """Drop the routing keys kombu left for the run's queue (results expire by themselves)."""
    import redis

    client = redis.Redis.from_url(CELERY_REDIS)
    client.delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


# -- Dramatiq -----------------------------------------------------------------------------


def dramatiq_actor(queue: str) -> Any:
    """A RedisBroker with the Results middleware and the `noop` actor on `queue`."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.results import Results
    from dramatiq.results.backends.redis import RedisBackend

    broker = RedisBroker(url=DRAMATIQ_REDIS)
    backend = RedisBackend(url=DRAMATIQ_REDIS)
    broker.add_middleware(Results(backend=backend, result_ttl=RESULT_TTL_S * 1000))
    return dramatiq.actor(
        noop, broker=broker, queue_name=queue, actor_name="noop", store_results=True,
        max_retries=0,
    )  # fmt: skip


def run_dramatiq_worker(queue: str) -> None:
    """One worker process with one thread, until SIGTERM."""
    import dramatiq

    broker = dramatiq_actor(queue).broker
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    while not stopping.wait(0.2):
        pass
    worker.stop()
    broker.close()


def dramatiq_figures(n: int = 1000) -> dict[str, float]:
    """Round trip p50 (ms) over `n` sequential tasks and throughput (tasks/s) of `n` tasks."""
    queue = f"bench_{uuid.uuid4().hex[:12]}"
    actor = dramatiq_actor(queue)
    backend = actor.broker.get_results_backend()
    timeout_ms = RESULT_TIMEOUT_S * 1000

    def result(message: Any, timeout: int = timeout_ms) -> object:
        return backend.get_result(message, block=True, timeout=timeout)

    with workers("--dramatiq-worker", queue, WORKER_PROCESSES):
        result(actor.send(), READY_TIMEOUT_S * 1000)  # both workers are up
        figures = measure(
            lambda: result(actor.send()), lambda: [actor.send() for _ in range(n)], result, n
        )
    actor.broker.flush(queue)
    actor.broker.close()
    return figures


# -- common -------------------------------------------------------------------------------


def measure(
    round_trip: Callable[[], object],
    enqueue_all: Callable[[], list[Any]],
    wait: Callable[[Any], object],
    n: int,
) -> dict[str, float]:
    """Sequential round trips, then `n` tasks enqueued back to back and waited for."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        round_trip()
        samples.append(time.perf_counter() - started)
    started = time.perf_counter()
    for handle in enqueue_all():
        wait(handle)
    elapsed = time.perf_counter() - started
    return {
        "round_trip_p50_ms": b.percentile(b.ms(samples), 50),
        "throughput_per_s": n / elapsed,
    }


@contextlib.contextmanager
def workers(flag: str, queue: str, count: int) -> Iterator[None]:
    """`count` worker subprocesses of this script; SIGTERM (warm shutdown) when done."""
    argv = [b.PYTHON, str(SCRIPT), flag, queue]
    # Own sessions, so a straggler (a prefork child) can be killed with its group.
    # Their banners and logs go to stderr: stdout's last line is this script's JSON.
    processes = [
        subprocess.Popen(argv, stdout=sys.stderr, start_new_session=True) for _ in range(count)
    ]
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000, help="tasks per measure")
    parser.add_argument("--celery-worker", metavar="QUEUE", help=argparse.SUPPRESS)
    parser.add_argument("--dramatiq-worker", metavar="QUEUE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.celery_worker:
        run_celery_worker(args.celery_worker)
    elif args.dramatiq_worker:
        run_dramatiq_worker(args.dramatiq_worker)
    else:
        report_peers(args.n)


def report_peers(n: int) -> None:
    """Measure both peers and print the table, then the JSON line."""
    report = b.Report("task_queue_peers")
    peers = {"celery": celery_figures(n), "dramatiq": dramatiq_figures(n)}
    for name, figures in peers.items():
        report.row(f"{name}: enqueue→result p50 (sequential)", "-",
                   b.fmt_ms(figures["round_trip_p50_ms"]))  # fmt: skip
        report.row(f"{name}: no-op tasks/s ({n} tasks)", "-",
                   f"{figures['throughput_per_s']:.0f} tasks/s")  # fmt: skip
    report.figures = peers
    report.notes.append(
        f"baselines only (nimbus's event source mapping is measured elsewhere); Redis "
        f"on loopback, {WORKER_PROCESSES} worker processes per peer, client in this process"
    )
    report.emit()


if __name__ == "__main__":
    main()
