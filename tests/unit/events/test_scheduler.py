"""The scheduler on a manual clock over a real events.db: when rules fire, re-planning on
change, and restarts that neither lose nor double a firing."""

from __future__ import annotations

import asyncio
import calendar
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from events_harness import ACCOUNT, FUNCTION, QUEUE, REGION, Harness

from nimbus.errors import ServiceError
from nimbus.events import store
from nimbus.events.model import Rule, RuleState, Target
from nimbus.events.registry import EventRegistry
from nimbus.events.schedule import parse_schedule
from nimbus.events.scheduler import Scheduler, latest_due
from nimbus.events.service import EventsService
from nimbus.events.store import EventStore
from nimbus.events.target_input import InputTransformer, TargetInput
from nimbus.events.timer import ManualTimer

# 2023-11-14T22:13:20Z: a quarter past is 100 s away, the hour 2,800 s
START = 1_700_000_000.0
QUARTER_PAST = START + 100
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick"
OTHER = f"arn:aws:sqs:{REGION}:{ACCOUNT}:other"


@dataclass
class Node:
    """One "process": a registry and a scheduler over the events.db at `path`."""

    path: Path
    timer: ManualTimer
    fired: list[tuple[str, float]] = field(default_factory=list)
    refuse: int = 0  # how many firings the store refuses (a failing disk)

    def __post_init__(self) -> None:
        self.store = EventStore(self.path)
        self.registry = EventRegistry(self.store, REGION, ACCOUNT, self.timer.now)
        self.registry.load()
        self.scheduler = Scheduler(self.registry, self.store.schedule_marks, self.fire,
                                   self.timer)  # fmt: skip

    async def fire(self, rule: Rule, at: float) -> None:
        if self.refuse:
            self.refuse -= 1
            raise ServiceError("disk full")
        await self.store.commit([store.mark_schedule(rule.arn, at)])
        self.fired.append((rule.arn, at))

    async def put(self, schedule: str, name: str = "tick", state: str | None = None) -> None:
        await self.registry.put_rule(
            name, None, pattern=None, schedule=schedule, state=state, description=None,
            role_arn=None,
        )  # fmt: skip

    async def to(self, at: float) -> None:
        """Move the clock to `at` and wait until every firing due by then is committed."""
        await self.timer.advance(at - self.timer.now())
        await asyncio.wait_for(self.scheduler.wait_settled(), 5)

    def times(self) -> list[float]:
        return [at for _, at in self.fired]

    async def stop(self) -> None:
        await self.scheduler.stop()
        self.store.close()


def run(tmp_path: Path, body: Callable[[Node], Awaitable[None]], at: float = START) -> None:
    async def main() -> None:
        node = Node(tmp_path / "events.db", ManualTimer(at))
        node.scheduler.start()
        try:
            await body(node)
        finally:
            await node.stop()

    asyncio.run(main())


def test_a_rate_fires_every_period_from_its_anchor_and_not_before(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.to(START + 7)  # the anchor has seconds: rate counts from it exactly
        await n.put("rate(5 minutes)")
        await n.to(START + 7 + 5 * MINUTE - 1)
        assert n.fired == []
        await n.to(START + 7 + 5 * MINUTE)
        assert n.fired == [(ARN, START + 7 + 5 * MINUTE)]
        await n.to(START + 7 + 10 * MINUTE - 0.5)
        assert len(n.fired) == 1
        await n.to(START + 7 + 10 * MINUTE + 30)  # a late wake still fires the scheduled time
        assert n.times() == [START + 7 + 5 * MINUTE, START + 7 + 10 * MINUTE]
        assert n.store.schedule_marks() == {ARN: START + 7 + 10 * MINUTE}

    run(tmp_path, body)


def test_a_cron_fires_at_its_minutes(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("cron(0/15 * * * ? *)")
        await n.to(START)
        assert n.scheduler.next_firing(ARN) == QUARTER_PAST
        for step in range(4):
            await n.to(QUARTER_PAST + step * 15 * MINUTE - 1)
            assert len(n.fired) == step
            await n.to(QUARTER_PAST + step * 15 * MINUTE)
        assert n.times() == [QUARTER_PAST + k * 15 * MINUTE for k in range(4)]

    run(tmp_path, body)


def test_disabling_stops_firing_and_enabling_resumes_from_then(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("rate(10 minutes)")
        await n.to(START + 10 * MINUTE)
        await n.registry.set_state("tick", None, RuleState.DISABLED)
        await n.to(START + 10 * MINUTE)
        assert n.scheduler.next_firing(ARN) is None
        await n.to(START + HOUR)
        assert n.times() == [START + 10 * MINUTE]
        await n.registry.set_state("tick", None, RuleState.ENABLED)  # rate counts from now
        await n.to(START + HOUR + 10 * MINUTE - 1)
        assert len(n.fired) == 1  # nothing for the times it was disabled
        await n.to(START + HOUR + 10 * MINUTE)
        assert n.times() == [START + 10 * MINUTE, START + HOUR + 10 * MINUTE]

    run(tmp_path, body)


def test_a_rule_put_disabled_never_fires(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("rate(1 minute)", state="DISABLED")
        await n.to(START + HOUR)
        assert n.fired == [] and n.scheduler.next_firing(ARN) is None

    run(tmp_path, body)


def test_a_deleted_rule_stops_firing_and_loses_its_mark(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("rate(1 minute)")
        await n.to(START + MINUTE)
        await n.registry.delete_rule("tick", None)
        await n.to(START + HOUR)
        assert n.times() == [START + MINUTE]
        assert n.scheduler.next_firing(ARN) is None and n.store.schedule_marks() == {}

    run(tmp_path, body)


def test_a_changed_schedule_is_re_planned_and_other_rules_keep_theirs(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("rate(5 minutes)")
        await n.put("cron(0/15 * * * ? *)", name="quarters")
        await n.to(START + 3 * MINUTE)
        await n.put("rate(1 hour)")  # from now: 5 minutes after the anchor no longer fires
        await n.to(START + 3 * MINUTE)
        assert n.scheduler.next_firing(ARN) == START + 3 * MINUTE + HOUR
        await n.put("rate(1 hour)")  # unchanged: the anchor and plan stay
        await n.to(START + 4 * MINUTE)
        assert n.scheduler.next_firing(ARN) == START + 3 * MINUTE + HOUR
        for k in range(5):  # step by quarter: a longer jump would be a missed time
            await n.to(QUARTER_PAST + k * 15 * MINUTE)
        await n.to(START + 3 * MINUTE + HOUR)
        ticks = [at for arn, at in n.fired if arn == ARN]
        quarters = [at for arn, at in n.fired if arn != ARN]
        assert ticks == [START + 3 * MINUTE + HOUR]
        assert quarters == [QUARTER_PAST + k * 15 * MINUTE for k in range(5)]

    run(tmp_path, body)


def test_a_restart_after_downtime_fires_once_for_the_latest_missed_time(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("rate(5 minutes)")
        await n.to(START + 5 * MINUTE)
        await n.stop()
        # down for 2 h 2 min: 24 times were missed; the restart fires the last, once
        later = Node(n.path, ManualTimer(START + 2 * HOUR + 7 * MINUTE))
        later.scheduler.start()
        await later.to(later.timer.now())
        assert later.times() == [START + 2 * HOUR + 5 * MINUTE]
        await later.to(START + 2 * HOUR + 10 * MINUTE)  # and continues on the anchor's grid
        assert later.times() == [START + 2 * HOUR + 5 * MINUTE, START + 2 * HOUR + 10 * MINUTE]
        await later.stop()
        # a restart within the same period finds the mark: nothing is fired again
        again = Node(n.path, ManualTimer(START + 2 * HOUR + 12 * MINUTE))
        again.scheduler.start()
        await again.to(START + 2 * HOUR + 15 * MINUTE - 1)
        assert again.fired == []
        await again.to(START + 2 * HOUR + 15 * MINUTE)
        assert again.times() == [START + 2 * HOUR + 15 * MINUTE]
        n.store = again.store  # closed by `run`
        n.scheduler = again.scheduler

    run(tmp_path, body)


def test_no_firing_is_lost_or_doubled_when_the_process_stops_between_firings(
    tmp_path: Path,
) -> None:
    """Stop and restart after every other firing: the union is every time, each once."""

    async def body(n: Node) -> None:
        await n.put("rate(1 minute)")
        fired: list[float] = []
        node = n
        for k in range(1, 7):
            await node.to(START + k * MINUTE)
            if k % 2 == 0:
                fired += node.times()
                await node.stop()
                # the new process starts half a minute later, before the next time
                node = Node(n.path, ManualTimer(START + k * MINUTE + 30))
                node.scheduler.start()
                await node.to(node.timer.now())
        fired += node.times()
        assert fired == [START + k * MINUTE for k in range(1, 7)]
        n.store, n.scheduler = node.store, node.scheduler

    run(tmp_path, body)


def test_a_refused_commit_fires_nothing_and_is_tried_again(tmp_path: Path) -> None:
    async def body(n: Node) -> None:
        await n.put("rate(1 minute)")
        n.refuse = 1
        await n.to(START + MINUTE)
        assert n.fired == [] and n.store.schedule_marks() == {}
        await n.to(START + MINUTE + 5)
        assert n.fired == [(ARN, START + MINUTE)]

    run(tmp_path, body)


def test_a_firing_committed_by_a_process_that_died_is_not_repeated(tmp_path: Path) -> None:
    """The mark is the proof: a process killed after its commit (before it updated its own
    plan) leaves the next one nothing to fire for that time."""

    async def body(n: Node) -> None:
        await n.put("rate(1 minute)")
        await n.store.commit([store.mark_schedule(ARN, START + MINUTE)])  # the dead one's
        other = Node(n.path, ManualTimer(START + MINUTE + 1))
        other.scheduler.start()
        await other.to(START + 2 * MINUTE - 1)
        assert other.fired == []
        await other.to(START + 2 * MINUTE)
        assert other.times() == [START + 2 * MINUTE]
        await other.stop()

    run(tmp_path, body)


def test_latest_due_finds_the_last_missed_time_without_walking_every_one() -> None:
    calls = 0
    every_minute = parse_schedule("cron(* * * * ? *)")

    class Counting:
        def next_after(self, after: float, anchor: float) -> float | None:
            nonlocal calls
            calls += 1
            return every_minute.next_after(after, anchor)

    # a year of downtime, a minute at a time
    now = START + 365 * DAY + 30
    assert latest_due(Counting(), START, START, now) == START - 20 + 365 * DAY  # type: ignore[arg-type]
    assert calls < 40
    # one month's first Monday at 08:00, six weeks down
    monthly = parse_schedule("cron(0 8 ? * MON#1 *)")
    first_monday = calendar.timegm((2023, 12, 4, 8, 0, 0))
    assert latest_due(monthly, START, START, START + 42 * DAY) == first_monday
    assert latest_due(monthly, START, START, START + DAY) is None
    rate = parse_schedule("rate(7 minutes)")
    assert latest_due(rate, START, START - 3, START + DAY) == START - 3 + 205 * 7 * MINUTE


def test_a_firing_goes_through_the_router_to_that_rules_targets_only(tmp_path: Path) -> None:
    """The real service: the Scheduled Event reaches the rule's queue (and its transformed
    input), not the targets of a pattern rule that would match it; the delivery rows and
    the mark are one commit."""
    harness = Harness(tmp_path / "events.db")
    transformed = TargetInput(transformer=InputTransformer.of({"t": "$.time"}, '"at <t>"'))

    async def body(s: EventsService, timer: ManualTimer) -> None:
        await s.put_rule("tick", schedule="rate(1 minute)")
        await s.put_targets("tick", None, [Target("q", QUEUE), Target("f", FUNCTION, transformed)])
        await s.put_rule("all-aws", pattern=json.dumps({"source": ["aws.events"]}))
        await s.put_targets("all-aws", None, [Target("other", OTHER)])
        gate = harness.targets.gates[QUEUE] = asyncio.Event()  # hold the delivery
        await timer.advance(MINUTE)
        await asyncio.wait_for(s.scheduler.wait_settled(), 5)
        assert len(s.store.deliveries()) == 2  # committed before delivery
        assert s.store.schedule_marks() == {ARN: START + MINUTE}
        gate.set()
        await s.dispatcher.wait_idle()
        (sent,) = harness.targets.sent
        assert sent.arn == QUEUE and sent.event == {
            "version": "0", "id": sent.event["id"], "detail-type": "Scheduled Event",
            "source": "aws.events", "account": ACCOUNT, "time": "2023-11-14T22:14:20Z",
            "region": REGION, "resources": [ARN], "detail": {},
        }  # fmt: skip
        assert harness.targets.invoked == [(FUNCTION, b'"at 2023-11-14T22:14:20Z"')]

    harness.run(body)


def test_a_rule_without_targets_still_marks_its_firing(tmp_path: Path) -> None:
    async def body(s: EventsService, timer: ManualTimer) -> None:
        await s.put_rule("tick", schedule="rate(1 minute)")
        await timer.advance(MINUTE)
        await asyncio.wait_for(s.scheduler.wait_settled(), 5)
        assert s.store.schedule_marks() == {ARN: START + MINUTE}
        assert s.store.deliveries() == []

    Harness(tmp_path / "events.db").run(body)
