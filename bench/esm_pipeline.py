"""Queued work reaching functions: nimbus's SQS event source mapping against Celery and Dramatiq.

nimbus: a no-op Python function (1,769 MB) behind an SQS event source mapping (BatchSize 10).
- latency: one message at a time; its body is the send time and the handler, when it
  starts, sends `time.time() - body` to a reply queue the benchmark long-polls: how long a
  queued message takes to reach a warm function. Median over the run.
- throughput: N messages queued on a second queue before its mapping exists; messages/s
  from CreateEventSourceMapping until the new fleet has processed all of them (its
  counter in /_nimbus/queues, checked every 10 ms: no event crosses the process boundary).
Peers, in the same run (bench/task_queue_peers.py): Celery 5 and Dramatiq with the Redis
broker, 2 worker processes, a no-op task: enqueue->result round trip and tasks/s.
Goals (issue 4): latency p50 <= Celery's round trip; throughput >= 2 x Celery's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
from typing import Any

import benchlib as b
import boto3

HANDLER = (
    "import os, time, boto3\n"
    "replies = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    now = time.time()\n"
    "    for record in event['Records']:\n"
    "        if record['body'].startswith('t'):\n"
    "            waited = now - float(record['body'][1:])\n"
    "            replies.send_message(QueueUrl=os.environ['REPLY_URL'], MessageBody=str(waited))\n"
)


def processed(url: str, mapping: str) -> int:
    with urllib.request.urlopen(url + "/_nimbus/queues?history=0", timeout=10) as reply:
        mappings = json.load(reply)["mappings"]
    return sum(int(m["processed"]) for m in mappings if m["uuid"] == mapping)


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def nimbus_figures(n: int, latency_count: int) -> dict[str, float]:
    with b.NimbusServer() as server:
        lam = b.lambda_client(server.url)
        sqs: Any = boto3.client(
            "sqs", endpoint_url=server.url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        work, replies, bulk = (sqs.create_queue(QueueName=q)["QueueUrl"]
                               for q in ("work", "replies", "bulk"))  # fmt: skip
        b.create_function(lam, "noop", b.build_zip(HANDLER), {"REPLY_URL": replies}, memory=1769)
        lam.create_event_source_mapping(
            EventSourceArn=queue_arn(sqs, work), FunctionName="noop", BatchSize=10
        )
        latencies = []
        for _ in range(latency_count):
            sqs.send_message(QueueUrl=work, MessageBody=f"t{time.time()}")
            reply = sqs.receive_message(QueueUrl=replies, WaitTimeSeconds=20)["Messages"][0]
            sqs.delete_message(QueueUrl=replies, ReceiptHandle=reply["ReceiptHandle"])
            latencies.append(float(reply["Body"]))
        for start in range(0, n, 10):
            entries = [{"Id": str(i), "MessageBody": "x"} for i in range(min(10, n - start))]
            sqs.send_message_batch(QueueUrl=bulk, Entries=entries)
        started = time.perf_counter()
        mapping = lam.create_event_source_mapping(
            EventSourceArn=queue_arn(sqs, bulk), FunctionName="noop", BatchSize=10
        )["UUID"]
        while processed(server.url, mapping) < n:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
    return {"latency_p50_ms": statistics.median(latencies) * 1000, "throughput_per_s": n / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--latency", type=int, default=200)
    args = parser.parse_args()
    report = b.Report("esm_pipeline")
    ours = nimbus_figures(args.messages, args.latency)
    peers: dict[str, dict[str, float]] = {}
    try:
        import task_queue_peers

        peers["celery"] = task_queue_peers.celery_figures(args.messages)
        peers["dramatiq"] = task_queue_peers.dramatiq_figures(args.messages)
    except ImportError as missing:  # the bench extra is not installed
        report.notes.append(f"peers not measured: {missing} (pip install -e '.[bench]')")
    report.row("queued message -> warm function, p50", b.fmt_ms(ours["latency_p50_ms"]))
    report.row("no-op messages through the mapping", f"{ours['throughput_per_s']:.0f}/s")
    for name, figures in peers.items():
        report.compare(f"latency vs {name} round trip", ours["latency_p50_ms"],
                       figures["round_trip_p50_ms"])  # fmt: skip
        report.row(f"throughput vs {name}", f"{ours['throughput_per_s']:.0f}/s",
                   f"{figures['throughput_per_s']:.0f}/s",
                   b.ratio(ours["throughput_per_s"], figures["throughput_per_s"]))  # fmt: skip
    if "celery" in peers:
        celery = peers["celery"]
        report.goals.append(
            b.Goal(
                "latency / Celery round trip",
                ours["latency_p50_ms"] / celery["round_trip_p50_ms"],
                1.0,
                "x",
            )
        )
        report.goals.append(b.Goal("throughput / Celery", ours["throughput_per_s"]
                                   / celery["throughput_per_s"], 2.0, "x", op=">="))  # fmt: skip
    report.figures = {"nimbus": ours, **peers}
    report.emit()


if __name__ == "__main__":
    main()
