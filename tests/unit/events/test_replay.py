"""Replays in-process: the window, replay-name, FilterArns, AWS's texts, cancel, the limit,
and a cursor that resumes after a stop without losing or repeating an event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from archive_harness import ARCHIVE_ARN, BUS_ARN, MATCH_APP, ArchiveHarness
from events_harness import ACCOUNT, QUEUE, REGION, START, entry

from nimbus.errors import ResourceAlreadyExists, ResourceNotFound, ValidationError
from nimbus.events.bus_errors import IllegalStatus, LimitExceeded
from nimbus.events.model import ReplayState, Target
from nimbus.events.replay import ReplaySettings, replayed
from nimbus.events.service import EventsService
from nimbus.events.timer import ManualTimer

OTHER_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:other"
DEFAULT = BUS_ARN + "default"


async def setup(s: EventsService, events: int) -> None:
    """An archive of the default bus, a rule to QUEUE, and `events` events one minute
    apart from START - 3600 (event times, not the clock), each with its index as `n`."""
    await s.archives.create("arc", DEFAULT, pattern=MATCH_APP)
    await s.put_rule("r", pattern=MATCH_APP)
    await s.put_targets("r", None, [Target("q", QUEUE)])
    for n in range(events):
        await s.put_events([entry(detail={"n": n}, time=START - 3600 + 60 * n)])
    await s.dispatcher.wait_idle()


def test_replay_sends_the_window_in_order_with_replay_name(tmp_path: Path) -> None:
    harness = ArchiveHarness(tmp_path / "events.db", replay=ReplaySettings(batch_size=2))
    targets = harness.targets

    async def body(s: EventsService, _: ManualTimer) -> None:
        await setup(s, 6)
        targets.sent.clear()
        started = await s.replays.start_replay(
            "rp", ARCHIVE_ARN + "arc", START - 3600 + 60, START - 3600 + 60 * 4, DEFAULT
        )
        assert started.state is ReplayState.STARTING
        assert started.arn == f"arn:aws:events:{REGION}:{ACCOUNT}:replay/rp"
        done = await s.replays.wait("rp")
        await targets.until(lambda: len(targets.sent) == 3)
        events = [sent.event for sent in targets.sent]
        assert [e["detail"]["n"] for e in events] == [1, 2, 3]  # [start, end), in order
        assert all(e["replay-name"] == "rp" for e in events)
        assert list(events[0])[6:8] == ["region", "replay-name"]  # where AWS puts it
        assert done.state is ReplayState.COMPLETED and done.ended == START
        assert done.last_replayed == START - 3600 + 180
        assert s.archives.stats("arc").count == 6  # replayed events are not archived again

    harness.run(body)


def test_filter_arns_limit_the_rules(tmp_path: Path) -> None:
    harness = ArchiveHarness(tmp_path / "events.db")
    targets = harness.targets

    async def body(s: EventsService, _: ManualTimer) -> None:
        await setup(s, 2)
        other = await s.put_rule("other", pattern=MATCH_APP)
        await s.put_targets("other", None, [Target("o", OTHER_QUEUE)])
        targets.sent.clear()
        await s.replays.start_replay("rp", ARCHIVE_ARN + "arc", START - 7200, START, DEFAULT,
                                     (other.arn,))  # fmt: skip
        await s.replays.wait("rp")
        await targets.until(lambda: len(targets.sent) == 2)
        await s.dispatcher.wait_idle()
        assert {sent.arn for sent in targets.sent} == {OTHER_QUEUE}

    harness.run(body)


def test_start_replay_errors_are_aws_texts(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.archives.create("arc", DEFAULT)
        await s.create_event_bus("orders")
        start = s.replays.start_replay
        with pytest.raises(ValidationError, match=r"^Parameter EventSourceArn is not valid\. "
                           r"Reason: Archive nope does not exist\.$"):  # fmt: skip
            await start("rp", ARCHIVE_ARN + "nope", 0, 1, DEFAULT)
        with pytest.raises(ValidationError, match=r"^Parameter EventEndTime is not valid\. "
                           r"Reason: EventStartTime must be before EventEndTime\.$"):  # fmt: skip
            await start("rp", ARCHIVE_ARN + "arc", 1, 1, DEFAULT)
        with pytest.raises(ValidationError, match=r"^Parameter Destination\.Arn is not valid\. "
                           r"Reason: Cross event bus replay is not permitted\.$"):  # fmt: skip
            await start("rp", ARCHIVE_ARN + "arc", 0, 1, BUS_ARN + "orders")
        with pytest.raises(ResourceNotFound, match=r"^Event bus gone does not exist\.$"):
            await start("rp", ARCHIVE_ARN + "arc", 0, 1, BUS_ARN + "gone")
        await start("rp", ARCHIVE_ARN + "arc", 0, 1, DEFAULT)
        with pytest.raises(ResourceAlreadyExists, match=r"^Replay rp already exists\.$"):
            await start("rp", ARCHIVE_ARN + "arc", 0, 1, DEFAULT)
        with pytest.raises(ResourceNotFound, match=r"^Replay nope does not exist\.$"):
            s.replays.get("nope")
        with pytest.raises(ResourceNotFound, match=r"^Replay nope does not exist\.$"):
            await s.replays.cancel("nope")
        assert (await s.replays.wait("rp")).state is ReplayState.COMPLETED
        with pytest.raises(IllegalStatus, match="only when its state is STARTING or RUNNING"):
            await s.replays.cancel("rp")

    ArchiveHarness(tmp_path / "events.db").run(body)


def test_cancel_stops_before_the_next_batch_and_ten_may_be_active(tmp_path: Path) -> None:
    # a batch an hour apart on the manual clock: the replays wait until cancelled
    slow = ReplaySettings(batch_size=1, batch_interval_s=3600)
    harness = ArchiveHarness(tmp_path / "events.db", replay=slow)
    targets = harness.targets

    async def body(s: EventsService, _: ManualTimer) -> None:
        await setup(s, 3)
        targets.sent.clear()
        for n in range(10):
            await s.replays.start_replay(f"rp{n}", ARCHIVE_ARN + "arc", 0, START, DEFAULT)
        with pytest.raises(LimitExceeded,
                           match=r"^The requested resource exceeds the maximum number allowed\.$"):  # fmt: skip
            await s.replays.start_replay("rp10", ARCHIVE_ARN + "arc", 0, START, DEFAULT)
        await targets.until(lambda: len(targets.sent) == 10)  # the first batch of each
        cancelled = await s.replays.cancel("rp0")
        assert cancelled.state is ReplayState.CANCELLING
        done = await s.replays.wait("rp0")
        assert done.state is ReplayState.CANCELLED and done.cursor > 0
        listed, _ = s.replays.page(state="RUNNING")
        assert len(listed) == 9
        assert [r.name for r in s.replays.page(prefix="rp0")[0]] == ["rp0"]
        await s.replays.start_replay("rp10", ARCHIVE_ARN + "arc", 0, START, DEFAULT)

    harness.run(body)


def test_a_stopped_replay_resumes_from_its_cursor_exactly_once(tmp_path: Path) -> None:
    slow = ReplaySettings(batch_size=2, batch_interval_s=3600)
    harness = ArchiveHarness(tmp_path / "events.db", replay=slow)
    targets = harness.targets

    async def first(s: EventsService, _: ManualTimer) -> None:
        await setup(s, 5)
        targets.sent.clear()
        await s.replays.start_replay("rp", ARCHIVE_ARN + "arc", 0, START, DEFAULT)
        await targets.until(lambda: len(targets.sent) == 2)
        await s.dispatcher.wait_idle()
        assert s.replays.get("rp").cursor > 0  # stopped (as a crash would) mid-replay

    async def second(s: EventsService, timer: ManualTimer) -> None:
        targets.changed = asyncio.Event()  # the first run's loop is gone
        assert s.replays.get("rp").state is ReplayState.RUNNING
        await targets.until(lambda: len(targets.sent) == 4)
        await timer.advance(3600)
        done = await s.replays.wait("rp")
        assert done.state is ReplayState.COMPLETED
        await s.dispatcher.wait_idle()

    harness.run(first)
    harness.run(second)
    assert sorted(sent.event["detail"]["n"] for sent in targets.sent) == [0, 1, 2, 3, 4]


def test_replayed_envelopes_are_keyed_apart_from_the_original() -> None:
    original = {"version": "0", "id": "e1", "time": "t", "region": "r", "resources": [],
                "detail": {}}  # fmt: skip
    envelope = replayed(json.dumps(original), "rp")
    assert envelope.id == "e1/rp" and envelope.fields["id"] == "e1"
    assert list(envelope.fields) == [
        "version", "id", "time", "region", "replay-name", "resources", "detail"
    ]  # fmt: skip
