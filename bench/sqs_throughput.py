"""SQS messages/s end to end, and send→receive latency: nimbus against moto's server.

Both servers run as subprocesses on free ports in the same run: `python -m nimbus server`
and `python -m moto.server` (moto's standalone server, the usual local SQS stand-in).
Throughput: 4 boto3 client threads, each with its own queue, loop SendMessageBatch (10)
→ ReceiveMessage (MaxNumberOfMessages=10) until those 10 are back → DeleteMessageBatch;
messages/s is the messages deleted by all threads over the round's wall time. Rounds
alternate between the servers (order flipped every round) so both share the noise; the
median round is reported. Latency: one SendMessage then one ReceiveMessage of it
(WaitTimeSeconds=0, retried until it is there), sequential, on the same server pairs;
the delete is outside the clock.

Goal (issue): nimbus ≥ 3,000 messages/s end to end.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import benchlib as b

BATCH = 10
THREADS = 4
GOAL_MSG_PER_S = 3000.0


def sqs_client(url: str, pool: int = THREADS) -> Any:
    """A boto3 SQS client for `url`: no retries, so a failure is seen, not hidden."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=pool)
    return boto3.session.Session().client(
        "sqs", endpoint_url=url, region_name=b.REGION, aws_access_key_id=b.ACCESS_KEY,
        aws_secret_access_key=b.SECRET_KEY, config=config,
    )  # fmt: skip


def cycle(client: Any, queue: str, rounds: int) -> int:
    """`rounds` of send 10 → receive them → delete them; returns the messages deleted."""
    deleted = 0
    for round_no in range(rounds):
        entries = [{"Id": str(i), "MessageBody": f"{round_no}:{i}"} for i in range(BATCH)]
        client.send_message_batch(QueueUrl=queue, Entries=entries)
        pending = BATCH
        while pending:
            reply = client.receive_message(QueueUrl=queue, MaxNumberOfMessages=BATCH)
            handles = [m["ReceiptHandle"] for m in reply.get("Messages", [])]
            if not handles:
                continue
            done = client.delete_message_batch(
                QueueUrl=queue,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)],
            )
            pending -= len(done["Successful"])
            deleted += len(done["Successful"])
    return deleted


def throughput_round(client: Any, queues: list[str], batches: int) -> float:
    """One round: every thread cycles `batches` batches on its queue; messages/s overall."""
    counts = [0] * len(queues)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            counts[index] = cycle(client, queues[index], batches)
        except Exception as exc:  # re-raised below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(queues))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def latency_samples(client: Any, queue: str, count: int) -> list[float]:
    """Seconds from SendMessage to the ReceiveMessage that returns it, `count` times."""
    samples = []
    for index in range(count):
        started = time.perf_counter()
        client.send_message(QueueUrl=queue, MessageBody=str(index))
        while not (messages := client.receive_message(QueueUrl=queue).get("Messages")):
            pass
        samples.append(time.perf_counter() - started)
        client.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
    return samples


def make_queues(client: Any, prefix: str) -> list[str]:
    return [client.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(THREADS)]


def interleaved(
    targets: dict[str, Any], rounds: int, measure: Callable[[str, Any], Any]
) -> dict[str, list[Any]]:
    """`measure(name, target)` per target per round, the order flipped every round."""
    results: dict[str, list[Any]] = {name: [] for name in targets}
    names = list(targets)
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else reversed(names):
            results[name].append(measure(name, targets[name]))
    return results


def measure(
    args: argparse.Namespace, urls: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Median messages/s and p50 latency (ms) per server."""
    clients = {name: sqs_client(url) for name, url in urls.items()}
    queues = {name: make_queues(client, "bench-tput") for name, client in clients.items()}
    latency_queue = {
        name: client.create_queue(QueueName="bench-lat")["QueueUrl"]
        for name, client in clients.items()
    }
    for name, client in clients.items():  # warm both: connections, first-call costs
        throughput_round(client, queues[name], 5)
        latency_samples(client, latency_queue[name], 20)
    rates = interleaved(
        clients,
        args.rounds,
        lambda name, client: throughput_round(client, queues[name], args.batches),
    )
    samples = interleaved(
        clients,
        args.rounds,
        lambda name, client: latency_samples(client, latency_queue[name], args.latency),
    )
    rate = {name: statistics.median(values) for name, values in rates.items()}
    p50 = {
        name: b.percentile(b.ms([s for chunk in chunks for s in chunk]), 50)
        for name, chunks in samples.items()
    }
    return rate, p50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batches", type=int, default=100, help="per thread per round")
    parser.add_argument("--latency", type=int, default=100, help="samples per round")
    args = parser.parse_args()
    report = b.Report("sqs_throughput")
    with b.NimbusServer() as nimbus, b.MotoServer() as moto:
        rate, p50 = measure(args, {"nimbus": nimbus.url, "moto": moto.url})
    report.compare(
        f"messages/s, {THREADS} threads, batches of {BATCH}",
        rate["nimbus"],
        rate["moto"],
        unit=" msg/s",
    )
    report.compare("SendMessage→ReceiveMessage p50", p50["nimbus"], p50["moto"])
    report.figures = {
        "nimbus_msg_per_s": rate["nimbus"], "moto_msg_per_s": rate["moto"],
        "throughput_ratio": rate["nimbus"] / rate["moto"],
        "nimbus_latency_p50_ms": p50["nimbus"], "moto_latency_p50_ms": p50["moto"],
    }  # fmt: skip
    report.goals.append(
        b.Goal("end-to-end messages/s", rate["nimbus"], GOAL_MSG_PER_S, "msg/s", ">=")
    )
    report.notes.append(
        f"{THREADS} boto3 threads in one client process on the same machine as the server; "
        f"median of {args.rounds} interleaved rounds of {args.batches} batches per thread"
    )
    report.emit()


if __name__ == "__main__":
    main()
