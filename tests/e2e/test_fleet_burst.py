"""The seed's queue-based architecture end to end: a fleet that grows from zero and goes back.

Zero environments → 5,000 messages arrive in a burst → the event source mapping's fleet
grows, drains the queue (every message processed at least once, the failing ones in the
dead-letter queue) → the fleet and the environments return to zero.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from nimbus_servers import running_server  # tests/e2e/conftest.py loads it

from nimbus.packaging import build_package

ROLE = "arn:aws:iam::000000000000:role/test"
MESSAGES = 5000
WORKER = (
    "def handler(event, context):\n"
    "    failures = []\n"
    "    for record in event['Records']:\n"
    "        n = int(record['body'])\n"
    "        if n % 250 == 0:\n"
    "            failures.append({'itemIdentifier': record['messageId']})\n"
    "        else:\n"
    "            print('done', n)\n"
    "    return {'batchItemFailures': failures}\n"
)


def get(endpoint: str, path: str) -> Any:
    with urllib.request.urlopen(endpoint + path, timeout=10) as reply:
        return json.load(reply)


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.mark.slow
def test_burst_of_5000_messages_grows_and_shrinks_the_fleet(tmp_path: Path) -> None:
    env = {"NIMBUS_KEEP_WARM_SECONDS": "2", "NIMBUS_SCALE_IN_COOLDOWN_SECONDS": "2"}
    with running_server(tmp_path / "data", env) as server:
        lam, sqs = server.client("lambda"), server.client("sqs", max_pool_connections=8)
        lam.create_function(
            FunctionName="transcode", Runtime="python3.11", Role=ROLE, MemorySize=512,
            Handler="lambda_function.handler", Timeout=10,
            Code={"ZipFile": build_package({"lambda_function.py": WORKER})},
        )  # fmt: skip
        dlq = sqs.create_queue(QueueName="uploads-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 1}
        queue = sqs.create_queue(
            QueueName="uploads",
            Attributes={"VisibilityTimeout": "2", "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        lam.create_event_source_mapping(
            EventSourceArn=arn["Attributes"]["QueueArn"], FunctionName="transcode",
            BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": 20},
        )  # fmt: skip
        assert get(server.endpoint, "/_nimbus/health")["warm"] == 0  # nothing runs yet

        def send(first: int) -> None:
            client = server.client("sqs")
            for start in range(first, MESSAGES, 4 * 10):
                entries = [{"Id": str(n), "MessageBody": str(n)}
                           for n in range(start, min(start + 10, MESSAGES))]  # fmt: skip
                assert not client.send_message_batch(QueueUrl=queue, Entries=entries).get("Failed")

        senders = [threading.Thread(target=send, args=(i * 10,)) for i in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()

        def drained() -> bool:
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            left = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=names)["Attributes"]
            dead = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=names[:1])["Attributes"]
            return sum(int(left[n]) for n in names) == 0 and int(dead[names[0]]) == 20

        wait_for(drained, 120, "the queue to drain into the function and the DLQ")
        logs = server.client("logs").get_paginator("filter_log_events")
        pages = logs.paginate(logGroupName="/aws/lambda/transcode", filterPattern="done")
        processed = {int(e["message"].split()[1]) for p in pages for e in p["events"]}
        assert processed == {n for n in range(MESSAGES) if n % 250}  # every message, once+
        dead = []
        while batch := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages"):
            dead += [int(m["Body"]) for m in batch]
            sqs.delete_message_batch(QueueUrl=dlq, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ])  # fmt: skip
        assert sorted(dead) == list(range(0, MESSAGES, 250))

        def back_to_zero() -> bool:
            mapping = get(server.endpoint, "/_nimbus/queues?history=1")["mappings"][0]
            return mapping["running"] == 0 and get(server.endpoint, "/_nimbus/health")["warm"] == 0

        wait_for(back_to_zero, 60, "the fleet and its environments to return to zero")
        # The server keeps every scaling decision: the fleet's history, not a sampled guess.
        decisions = get(server.endpoint, "/_nimbus/queues?history=100000")["mappings"][0]
        assert max(d["running"] for d in decisions["decisions"]) > 1, "never grew past one"
        assert max(d["desired"] for d in decisions["decisions"]) <= 20
        assert get(server.endpoint, "/_nimbus/health")["cold_starts"] > 1, "one environment"
