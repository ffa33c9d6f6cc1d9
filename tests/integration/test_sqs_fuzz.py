"""Random SQS calls, often invalid, through boto3: never a 5xx, and no acknowledged message
is lost (every MessageId the server acknowledged is received again or was deleted)."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COUNTER = itertools.count()

small_ints = st.one_of(st.integers(-2, 12), st.sampled_from([20, 21, 900, 901, 43_201]))
bodies = st.one_of(st.text(max_size=40), st.sampled_from(["", "\x00", "x" * 1100]))
attr_values = st.fixed_dictionaries(
    {"DataType": st.sampled_from(["String", "Number", "Binary", "Bogus", "", "String.x"])},
    optional={
        "StringValue": st.one_of(st.text(max_size=8), st.sampled_from(["1", "1e999"])),
        "BinaryValue": st.binary(max_size=8),
    },
)
attr_names = st.one_of(st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,6}", fullmatch=True),
                       st.sampled_from(["AWS.x", ".a", "a..b", "sp ace"]))  # fmt: skip
attributes = st.dictionaries(attr_names, attr_values, max_size=11)
entry_ids = st.one_of(st.from_regex(r"[a-z0-9_-]{1,5}", fullmatch=True), st.just("bad id"))


@dataclass
class Ledger:
    """What the test believes: acknowledged ids not deleted, and the latest handle of each."""

    url: str
    live: set[str] = field(default_factory=set)
    handles: dict[str, str] = field(default_factory=dict)

    def received(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            assert message["MessageId"] in self.live, "a message nobody sent (or deleted)"
            self.handles[message["MessageId"]] = message["ReceiptHandle"]

    def handle(self, pick: int) -> str:
        if not self.handles:
            return "AQEBnot-a-handle"
        return sorted(self.handles.values())[pick % len(self.handles)]

    def deleted(self, handle: str) -> None:
        for message_id, known in list(self.handles.items()):
            if known == handle:
                self.live.discard(message_id)
                del self.handles[message_id]


def send(sqs: Any, ledger: Ledger, data: st.DataObject) -> None:
    params: dict[str, Any] = {"QueueUrl": ledger.url, "MessageBody": data.draw(bodies)}
    if data.draw(st.booleans()):
        params["MessageAttributes"] = data.draw(attributes)
    if data.draw(st.booleans()):
        params["DelaySeconds"] = data.draw(st.sampled_from([0, -1, 901]))
    ledger.live.add(sqs.send_message(**params)["MessageId"])


def send_batch(sqs: Any, ledger: Ledger, data: st.DataObject) -> None:
    entries = data.draw(st.lists(st.fixed_dictionaries(
        {"Id": entry_ids, "MessageBody": bodies}, optional={"MessageAttributes": attributes}
    ), max_size=11))  # fmt: skip
    result = sqs.send_message_batch(QueueUrl=ledger.url, Entries=entries)
    ledger.live.update(e["MessageId"] for e in result.get("Successful", []))


def receive(sqs: Any, ledger: Ledger, data: st.DataObject) -> None:
    params = {"QueueUrl": ledger.url, "MaxNumberOfMessages": data.draw(small_ints),
              "VisibilityTimeout": data.draw(st.sampled_from([0, 1, 30, -1, 43_201])),
              "WaitTimeSeconds": data.draw(st.sampled_from([0, -1, 21])),
              "AttributeNames": data.draw(st.lists(st.sampled_from(["All", "SentTimestamp"]))),
              "MessageAttributeNames": data.draw(st.lists(st.sampled_from(["All", ".*", "a.*"])))}  # fmt: skip
    ledger.received(sqs.receive_message(**params).get("Messages", []))


def delete(sqs: Any, ledger: Ledger, data: st.DataObject) -> None:
    handle = ledger.handle(data.draw(st.integers(0, 20)))
    if data.draw(st.booleans()):
        sqs.delete_message(QueueUrl=ledger.url, ReceiptHandle=handle)
        ledger.deleted(handle)
        return
    entries = [{"Id": data.draw(entry_ids), "ReceiptHandle": handle}]
    result = sqs.delete_message_batch(QueueUrl=ledger.url, Entries=entries)
    if result.get("Successful"):
        ledger.deleted(handle)


def change_visibility(sqs: Any, ledger: Ledger, data: st.DataObject) -> None:
    handle = ledger.handle(data.draw(st.integers(0, 20)))
    timeout = data.draw(st.sampled_from([0, 1, -1, 43_201]))
    sqs.change_message_visibility(QueueUrl=ledger.url, ReceiptHandle=handle,
                                  VisibilityTimeout=timeout)  # fmt: skip


def garbage(sqs: Any, ledger: Ledger, data: st.DataObject) -> None:
    """Calls with values of the wrong type or unknown queues: always a 4xx."""
    sqs.get_queue_attributes(QueueUrl=data.draw(st.sampled_from(
        [ledger.url + "x", "", "http://nowhere/1/2", 7])),
        AttributeNames=data.draw(st.lists(st.sampled_from(["All", "Bogus", "QueueArn"]))))  # fmt: skip


ACTIONS = [send, send_batch, receive, delete, change_visibility, garbage]


def drain(sqs: Any, ledger: Ledger) -> set[str]:
    """Every message still in the queue: in-flight ones made visible first."""
    for handle in ledger.handles.values():
        with contextlib.suppress(ClientError):  # a handle made stale by a later receive
            sqs.change_message_visibility(QueueUrl=ledger.url, ReceiptHandle=handle,
                                          VisibilityTimeout=0)  # fmt: skip
    seen: set[str] = set()
    for _ in range(100):
        messages = sqs.receive_message(QueueUrl=ledger.url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=600).get("Messages", [])  # fmt: skip
        if not messages:
            break
        seen.update(m["MessageId"] for m in messages)
    return seen


@pytest.fixture(scope="module")
def fuzz_client(nimbus_server: Any) -> Any:
    return nimbus_server.client("sqs", parameter_validation=False)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_calls_never_fail_the_server_nor_lose_messages(
    fuzz_client: Any, data: st.DataObject
) -> None:
    sqs = fuzz_client
    name = f"fuzz-{next(COUNTER)}"
    ledger = Ledger(sqs.create_queue(QueueName=name, Attributes={
        "MaximumMessageSize": "1024"})["QueueUrl"])  # fmt: skip
    for action in data.draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=12)):
        try:
            action(sqs, ledger, data)
        except ClientError as error:
            status = error.response["ResponseMetadata"]["HTTPStatusCode"]
            assert 400 <= status < 500, error.response
    assert drain(sqs, ledger) == ledger.live
    sqs.delete_queue(QueueUrl=ledger.url)
