"""Archives in-process: AWS's texts, which events they keep (in the event's own commit),
their counts, and retention on the manual clock."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from archive_harness import ARCHIVE_ARN, BUS_ARN, MATCH_APP, ArchiveHarness
from events_harness import QUEUE, START, entry

from nimbus.errors import ResourceAlreadyExists, ResourceNotFound, ValidationError
from nimbus.events.archive import DAY_S, event_time
from nimbus.events.bus_errors import InvalidEventPattern
from nimbus.events.model import Target
from nimbus.events.service import EventsService
from nimbus.events.timer import ManualTimer


def archived(s: EventsService, name: str) -> list[dict[str, object]]:
    rows = s.store.read("SELECT event FROM archived WHERE archive = ? ORDER BY seq", (name,))
    return [json.loads(row[0]) for row in rows]


def test_archive_crud_errors_and_listing(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.create_event_bus("orders")
        made = await s.archives.create("a1", BUS_ARN + "orders", pattern=MATCH_APP,
                                       description="d", retention_days=3)  # fmt: skip
        assert made.arn == ARCHIVE_ARN + "a1" and made.retention_days == 3
        assert made.created == START and made.pattern is not None
        default = await s.archives.create("b1", BUS_ARN + "default")
        assert default.retention_days == 0 and default.pattern is None  # 0: kept forever
        with pytest.raises(ResourceAlreadyExists, match=r"^Archive a1 already exists\.$"):
            await s.archives.create("a1", BUS_ARN + "orders")
        with pytest.raises(ResourceNotFound, match=r"^Event bus nope does not exist\.$"):
            await s.archives.create("x", BUS_ARN + "nope")
        with pytest.raises(ValidationError, match=r"^Parameter EventSourceArn is not valid\."):
            await s.archives.create("x", ARCHIVE_ARN + "a1")
        with pytest.raises(InvalidEventPattern,
                           match=r"^Event pattern is not valid\. Reason: Filter is not an object$"):  # fmt: skip
            await s.archives.create("x", BUS_ARN + "orders", pattern='["a"]')
        with pytest.raises(ValidationError, match="greater than or equal to 0"):
            await s.archives.create("x", BUS_ARN + "orders", retention_days=-1)
        with pytest.raises(ResourceNotFound, match=r"^Archive x does not exist\.$"):
            s.archives.get("x")
        with pytest.raises(ValidationError, match=r"^At least one of EventPattern, RetentionDays "
                           r"or Description must be provided\.$"):  # fmt: skip
            await s.archives.update("a1")
        with pytest.raises(ResourceNotFound, match=r"^Archive x does not exist\.$"):
            await s.archives.update("x", description="y")
        updated = await s.archives.update("a1", retention_days=0, pattern="")
        assert updated.retention_days == 0 and updated.pattern is None
        assert updated.description == "d"
        first, token = s.archives.page(limit=1)
        assert [a.name for a in first] == ["a1"] and token
        assert [a.name for a in s.archives.page(token=token)[0]] == ["b1"]
        assert [a.name for a in s.archives.page(prefix="b")[0]] == ["b1"]
        assert [a.name for a in s.archives.page(source_arn=BUS_ARN + "orders")[0]] == ["a1"]
        assert s.archives.page(state="DISABLED")[0] == []
        with pytest.raises(ResourceNotFound, match=r"^Event bus nope does not exist\.$"):
            s.archives.page(source_arn=BUS_ARN + "nope")
        await s.archives.delete("a1")
        with pytest.raises(ResourceNotFound, match=r"^Archive a1 does not exist\.$"):
            await s.archives.delete("a1")

    ArchiveHarness(tmp_path / "events.db").run(body)


def test_matching_events_are_archived_in_the_events_own_commit(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.archives.create("apps", BUS_ARN + "default", pattern=MATCH_APP)
        await s.archives.create("all", BUS_ARN + "default")
        await s.put_rule("r", pattern=MATCH_APP)
        await s.put_targets("r", None, [Target("q", QUEUE)])
        commits = s.store._db.commits
        await s.put_events([entry(time=START - 600), entry("other.app"), entry(detail_text="[")])
        assert s.store._db.commits == commits + 1  # the event, its delivery row, its archives
        kept = archived(s, "apps")
        assert [e["source"] for e in kept] == ["my.app"]
        assert kept[0]["time"] == "2023-11-14T22:03:20Z"  # the event's time, kept as given
        assert [e["source"] for e in archived(s, "all")] == ["my.app", "other.app"]
        times = s.store.read("SELECT time FROM archived WHERE archive = 'apps'")
        assert times == [(START - 600,)]
        stats = s.archives.stats("all")
        sizes = [len(json.dumps(e, separators=(",", ":")).encode()) for e in archived(s, "all")]
        assert (stats.count, stats.size) == (2, sum(sizes))
        assert s.archives.stats("apps").count == 1

    ArchiveHarness(tmp_path / "events.db").run(body)


def test_an_event_no_rule_matched_is_still_archived_and_counts_survive_a_restart(
    tmp_path: Path,
) -> None:
    harness = ArchiveHarness(tmp_path / "events.db")

    async def first(s: EventsService, _: ManualTimer) -> None:
        await s.archives.create("all", BUS_ARN + "default")
        await s.put_events([entry(), entry()])
        assert s.store.deliveries() == []

    async def second(s: EventsService, _: ManualTimer) -> None:
        assert s.archives.stats("all").count == 2
        assert s.archives.stats("all").size > 0

    harness.run(first)
    harness.run(second)


def test_retention_sweeps_on_the_timer(tmp_path: Path) -> None:
    harness = ArchiveHarness(tmp_path / "events.db", sweep_interval_s=3600)

    async def body(s: EventsService, timer: ManualTimer) -> None:
        await s.archives.create("short", BUS_ARN + "default", retention_days=1)
        await s.archives.create("forever", BUS_ARN + "default")
        await s.put_events([entry()])
        await timer.advance(DAY_S / 2)
        await s.put_events([entry()])
        await timer.advance(DAY_S / 2 + 3600)  # the first event is a day and an hour old
        await s.archives.sweep()  # what the sweeper does on the hour; awaited here
        assert s.archives.stats("short").count == 1
        assert s.archives.stats("forever").count == 2
        await timer.advance(DAY_S)
        async with asyncio.timeout(5):
            while s.archives.stats("short").count:  # the sweeper's own run, on the timer
                await timer.advance(3600)
                await asyncio.sleep(0.01)  # its commit is on the store's writer thread
        assert s.archives.stats("forever").count == 2

    harness.run(body)


def test_event_time_reads_rfc3339_and_falls_back() -> None:
    assert event_time({"time": "2017-12-22T18:43:48Z"}, 0.0) == 1513968228.0
    assert event_time({"time": "yesterday"}, 5.0) == 5.0
    assert event_time({}, 7.0) == 7.0
