"""QueuesService semantics in-process: queues, standard and FIFO delivery, redrive."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from nimbus.queues import HandleEntry, MessageAttribute, QueuesService, SendEntry
from nimbus.queues.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidBatchEntryId,
    InvalidParameterValue,
    MessageNotInflight,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
    ReceiptHandleIsInvalid,
    TooManyEntriesInBatchRequest,
)

ACCOUNT = "123456789012"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class RealClock(FakeClock):
    def __call__(self) -> float:
        return time.time()


Body = Callable[[QueuesService, FakeClock], Awaitable[Any]]


def scenario(path: Path, body: Body, clock: FakeClock | None = None) -> Any:
    clock = clock or FakeClock()

    async def main() -> Any:
        service = QueuesService(path, "us-east-1", ACCOUNT, "http://nimbus:4566", clock=clock)
        await service.start()
        try:
            return await body(service, clock)
        finally:
            await service.stop()

    return asyncio.run(main())


def db(tmp_path: Path) -> Path:
    return tmp_path / "queues.db"


def test_create_is_idempotent_and_conflicts_on_a_different_value(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("jobs", {"VisibilityTimeout": "10"}, {})
        assert url == f"http://nimbus:4566/{ACCOUNT}/jobs"
        assert await s.create_queue("jobs", {"VisibilityTimeout": "10"}, {}) == url
        assert await s.create_queue("jobs", {}, {}) == url
        with pytest.raises(QueueNameExists, match="attribute VisibilityTimeout"):
            await s.create_queue("jobs", {"VisibilityTimeout": "11"}, {})
        assert s.get_queue_url("jobs") == url
        aws_url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/jobs"
        assert s.queue_arn(aws_url) == f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
        with pytest.raises(QueueDoesNotExist):
            s.get_queue_url("nope")
        with pytest.raises(QueueDoesNotExist):
            s.queue_arn("http://nimbus:4566/999999999999/jobs")

    scenario(db(tmp_path), body)


def test_attribute_validation_texts(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        with pytest.raises(InvalidAttributeValue, match="parameter DelaySeconds"):
            await s.create_queue("q", {"DelaySeconds": "901"}, {})
        with pytest.raises(InvalidAttributeName, match="Unknown Attribute Colour"):
            await s.create_queue("q", {"Colour": "1"}, {})
        with pytest.raises(InvalidAttributeName, match="Unknown Attribute ContentBased"):
            await s.create_queue("q", {"ContentBasedDeduplication": "true"}, {})
        with pytest.raises(InvalidParameterValue, match="FIFO queue"):
            await s.create_queue("q", {"FifoQueue": "true"}, {})
        with pytest.raises(InvalidParameterValue, match="alphanumeric"):
            await s.create_queue("bad name", {}, {})
        url = await s.create_queue("q", {}, {})
        with pytest.raises(InvalidAttributeName, match="Unknown Attribute FifoQueue"):
            await s.set_queue_attributes(url, {"FifoQueue": "true"})
        fifo = await s.create_queue("f.fifo", {"FifoQueue": "true"}, {})
        with pytest.raises(InvalidAttributeValue, match="Modifying queue type"):
            await s.set_queue_attributes(fifo, {"FifoQueue": "false"})
        with pytest.raises(InvalidAttributeName):
            s.get_queue_attributes(url, ["Nope"])

    scenario(db(tmp_path), body)


def test_a_standard_queue_has_no_fifo_attributes(tmp_path: Path) -> None:
    fifo_only = {
        "ContentBasedDeduplication": ("true", "Unknown Attribute ContentBasedDeduplication."),
        "DeduplicationScope": ("queue", "You can specify the DeduplicationScope only when "
                               "FifoQueue is set to true."),
        "FifoThroughputLimit": ("perQueue", "You can specify the FifoThroughputLimit only when "
                                "FifoQueue is set to true."),
    }  # fmt: skip

    async def body(s: QueuesService, _: FakeClock) -> None:
        with pytest.raises(InvalidAttributeName, match=r"^Unknown Attribute FifoQueue\.$"):
            await s.create_queue("std", {"FifoQueue": "false"}, {})
        url = await s.create_queue("std", {}, {})
        fifo = await s.create_queue("f.fifo", {"FifoQueue": "true"}, {})
        for name, (value, text) in fifo_only.items():
            for call in (
                s.create_queue("std", {name: value}, {}),
                s.set_queue_attributes(url, {name: value}),
            ):
                with pytest.raises(InvalidAttributeName) as caught:
                    await call
                assert caught.value.message == text
            await s.set_queue_attributes(fifo, {name: value})
        for name in ("FifoQueue", *fifo_only):
            with pytest.raises(InvalidAttributeName, match=f"^Unknown Attribute {name}\\.$"):
                s.get_queue_attributes(url, ["VisibilityTimeout", name])
            assert name in s.get_queue_attributes(fifo, [name])
        assert "FifoQueue" not in s.get_queue_attributes(url, ["All"])
        with pytest.raises(InvalidAttributeName, match="Unknown Attribute QueueArn"):
            await s.set_queue_attributes(url, {"QueueArn": "arn:aws:sqs:us-east-1:1:x"})

    scenario(db(tmp_path), body)


def test_get_attributes_all_and_counts(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        url = await s.create_queue("q", {"DelaySeconds": "0"}, {"team": "a"})
        await s.send_message(url, "one")
        await s.send_message(url, "two", delay_seconds=5)
        await s.receive_message(url, 1)
        values = s.get_queue_attributes(url, ["All"])
        assert values["VisibilityTimeout"] == "30"
        assert values["MaximumMessageSize"] == "1048576"
        assert values["ApproximateNumberOfMessagesNotVisible"] == "1"
        assert values["ApproximateNumberOfMessagesDelayed"] == "1"
        assert values["ApproximateNumberOfMessages"] == "0"
        assert "FifoQueue" not in values
        clock.now += 6
        assert s.get_queue_attributes(url, ["ApproximateNumberOfMessages"]) == {
            "ApproximateNumberOfMessages": "1"
        }
        await s.set_queue_attributes(url, {"VisibilityTimeout": "5"})
        assert s.get_queue_attributes(url, ["VisibilityTimeout"])["VisibilityTimeout"] == "5"
        assert s.list_queue_tags(url) == {"team": "a"}
        await s.tag_queue(url, {"env": "dev"})
        await s.untag_queue(url, ["team"])
        assert s.list_queue_tags(url) == {"env": "dev"}

    scenario(db(tmp_path), body)


def test_list_queues_pages_by_name(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        for name in ("b", "a", "c", "other"):
            await s.create_queue(name, {}, {})
        urls, token = s.list_queues("", 2, None)
        assert [u.rsplit("/", 1)[1] for u in urls] == ["a", "b"]
        assert token is not None
        urls, token = s.list_queues("", 2, token)
        assert [u.rsplit("/", 1)[1] for u in urls] == ["c", "other"]
        assert token is None
        assert len(s.list_queues("o", None, None)[0]) == 1
        with pytest.raises(InvalidParameterValue, match="MaxResults"):
            s.list_queues(None, 1001, None)

    scenario(db(tmp_path), body)


def test_delete_then_recreate_waits_60_seconds(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        url = await s.create_queue("q", {}, {})
        await s.delete_queue(url)
        with pytest.raises(QueueDoesNotExist):
            await s.send_message(url, "x")
        with pytest.raises(QueueDeletedRecently):
            await s.create_queue("q", {}, {})
        clock.now += 61
        assert await s.create_queue("q", {}, {}) == url

    scenario(db(tmp_path), body)


def test_visibility_timeout_and_stale_handles(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        url = await s.create_queue("q", {"VisibilityTimeout": "10"}, {})
        sent = await s.send_message(url, "hello")
        [first] = await s.receive_message(url, 10, attribute_names=["All"])
        assert first.message_id == sent.message_id
        assert first.attributes["ApproximateReceiveCount"] == "1"
        assert first.attributes["SentTimestamp"] == str(int(clock.now * 1000))
        assert await s.receive_message(url, 10) == []
        clock.now += 10
        [second] = await s.receive_message(url, 10, attribute_names=["ApproximateReceiveCount"])
        assert second.receipt_handle != first.receipt_handle
        assert second.attributes == {"ApproximateReceiveCount": "2"}
        await s.delete_message(url, first.receipt_handle)  # stale: succeeds, deletes nothing
        assert s.stats(url).in_flight == 1
        with pytest.raises(InvalidParameterValue, match="not available for visibility"):
            await s.change_message_visibility(url, first.receipt_handle, 5)
        await s.change_message_visibility(url, second.receipt_handle, 0)
        with pytest.raises(MessageNotInflight):
            await s.change_message_visibility(url, second.receipt_handle, 5)
        [third] = await s.receive_message(url, 1, visibility_timeout=100)
        clock.now += 50
        assert await s.receive_message(url) == []
        await s.delete_message(url, third.receipt_handle)
        clock.now += 100
        assert await s.receive_message(url) == []
        with pytest.raises(ReceiptHandleIsInvalid, match='receipt handle "garbage"'):
            await s.delete_message(url, "garbage")

    scenario(db(tmp_path), body)


def test_send_validation(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("q", {"MaximumMessageSize": "1024"}, {})
        with pytest.raises(MissingParameter, match="MessageBody"):
            await s.send_message(url, "")
        with pytest.raises(InvalidParameterValue, match="shorter than 1024 bytes"):
            await s.send_message(url, "x" * 1025)
        attrs = {"a": MessageAttribute("String", "y" * 1000)}
        with pytest.raises(InvalidParameterValue, match="shorter than 1024"):
            await s.send_message(url, "x" * 20, attributes=attrs)
        with pytest.raises(InvalidParameterValue, match="DelaySeconds"):
            await s.send_message(url, "x", delay_seconds=901)
        with pytest.raises(InvalidParameterValue, match="MaxNumberOfMessages"):
            await s.receive_message(url, 11)
        with pytest.raises(InvalidParameterValue, match="WaitTimeSeconds"):
            await s.receive_message(url, 1, 21)

    scenario(db(tmp_path), body)


def test_message_attribute_filters(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("q", {}, {})
        attrs = {
            "bar.one": MessageAttribute("String", "1"),
            "bar.two": MessageAttribute("Number", "2"),
            "baz": MessageAttribute("Binary", binary_value=b"\x00"),
        }
        for names, expected in (
            (["All"], {"bar.one", "bar.two", "baz"}),
            ([".*"], {"bar.one", "bar.two", "baz"}),
            (["bar.*"], {"bar.one", "bar.two"}),
            (["baz"], {"baz"}),
            ([], set()),
        ):
            await s.send_message(url, "m", attributes=attrs)
            [message] = await s.receive_message(url, 1, message_attribute_names=names)
            assert set(message.message_attributes) == expected
            await s.delete_message(url, message.receipt_handle)

    scenario(db(tmp_path), body)


def test_batches_report_entry_failures(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("q", {"MaximumMessageSize": "1024"}, {})
        result = await s.send_message_batch(
            url, [SendEntry("ok", "fine"), SendEntry("big", "x" * 2000)]
        )
        assert [entry_id for entry_id, _ in result.successful] == ["ok"]
        [failure] = result.failed
        assert (failure.id, failure.code, failure.sender_fault) == (
            "big",
            "InvalidParameterValue",
            True,
        )
        assert "cannot be validated" in failure.message
        with pytest.raises(EmptyBatchRequest):
            await s.send_message_batch(url, [])
        with pytest.raises(TooManyEntriesInBatchRequest, match="You have sent 11"):
            await s.send_message_batch(url, [SendEntry(f"e{i}", "x") for i in range(11)])
        with pytest.raises(BatchEntryIdsNotDistinct):
            await s.send_message_batch(url, [SendEntry("a", "x"), SendEntry("a", "y")])
        with pytest.raises(InvalidBatchEntryId):
            await s.send_message_batch(url, [SendEntry("a.b", "x")])
        attrs = {"k": MessageAttribute("String", "v")}  # 8 bytes toward the total
        halves = [SendEntry("p", "x" * 524_288), SendEntry("q", "x" * 524_280, attributes=attrs)]
        with pytest.raises(BatchRequestTooLong, match="You have sent 1048577 bytes"):
            await s.send_message_batch(url, [*halves, SendEntry("r", "x")])
        assert s.stats(url).visible == 1  # nothing of a refused batch
        [message] = await s.receive_message(url, 10)
        deleted = await s.delete_message_batch(
            url, [HandleEntry("d", message.receipt_handle), HandleEntry("bad", "zzz")]
        )
        assert [i for i, _ in deleted.successful] == ["d"]
        assert deleted.failed[0].code == "ReceiptHandleIsInvalid"
        assert s.stats(url).visible + s.stats(url).in_flight == 0

    scenario(db(tmp_path), body)


def test_purge_once_a_minute(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        url = await s.create_queue("q", {}, {})
        await s.send_message(url, "a")
        await s.receive_message(url)
        await s.send_message(url, "b")
        await s.purge_queue(url)
        assert s.stats(url) == s.stats(url).__class__(0, 0, 0, 0.0)
        with pytest.raises(PurgeQueueInProgress) as caught:
            await s.purge_queue(url)
        assert caught.value.status == 403
        clock.now += 60
        await s.purge_queue(url)

    scenario(db(tmp_path), body)


def test_fifo_order_group_lock_and_dedup(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        url = await s.create_queue(
            "f.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}, {}
        )
        with pytest.raises(MissingParameter, match="MessageGroupId"):
            await s.send_message(url, "x")
        with pytest.raises(InvalidParameterValue, match="DelaySeconds"):
            await s.send_message(url, "x", delay_seconds=3, group_id="g")
        sent = [await s.send_message(url, f"a{i}", group_id="A") for i in range(3)]
        await s.send_message(url, "b0", group_id="B")
        duplicate = await s.send_message(url, "a0", group_id="A")
        assert duplicate.message_id == sent[0].message_id
        assert duplicate.sequence_number == sent[0].sequence_number
        assert int(sent[1].sequence_number or 0) > int(sent[0].sequence_number or 0)
        first = await s.receive_message(url, 2, attribute_names=["All"])
        assert [m.body for m in first] == ["a0", "a1"]
        assert first[0].attributes["MessageGroupId"] == "A"
        second = await s.receive_message(url, 10)
        assert [m.body for m in second] == ["b0"]  # group A locked while a0, a1 in flight
        await s.delete_message(url, first[0].receipt_handle)
        assert await s.receive_message(url, 10) == []  # a1 still in flight
        clock.now += 30
        again = await s.receive_message(url, 10)
        assert [m.body for m in again] == ["a1", "a2", "b0"]  # b0 timed out too
        with pytest.raises(InvalidParameterValue, match="has expired"):
            await s.delete_message(url, first[1].receipt_handle)
        clock.now += 301
        fresh = await s.send_message(url, "a0", group_id="A")
        assert fresh.message_id != sent[0].message_id

    scenario(db(tmp_path), body)


def test_fifo_dedup_needs_an_id_and_scope_per_group(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("f.fifo", {"FifoQueue": "true"}, {})
        with pytest.raises(InvalidParameterValue, match="ContentBasedDeduplication"):
            await s.send_message(url, "x", group_id="g")
        with pytest.raises(InvalidParameterValue, match="MessageGroupId can only include"):
            await s.send_message(url, "x", group_id="has space", dedup_id="d")
        scoped = await s.create_queue(
            "g.fifo", {"FifoQueue": "true", "DeduplicationScope": "messageGroup"}, {}
        )
        one = await s.send_message(scoped, "x", group_id="g1", dedup_id="d")
        two = await s.send_message(scoped, "x", group_id="g2", dedup_id="d")
        assert one.message_id != two.message_id
        same = await s.send_message(url, "x", group_id="g1", dedup_id="d")
        also = await s.send_message(url, "y", group_id="g2", dedup_id="d")
        assert same.message_id == also.message_id

    scenario(db(tmp_path), body)


def test_fifo_batch_entries_fail_on_their_own(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("f.fifo", {"FifoQueue": "true"}, {})
        result = await s.send_message_batch(url, [
            SendEntry("nogroup", "a", dedup_id="1"),
            SendEntry("nodedup", "b", group_id="g"),
            SendEntry("delayed", "c", delay_seconds=2, group_id="g", dedup_id="3"),
            SendEntry("zero", "d", delay_seconds=0, group_id="g", dedup_id="4"),
        ])  # fmt: skip
        assert [entry_id for entry_id, _ in result.successful] == ["zero"]
        codes = {f.id: (f.code, f.message[:30]) for f in result.failed}
        assert codes == {
            "nogroup": ("InvalidParameterValue", "The request must contain the p"),
            "nodedup": ("InvalidParameterValue", "The queue should either have C"),
            "delayed": ("InvalidParameterValue", "Value 2 for parameter DelaySec"),
        }

    scenario(db(tmp_path), body)


def test_fifo_receive_attempt_id_replays(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("f.fifo", {"FifoQueue": "true"}, {})
        await s.send_message(url, "x", group_id="g", dedup_id="1")
        first = await s.receive_message(url, 1, attempt_id="try-1")
        again = await s.receive_message(url, 1, attempt_id="try-1")
        assert [m.receipt_handle for m in again] == [m.receipt_handle for m in first]
        assert await s.receive_message(url, 1, attempt_id="try-2") == []

    scenario(db(tmp_path), body)


def test_redrive_moves_after_max_receive_count(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        dlq = await s.create_queue("dlq", {}, {})
        policy = {"deadLetterTargetArn": s.queue_arn(dlq), "maxReceiveCount": 2}
        src = await s.create_queue(
            "src", {"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "5"}, {}
        )
        attrs = {"k": MessageAttribute("String", "v")}
        sent = await s.send_message(src, "poison", attributes=attrs)
        sent_at = int(clock.now * 1000)
        first_receive = int((clock.now + 1) * 1000)
        for count in (1, 2):
            clock.now += 1
            [delivered] = await s.receive_message(src, attribute_names=["All"])
            assert delivered.attributes["ApproximateReceiveCount"] == str(count)
            assert "DeadLetterQueueSourceArn" not in delivered.attributes
            clock.now += 5
        assert s.stats(dlq).visible == 0  # received maxReceiveCount times: not moved yet
        assert await s.receive_message(src) == []  # the next attempt moves it
        assert s.stats(src).visible + s.stats(src).in_flight == 0
        [moved] = await s.receive_message(
            dlq, attribute_names=["All"], message_attribute_names=["All"], visibility_timeout=0
        )
        assert (moved.message_id, moved.body, moved.message_attributes) == (
            sent.message_id, "poison", attrs,
        )  # fmt: skip
        assert moved.attributes["DeadLetterQueueSourceArn"] == s.queue_arn(src)
        assert moved.attributes["SentTimestamp"] == str(sent_at)
        assert moved.attributes["ApproximateReceiveCount"] == "3"  # not reset by the move
        assert moved.attributes["ApproximateFirstReceiveTimestamp"] == str(first_receive)
        [again] = await s.receive_message(dlq, attribute_names=["DeadLetterQueueSourceArn"])
        assert again.attributes == {"DeadLetterQueueSourceArn": s.queue_arn(src)}
        assert s.list_dead_letter_source_queues(dlq) == ([src], None)

    scenario(db(tmp_path), body)


def test_redrive_policy_validation(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        fifo = await s.create_queue("d.fifo", {"FifoQueue": "true"}, {})
        missing = json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:x", "maxReceiveCount": 3}
        )
        with pytest.raises(InvalidParameterValue, match="does not exist"):
            await s.create_queue("a", {"RedrivePolicy": missing}, {})
        wrong = json.dumps({"deadLetterTargetArn": s.queue_arn(fifo), "maxReceiveCount": 3})
        with pytest.raises(InvalidParameterValue, match="same type"):
            await s.create_queue("a", {"RedrivePolicy": wrong}, {})
        for count in (0, 1001):
            bad = json.dumps({"deadLetterTargetArn": s.queue_arn(fifo), "maxReceiveCount": count})
            with pytest.raises(InvalidParameterValue, match="maxReceiveCount"):
                await s.create_queue("a.fifo", {"FifoQueue": "true", "RedrivePolicy": bad}, {})

    scenario(db(tmp_path), body)


def test_retention_expires_messages(tmp_path: Path) -> None:
    async def body(s: QueuesService, clock: FakeClock) -> None:
        url = await s.create_queue("q", {"MessageRetentionPeriod": "60"}, {})
        await s.send_message(url, "old")
        clock.now += 30
        await s.send_message(url, "young")
        clock.now += 31
        assert await s.expire(clock.now) == 1
        [message] = await s.receive_message(url, 10)
        assert message.body == "young"
        clock.now += 100
        await s.change_message_visibility(url, message.receipt_handle, 0)
        assert await s.receive_message(url, 10) == []  # expired lazily on receive
        assert s.stats(url).visible == 0

    scenario(db(tmp_path), body)


def test_restart_keeps_messages_in_flight_state_and_dedup(tmp_path: Path) -> None:
    clock = FakeClock()
    path = db(tmp_path)

    async def before(s: QueuesService, _: FakeClock) -> tuple[str, str, str]:
        url = await s.create_queue("q", {"VisibilityTimeout": "10"}, {"k": "v"})
        fifo = await s.create_queue("f.fifo", {"FifoQueue": "true"}, {})
        await s.send_message(url, "in-flight")
        await s.send_message(url, "kept", attributes={"n": MessageAttribute("Number", "1")})
        [taken] = await s.receive_message(url, 1)
        assert taken.body == "in-flight"
        sent = await s.send_message(fifo, "x", group_id="g", dedup_id="d")
        return taken.receipt_handle, sent.message_id, taken.body

    handle, fifo_id, taken_body = scenario(path, before, clock)

    async def after(s: QueuesService, clock: FakeClock) -> None:
        url = s.get_queue_url("q")
        assert s.list_queue_tags(url) == {"k": "v"}
        [kept] = await s.receive_message(url, 10, None, 100, (), ["All"])
        assert kept.body == "kept"
        assert kept.message_attributes == {"n": MessageAttribute("Number", "1")}
        clock.now += 10
        [back] = await s.receive_message(url, 10, attribute_names=["ApproximateReceiveCount"])
        assert back.body == taken_body
        assert back.attributes["ApproximateReceiveCount"] == "2"
        again = await s.send_message(s.get_queue_url("f.fifo"), "y", group_id="g", dedup_id="d")
        assert again.message_id == fifo_id

    scenario(path, after, clock)
    assert handle


def test_long_poll_wakes_on_send_without_spinning(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("q", {}, {})
        calls = 0
        real = s._messages.receive  # count how often the receive loop looks

        def counting(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return real(*args)

        s._messages.receive = counting  # type: ignore[method-assign]
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiter = asyncio.create_task(s.receive_message(url, 1, 5))
        await asyncio.sleep(0.2)
        await s.send_message(url, "wake")
        [message] = await waiter
        assert message.body == "wake"
        assert loop.time() - started < 4.5  # woken by the send, not by the 5 s wait ending
        assert calls == 2
        assert await s.receive_message(url, 1, 0) == []

    scenario(db(tmp_path), body)


def test_long_poll_times_out_and_wakes_on_visibility_expiry(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("q", {"ReceiveMessageWaitTimeSeconds": "1"}, {})
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await s.receive_message(url) == []
        assert 0.9 < loop.time() - started < 10  # the full wait, then an answer
        await s.send_message(url, "m")
        [first] = await s.receive_message(url, visibility_timeout=1)
        woke = asyncio.Event()
        unsubscribe = s.subscribe(s.queue_arn(url), woke.set)
        [again] = await s.receive_message(url, 1, 3)
        assert again.message_id == first.message_id
        assert woke.is_set()
        unsubscribe()

    scenario(db(tmp_path), body, RealClock())  # timers drive the wake-up


def test_wait_for_messages(tmp_path: Path) -> None:
    async def body(s: QueuesService, _: FakeClock) -> None:
        url = await s.create_queue("q", {}, {})
        assert await s.wait_for_messages(url, 0.05) is False
        task = asyncio.create_task(s.wait_for_messages(url, 5))
        await asyncio.sleep(0.05)
        await s.send_message(url, "m")
        assert await task is True

    scenario(db(tmp_path), body)
