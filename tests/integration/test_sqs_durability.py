"""SQS keeps what it acknowledged through kill -9, in order, and in-flight state with it.

Every SendMessage / SendMessageBatch answer means the message was committed (fsync) first,
so a SIGKILL to the server's process group mid-load must lose none of the acknowledged
ids. Sends in flight at the kill may or may not survive; nothing here depends on them.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from conftest import NimbusServer, running_server, start, stop

SENDERS_PER_QUEUE = 3
ACKS_BEFORE_KILL = 600  # across both queues: enough that sends are surely in flight
DRAIN_VISIBILITY_S = 120
VISIBILITY_S = 3
BATCH_SIZE = 5


@dataclass
class Acks:
    """What the senders were told: body by MessageId, per queue; thread-safe appends."""

    ids: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)

    def record(self, queue: str, acknowledged: list[tuple[str, str]]) -> None:
        with self.lock:
            self.ids[queue].update(acknowledged)
            self.count += len(acknowledged)
            if self.count >= ACKS_BEFORE_KILL:
                self.enough.set()


class TruncatedReply(Exception):
    """The server died after the status line, before the body: botocore parses the empty
    body as `{}`, so the reply carries no MessageId and acknowledged nothing."""


def _entry(group: str, counter: int, fifo: bool) -> dict[str, str]:
    """One message; its body names its sender's group and the sender's counter."""
    entry = {"MessageBody": f"{group}:{counter}"}
    if fifo:
        entry |= {"MessageGroupId": group, "MessageDeduplicationId": f"{group}-{counter}"}
    return entry


def _send_round(client: Any, url: str, group: str, first: int, size: int) -> list[tuple[str, str]]:
    """SendMessage (size 1) or SendMessageBatch; returns the acknowledged (id, body) pairs."""
    fifo = url.endswith(".fifo")
    if size == 1:
        entry = _entry(group, first, fifo)
        reply = client.send_message(QueueUrl=url, **entry)
        if "MessageId" not in reply:
            raise TruncatedReply
        return [(reply["MessageId"], entry["MessageBody"])]
    entries = [{"Id": f"e{i}", **_entry(group, first + i, fifo)} for i in range(size)]
    reply = client.send_message_batch(QueueUrl=url, Entries=entries)
    if "Successful" not in reply:
        raise TruncatedReply
    assert not reply.get("Failed"), reply["Failed"]
    bodies = {e["Id"]: e["MessageBody"] for e in entries}
    return [(ok["MessageId"], bodies[ok["Id"]]) for ok in reply["Successful"]]


def _sender(server: NimbusServer, url: str, group: str, acks: Acks) -> None:
    """Alternate single sends and batches until the server is gone, recording each ack."""
    client = server.client("sqs")
    counter = 0
    for size in itertools.cycle((1, BATCH_SIZE)):
        try:
            acknowledged = _send_round(client, url, group, counter, size)
        except (BotoCoreError, ClientError, TruncatedReply):
            return  # the server is gone
        acks.record(url, acknowledged)
        counter += size


def _drain(client: Any, url: str) -> list[dict[str, Any]]:
    """Receive and delete until the queue answers empty; messages in receive order."""
    received: list[dict[str, Any]] = []
    while True:
        reply = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=DRAIN_VISIBILITY_S,
            WaitTimeSeconds=1,
        )  # fmt: skip
        messages = reply.get("Messages", [])
        if not messages:
            return received
        received += messages
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        assert not client.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def _kill(server: NimbusServer) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def _load_then_kill(data: Path) -> tuple[str, str, Acks]:
    """Create both queues, send from several threads and kill -9 the server mid-load."""
    server = start(data)
    acks = Acks()
    try:
        sqs = server.client("sqs")
        standard = sqs.create_queue(QueueName="durable-standard")["QueueUrl"]
        fifo = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ]
        senders = [
            threading.Thread(target=_sender, args=(server, url, f"g{i}", acks))
            for url in (standard, fifo)
            for i in range(SENDERS_PER_QUEUE)
        ]
        for sender in senders:
            sender.start()
        assert acks.enough.wait(20), f"only {acks.count} sends acknowledged in 20 s"
        _kill(server)
        for sender in senders:
            sender.join(30)
    finally:
        stop(server)
    return standard, fifo, acks


def test_acknowledged_sends_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    standard, fifo, acks = _load_then_kill(data)
    with running_server(data) as restarted:
        sqs = restarted.client("sqs")
        got_standard = _drain(sqs, standard)
        got_fifo = _drain(sqs, fifo)
    for url, got in ((standard, got_standard), (fifo, got_fifo)):
        bodies = {m["MessageId"]: m["Body"] for m in got}
        lost = {mid: body for mid, body in acks.ids[url].items() if bodies.get(mid) != body}
        assert not lost, f"{len(lost)} acknowledged messages lost from {url}"
        assert len(acks.ids[url]) > 0
    assert len({m["MessageId"] for m in got_fifo}) == len(got_fifo), "FIFO duplicates"
    per_group: dict[str, list[int]] = defaultdict(list)
    for message in got_fifo:
        group, counter = message["Body"].split(":")
        per_group[group].append(int(counter))
    assert set(per_group) == {f"g{i}" for i in range(SENDERS_PER_QUEUE)}
    for group, counters in per_group.items():
        assert counters == sorted(counters), f"group {group} out of order"


def _receive_in_flight(server: NimbusServer, count: int) -> tuple[str, dict[str, str], float]:
    """Send `count` messages and receive them all with a short visibility timeout."""
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="in-flight")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(count)]
    )
    taken: dict[str, str] = {}
    while len(taken) < count:
        reply = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=VISIBILITY_S
        )
        taken |= {m["MessageId"]: m["Body"] for m in reply.get("Messages", [])}
    return url, taken, time.monotonic()


def test_in_flight_messages_stay_invisible_through_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start(data)
    try:
        url, taken, received_at = _receive_in_flight(server, 5)
        _kill(server)
    finally:
        stop(server)
    visible_again_at = received_at + VISIBILITY_S
    with running_server(data) as restarted:
        sqs = restarted.client("sqs")
        early = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        checked_at = time.monotonic()
        assert checked_at < visible_again_at - 0.2, "restart too slow to check invisibility"
        assert "Messages" not in early, "in-flight messages visible before their timeout"
        back: dict[str, dict[str, Any]] = {}
        first_back_at = float("inf")
        while len(back) < len(taken) and time.monotonic() < visible_again_at + 10:
            reply = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )  # fmt: skip
            if "Messages" in reply:
                first_back_at = min(first_back_at, time.monotonic())
            back |= {m["MessageId"]: m for m in reply.get("Messages", [])}
    assert visible_again_at - 0.5 <= first_back_at < visible_again_at + 10
    assert {mid: m["Body"] for mid, m in back.items()} == taken
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back.values()} == {"2"}


def test_a_dead_letter_move_is_committed_before_the_receive_answers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start(data)
    try:
        sqs = server.client("sqs")
        dlq = sqs.create_queue(QueueName="moved-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        policy = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 1}
        source = sqs.create_queue(
            QueueName="moved-src", Attributes={"RedrivePolicy": json.dumps(policy)}
        )["QueueUrl"]
        sent = sqs.send_message(QueueUrl=source, MessageBody="poison")["MessageId"]
        assert "Messages" in sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)
        assert "Messages" not in sqs.receive_message(QueueUrl=source)  # moves it
        _kill(server)  # at once: nothing after that answer may be needed for the move
    finally:
        stop(server)
    with running_server(data) as restarted:
        sqs = restarted.client("sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]  # fmt: skip
        left = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=names)["Attributes"]
        assert left == {name: "0" for name in names}
        [moved] = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
        assert (moved["MessageId"], moved["Body"]) == (sent, "poison")
        assert moved["Attributes"]["ApproximateReceiveCount"] == "2"
        assert moved["Attributes"]["DeadLetterQueueSourceArn"].endswith(":moved-src")
