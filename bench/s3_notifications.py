"""S3 event notifications reaching a warm function, against a plain asynchronous invoke.

One nimbus server (`python -m nimbus server`); one function (1,769 MB, one vCPU) whose
handler, for each record, sends the object key and its own start time to a reply queue
with a module-level boto3 SQS client. The client, sequentially and interleaved sample by
sample (so the machine's noise hits every path alike):

- notification: PutObject to a bucket whose LambdaFunctionConfiguration
  (s3:ObjectCreated:*) names the function; the clock starts when the PutObject response
  arrives and stops when ReceiveMessage (WaitTimeSeconds=20) on the reply queue returns
  the key.
- baseline: `lambda.invoke(InvocationType="Event")` of the same function with an S3-shaped
  payload; the clock starts when the 202 arrives, and stops the same way.
- queue notification: PutObject to a bucket whose QueueConfiguration sends the record
  straight to a queue, long-polled the same way: the outbox's delivery without a function.
- reply floor: the client itself sends to the reply queue while long-polling it: what the
  reply measurement costs on its own.

The handler's start time (time.time(), same machine) splits each sample into "to the
handler" and "handler to the client".

Goal (issue): notification to a warm function, p50 from the PutObject response <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import benchlib as b
from s3_objects import s3_client

GOAL_P50_MS = 10.0
WARMUP = 10
FUNCTION = "notify-reply"
HANDLER = (
    "import os, time, urllib.parse, boto3\n"
    "replies = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    started = time.time()\n"
    "    for record in event['Records']:\n"
    "        key = urllib.parse.unquote_plus(record['s3']['object']['key'])\n"
    "        replies.send_message(QueueUrl=os.environ['REPLY_URL'],\n"
    "                             MessageBody=f'{key} {started}')\n"
)


@dataclass(frozen=True)
class Sample:
    """Seconds from the trigger's response to the key's arrival, and to the handler start."""

    total_s: float
    to_handler_s: float | None  # None where no handler runs (the queue paths)
    call_s: float = 0.0  # the trigger's own request -> response (PutObject, Invoke)


def key_of_reply(body: str) -> str:
    return body.rsplit(" ", 1)[0]


def key_of_record(body: str) -> str:
    records = json.loads(body).get("Records", [{}])
    return urllib.parse.unquote_plus(records[0].get("s3", {}).get("object", {}).get("key", ""))


@dataclass
class Paths:
    """Clients and resources of one server; each `*_once` takes one sample."""

    s3: Any
    sqs: Any
    lam: Any
    sender: Any  # a second SQS client, for the reply floor's send
    replies: str
    events: str
    serial: int = 0
    send_calls: list[float] = field(default_factory=list)  # the reply floor's SendMessage

    def next_key(self, tag: str) -> str:
        self.serial += 1
        return f"{tag}/{self.serial}"

    def await_key(self, queue: str, key: str, key_of: Callable[[str], str]) -> str:
        """Long-poll `queue` until a message naming `key` arrives; returns its body."""
        while True:
            reply = self.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
            for message in reply.get("Messages", []):
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                if key_of(message["Body"]) == key:
                    return str(message["Body"])
            # anything else repeats an earlier sample (delivery is at least once): skip it

    def handler_sample(self, sent: float, responded: float, key: str) -> Sample:
        body = self.await_key(self.replies, key, key_of_reply)
        arrived = time.time()
        started = float(body.rsplit(" ", 1)[1])
        return Sample(arrived - responded, started - responded, responded - sent)

    def notification_once(self) -> Sample:
        key = self.next_key("fn")
        sent = time.time()
        self.s3.put_object(Bucket="to-function", Key=key, Body=b"x")
        return self.handler_sample(sent, time.time(), key)

    def invoke_once(self) -> Sample:
        key = self.next_key("direct")
        payload = json.dumps({"Records": [{"s3": {"object": {"key": key}}}]})
        sent = time.time()
        self.lam.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=payload)
        return self.handler_sample(sent, time.time(), key)

    def queue_once(self) -> Sample:
        key = self.next_key("queue")
        sent = time.time()
        self.s3.put_object(Bucket="to-queue", Key=key, Body=b"x")
        responded = time.time()
        self.await_key(self.events, key, key_of_record)
        return Sample(time.time() - responded, None, responded - sent)

    def floor_once(self) -> Sample:
        """SendMessage from a second client while this one long-polls (sent 5 ms in)."""
        key = self.next_key("floor")
        timer = threading.Timer(0.005, self.send_reply, (key,))
        timer.start()
        body = self.await_key(self.replies, key, key_of_reply)
        arrived = time.time()
        timer.join()
        return Sample(arrived - float(body.rsplit(" ", 1)[1]), None, self.send_calls[-1])

    def send_reply(self, key: str) -> None:
        sent = time.time()
        self.sender.send_message(QueueUrl=self.replies, MessageBody=f"{key} {sent}")
        self.send_calls.append(time.time() - sent)


def sqs_client(url: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        "sqs", endpoint_url=url, region_name=b.REGION, aws_access_key_id=b.ACCESS_KEY,
        aws_secret_access_key=b.SECRET_KEY,
    )  # fmt: skip


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def set_up(url: str) -> Paths:
    """The function, its reply queue, and the two buckets with their configurations."""
    s3, sqs, lam = s3_client(url), sqs_client(url), b.lambda_client(url)
    replies = sqs.create_queue(QueueName="replies")["QueueUrl"]
    events = sqs.create_queue(QueueName="object-events")["QueueUrl"]
    zip_bytes = b.build_zip(HANDLER)
    b.create_function(lam, FUNCTION, zip_bytes, {"REPLY_URL": replies}, memory=1769)
    arn = lam.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    for bucket in ("to-function", "to-queue"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket="to-function",
        NotificationConfiguration={"LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
        ]},
    )  # fmt: skip
    s3.put_bucket_notification_configuration(
        Bucket="to-queue",
        NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": queue_arn(sqs, events), "Events": ["s3:ObjectCreated:*"]}
        ]},
    )  # fmt: skip
    sqs.purge_queue(QueueUrl=events)  # the s3:TestEvent the configuration sent
    return Paths(s3, sqs, lam, sqs_client(url), replies, events)


def measure(paths: Paths, count: int) -> dict[str, list[Sample]]:
    """`count` samples of every path, interleaved one by one after a warm-up."""
    takes: dict[str, Callable[[], Sample]] = {
        "notification": paths.notification_once,
        "invoke": paths.invoke_once,
        "queue": paths.queue_once,
        "floor": paths.floor_once,
    }
    for take in takes.values():
        for _ in range(WARMUP):
            take()
    samples: dict[str, list[Sample]] = {name: [] for name in takes}
    for _ in range(count):
        for name, take in takes.items():
            samples[name].append(take())
    return samples


def stats_ms(samples: list[Sample], part: Callable[[Sample], float]) -> dict[str, float]:
    return b.summary(b.ms([part(sample) for sample in samples]))


PARTS: dict[str, Callable[[Sample], float]] = {
    "after_response": lambda s: s.total_s,
    "from_request": lambda s: s.call_s + s.total_s,
    "call": lambda s: s.call_s,
    "to_handler": lambda s: s.to_handler_s or 0.0,
    "handler_to_client": lambda s: s.total_s - (s.to_handler_s or 0.0),
}


def figures(samples: dict[str, list[Sample]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per path, a summary (ms) of each part of its samples."""
    return {
        path: {part: stats_ms(taken, of) for part, of in PARTS.items()}
        for path, taken in samples.items()
    }


def table(report: b.Report, got: dict[str, dict[str, dict[str, float]]]) -> None:
    fn, direct = got["notification"], got["invoke"]
    for q in ("p50", "p90"):
        report.compare(f"PutObject response -> key at client, {q} (vs Event invoke 202)",
                       fn["after_response"][q], direct["after_response"][q])  # fmt: skip
    report.compare("  trigger call p50: PutObject (vs Invoke Event)", fn["call"]["p50"],
                   direct["call"]["p50"])  # fmt: skip
    report.compare("  request sent -> key at client, p50", fn["from_request"]["p50"],
                   direct["from_request"]["p50"])  # fmt: skip
    # no ratio: the Event invoke's handler often starts before its 202 reaches the client
    report.row("  response -> handler start, p50", b.fmt_ms(fn["to_handler"]["p50"]),
               b.fmt_ms(direct["to_handler"]["p50"]))  # fmt: skip
    report.compare("  handler start -> key at client, p50", fn["handler_to_client"]["p50"],
                   direct["handler_to_client"]["p50"])  # fmt: skip
    report.compare("queue notification: PutObject response -> record at client, p50 "
                   "(vs reply floor)", got["queue"]["after_response"]["p50"],
                   got["floor"]["after_response"]["p50"])  # fmt: skip
    report.row("reply floor: SendMessage -> long-poll return, p90",
               b.fmt_ms(got["floor"]["after_response"]["p90"]))  # fmt: skip
    report.row("reply floor: the SendMessage call alone, p50",
               b.fmt_ms(got["floor"]["call"]["p50"]))  # fmt: skip
    added = fn["after_response"]["p50"] - direct["after_response"]["p50"]
    added_req = fn["from_request"]["p50"] - direct["from_request"]["p50"]
    report.row("notification adds over Event invoke, p50: from response / from request",
               f"{b.fmt_ms(added)} / {b.fmt_ms(added_req)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200, help="sequential samples per path")
    args = parser.parse_args()
    with b.NimbusServer() as server:
        samples = measure(set_up(server.url), args.count)
    got = figures(samples)
    report = b.Report("s3_notifications")
    table(report, got)
    p50 = got["notification"]["after_response"]["p50"]
    report.goals.append(b.Goal("S3 notification -> warm function p50", p50, GOAL_P50_MS, "ms"))
    report.figures = got
    report.notes.append(
        f"{args.count} sequential samples per path after {WARMUP} warm-up ones, interleaved "
        f"sample by sample; one boto3 client process on the same 2 CPUs as the server; "
        f"'key at client' is ReceiveMessage (WaitTimeSeconds=20) returning the handler's "
        f"reply; handler start is time.time() in the environment (same clock), negative "
        f"when the handler started before the response reached the client"
    )
    report.emit()


if __name__ == "__main__":
    main()
