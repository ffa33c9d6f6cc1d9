"""The outbox: delivered once per matching target, retried on failure, never lost."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from objects_harness import EVENT_BRIDGE, FUNCTION_ARN, QUEUE_ARN, Harness, RecordingTargets

from nimbus.objects import (
    Destination,
    DestinationKind,
    FilterRule,
    NotificationConfiguration,
    ObjectsService,
    RequestInfo,
)
from nimbus.objects.errors import UnableToValidateDestinations

ROUTED = NotificationConfiguration(
    (
        Destination(
            DestinationKind.QUEUE,
            QUEUE_ARN,
            ("s3:ObjectCreated:*",),
            (FilterRule("prefix", "img/"),),
        ),
        Destination(
            DestinationKind.FUNCTION,
            FUNCTION_ARN,
            ("s3:ObjectCreated:Put", "s3:ObjectRemoved:*"),
            (FilterRule("prefix", "doc/"), FilterRule("suffix", ".jpg")),
        ),
    ),
    event_bridge=True,
)


class StuckTargets(RecordingTargets):
    """Accepts nothing: every delivery hangs until it is cancelled (test events pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0
        self.waiting = asyncio.Event()

    async def send_to_queue(self, arn: str, body: str) -> None:
        if "s3:TestEvent" in body:
            await super().send_to_queue(arn, body)
            return
        await self._hang()

    async def invoke_function(self, arn: str, payload: bytes) -> None:
        await self._hang()

    async def put_event(self, event: dict[str, Any]) -> None:
        await self._hang()

    async def _hang(self) -> None:
        self.started += 1
        self.waiting.set()
        await asyncio.Event().wait()


def outbox_rows(data_dir: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(data_dir / "objects.db")) as db:
        return db.execute("SELECT kind, target FROM outbox ORDER BY id").fetchall()


def keys(messages: list[Any]) -> list[str]:
    return sorted(m["Records"][0]["s3"]["object"]["key"] for m in messages)


def test_a_change_reaches_each_matching_target_exactly_once(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", ROUTED)
        await s.put_object("bkt", "img/a.jpg", b"1")  # queue, bus
        await s.put_object("bkt", "img/b.png", b"2")  # queue, bus
        await s.put_object("bkt", "doc/c.jpg", b"3")  # function, bus
        await s.put_object("bkt", "doc/c.png", b"3")  # bus
        await s.copy_object("bkt", "doc/c.jpg", "bkt", "doc/d.jpg")  # bus (Copy not routed)
        await s.delete_object("bkt", "img/a.jpg")  # bus (the queue gets creations only)
        await s.delete_object("bkt", "doc/c.jpg")  # function, bus
        await harness.recorded.wait_for(11)

    harness.run(body)
    recorded = harness.recorded
    assert keys(recorded.to(QUEUE_ARN)) == ["img/a.jpg", "img/b.png"]
    assert keys(recorded.to(FUNCTION_ARN)) == ["doc/c.jpg", "doc/c.jpg"]
    assert len(recorded.events) == 7
    assert len(recorded.delivered) == 11
    assert outbox_rows(harness.data_dir) == []


def test_a_failing_target_is_retried_until_it_accepts(harness: Harness) -> None:
    harness.recorded.failures[QUEUE_ARN] = 3

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", ROUTED)
        await s.put_object("bkt", "img/a.png", b"1")
        await harness.recorded.wait_until(lambda: len(harness.recorded.to(QUEUE_ARN)) == 1)

    harness.run(body)
    assert harness.recorded.attempts[QUEUE_ARN] == 4
    assert outbox_rows(harness.data_dir) == []


def test_a_failing_target_does_not_hold_up_other_rows(harness: Harness) -> None:
    harness.recorded.failures[QUEUE_ARN] = 10**9

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", ROUTED)
        for i in range(5):
            await s.put_object("bkt", f"img/{i}.png", b"x")
        await harness.recorded.wait_until(lambda: len(harness.recorded.events) == 5)
        await harness.recorded.wait_until(lambda: harness.recorded.attempts[QUEUE_ARN] > 10)

    harness.run(body)
    assert harness.recorded.to(QUEUE_ARN) == []
    assert outbox_rows(harness.data_dir) == [("queue", QUEUE_ARN)] * 5


def test_rows_committed_before_a_stop_are_delivered_by_the_next_process(
    harness: Harness,
) -> None:
    stuck = StuckTargets()
    harness.targets = stuck
    request = RequestInfo("REQ", "10.0.0.9")

    async def first(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", ROUTED)
        await s.put_object("bkt", "img/a.jpg", b"1", request=request)
        await s.put_object("bkt", "doc/b.jpg", b"2", request=request)
        await asyncio.wait_for(stuck.waiting.wait(), 10)

    harness.run(first)  # stopped with the deliveries in flight
    assert stuck.started >= 1
    assert sorted(outbox_rows(harness.data_dir)) == [
        ("event-bus", ""),
        ("event-bus", ""),
        ("function", FUNCTION_ARN),
        ("queue", QUEUE_ARN),
    ]

    harness.targets = RecordingTargets()

    async def second(s: ObjectsService) -> None:
        await harness.recorded.wait_for(4)

    harness.run(second)
    [queued] = harness.recorded.to(QUEUE_ARN)
    assert queued["Records"][0]["responseElements"]["x-amz-request-id"] == "REQ"
    assert keys(harness.recorded.to(FUNCTION_ARN)) == ["doc/b.jpg"]
    assert len(harness.recorded.events) == 2
    assert outbox_rows(harness.data_dir) == []


def test_a_failed_delivery_is_kept_for_the_next_process(harness: Harness) -> None:
    harness.recorded.failures[""] = 10**9

    async def first(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", EVENT_BRIDGE)
        await s.put_object("bkt", "k", b"1")
        await harness.recorded.wait_until(lambda: harness.recorded.attempts.get("", 0) >= 2)

    harness.run(first)
    assert outbox_rows(harness.data_dir) == [("event-bus", "")]
    harness.targets = RecordingTargets()

    async def second(s: ObjectsService) -> None:
        await harness.recorded.wait_for(1)

    harness.run(second)
    [bus] = harness.recorded.events
    assert bus["detail"]["object"]["key"] == "k"
    assert outbox_rows(harness.data_dir) == []


def test_without_targets_nothing_is_queued(harness: Harness) -> None:
    harness.targets = None

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration(
            "bkt", ROUTED, skip_destination_validation=True
        )
        await s.put_object("bkt", "img/a.jpg", b"1")
        await s.delete_object("bkt", "img/a.jpg")
        assert (await s.get_bucket_notification_configuration("bkt")).event_bridge

    harness.run(body)
    assert outbox_rows(harness.data_dir) == []


def test_without_targets_destinations_cannot_be_validated(harness: Harness) -> None:
    harness.targets = None

    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        with pytest.raises(UnableToValidateDestinations) as caught:
            await s.put_bucket_notification_configuration("bkt", ROUTED)
        assert list(caught.value.extra_fields().values())[::2] == [
            QUEUE_ARN,
            f"{FUNCTION_ARN}, null",
        ]

    harness.run(body)
