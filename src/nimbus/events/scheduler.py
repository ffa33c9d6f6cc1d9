"""The scheduler: fires every enabled rule that has a ScheduleExpression at its times.

One task keeps a heap of (next firing time, rule ARN) and waits on the `Timer` until the
earliest, or until the registry reports a change (`EventRegistry.on_change`), never
sleeping or polling. A change re-plans only the rules whose schedule, anchor or state
moved: a new rule, a changed schedule, an enable or disable, a delete. Heap entries a
re-plan made obsolete are skipped when they surface.

A rule's times are `Schedule.next_after(after, rule.anchor)`, where `after` is the later
of the rule's anchor (its creation, last schedule change or last enable: `rate` counts
from there, and a re-enabled rule resumes from then, not from before it was disabled)
and its schedule mark (the last time it fired). A firing is the "Scheduled Event" for its
scheduled time, handed with the new mark to `Fire`, which commits both with the delivery
rows in one transaction (`firing.fire_scheduled`). So a kill -9 at any point neither
loses nor doubles a firing: either the rows and the mark are stored, and the next start
continues after that time, or neither is, and the next start fires it.

Missed times (nimbus was down, or the clock jumped, for longer than a period) fire ONCE,
for the most recent missed time, and the schedule continues from there: a rule that
runs every minute does not deliver a burst of catch-up events after an hour's downtime.
This is a choice: EventBridge itself does not stop, so it has no rule for a gap.

AWS fires "somewhere within the minute"; nimbus fires at the computed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable

from nimbus.errors import NimbusError
from nimbus.events.firing import Fire
from nimbus.events.model import Rule
from nimbus.events.registry import EventRegistry
from nimbus.events.schedule import Schedule, parse_schedule
from nimbus.events.timer import Timer

logger = logging.getLogger(__name__)

RETRY_DELAY_S = 5.0  # a firing whose commit failed is tried again this much later
FIRST_SPAN_S = 60.0  # the finest schedule granularity: where the search for the latest starts


def latest_due(schedule: Schedule, after: float, anchor: float, now: float) -> float | None:
    """The most recent scheduled time in (after, now]; None when there is none.

    Searches back from `now` in doubling spans, then walks forward inside the span, so a
    long downtime costs a few dozen `next_after` calls, not one per missed time.
    """
    first = schedule.next_after(after, anchor)
    if first is None or first > now:
        return None
    span = FIRST_SPAN_S
    while True:
        found = schedule.next_after(max(after, now - span), anchor)
        if found is not None and found <= now:
            break
        span *= 2
    latest = found
    while (following := schedule.next_after(latest, anchor)) is not None and following <= now:
        latest = following
    return latest


class Scheduler:
    def __init__(
        self,
        registry: EventRegistry,
        marks: Callable[[], dict[str, float]],
        fire: Fire,
        timer: Timer,
    ) -> None:
        """`marks` reads the stored schedule marks (rule ARN -> last fired) at start."""
        self._registry = registry
        self._read_marks = marks
        self._fire = fire
        self._timer = timer
        self._marks: dict[str, float] = {}
        self._rules: dict[str, Rule] = {}  # the enabled scheduled rules, as last seen
        self._planned: dict[str, tuple[str, float]] = {}  # ARN -> (schedule, anchor) planned
        self._schedules: dict[str, Schedule] = {}
        self._next: dict[str, float] = {}  # ARN -> its next firing (the live heap entry)
        self._heap: list[tuple[float, str]] = []
        self._wake = asyncio.Event()
        self._dirty = False
        self._waiting = False  # the loop waits on the timer: every due firing is done
        self._settled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def next_firing(self, rule_arn: str) -> float | None:
        """When `rule_arn` fires next as planned now (for tests and the dashboard)."""
        return self._next.get(rule_arn)

    async def wait_settled(self) -> None:
        """Until every due firing is committed and the scheduler waits for a later time."""
        while not self._waiting or self._wake.is_set() or self._due():
            self._settled.clear()
            await self._settled.wait()

    def _due(self) -> bool:
        return bool(self._heap) and self._heap[0][0] <= self._timer.now()

    def start(self) -> None:
        self._marks = self._read_marks()
        self._replan()
        self._registry.on_change.append(self._changed)
        self._task = asyncio.create_task(self._run(), name="events-scheduler")
        self._task.add_done_callback(_log_failure)

    async def stop(self) -> None:
        """Stop firing; a firing under way either commits whole or not at all."""
        with contextlib.suppress(ValueError):
            self._registry.on_change.remove(self._changed)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _changed(self) -> None:
        self._dirty = True
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            if self._dirty:
                self._dirty = False
                self._replan()
            await self._fire_due()
            until = self._heap[0][0] if self._heap else None
            self._waiting = True
            self._settled.set()
            try:
                await self._timer.wait(until, self._wake)
            finally:
                self._waiting = False

    # -- planning -------------------------------------------------------------------------

    def _replan(self) -> None:
        """Plan the rules whose schedule, anchor or state changed; forget deleted ones."""
        current = {r.arn: r for r in self._registry.all_rules() if r.schedule and r.enabled}
        for arn in [arn for arn in self._planned if arn not in current]:
            # a rule that comes back has a new anchor, later than any mark it had
            for table in (self._planned, self._schedules, self._next, self._marks):
                table.pop(arn, None)
        for arn, rule in current.items():
            assert rule.schedule is not None
            key = (rule.schedule, rule.anchor)
            if self._planned.get(arn) != key:
                self._planned[arn] = key
                self._schedules[arn] = parse_schedule(rule.schedule)
                self._plan(arn, self._after(rule), rule.anchor)
        self._rules = current
        if len(self._heap) > 2 * len(self._next) + 64:  # drop the obsolete entries
            self._heap = [(at, arn) for arn, at in self._next.items()]
            heapq.heapify(self._heap)

    def _after(self, rule: Rule) -> float:
        return max(self._marks.get(rule.arn, rule.anchor), rule.anchor)

    def _plan(self, arn: str, after: float, anchor: float) -> None:
        at = self._schedules[arn].next_after(after, anchor)
        if at is None:  # a cron whose years are over
            self._next.pop(arn, None)
            return
        self._set_next(arn, at)

    def _set_next(self, arn: str, at: float) -> None:
        self._next[arn] = at
        heapq.heappush(self._heap, (at, arn))

    # -- firing ---------------------------------------------------------------------------

    async def _fire_due(self) -> None:
        now = self._timer.now()
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            at, arn = heapq.heappop(self._heap)
            if self._next.get(arn) == at:  # else a re-plan replaced this entry
                del self._next[arn]
                due.append(arn)
        if due:
            await asyncio.gather(*(self._fire_one(arn, now) for arn in due))

    async def _fire_one(self, arn: str, now: float) -> None:
        rule = self._rules[arn]
        fired = latest_due(self._schedules[arn], self._after(rule), rule.anchor, now)
        if fired is None:  # the entry was due by the clock of an earlier plan
            self._plan(arn, self._after(rule), rule.anchor)
            return
        try:
            await self._fire(rule, fired)
        except NimbusError as error:  # the store refused the commit: nothing was fired
            logger.warning("scheduled rule %s not fired for %s, retrying: %s", arn, fired,
                           error.message)  # fmt: skip
            self._set_next(arn, now + RETRY_DELAY_S)
            return
        # a change meanwhile (delete, disable, new schedule) is re-planned after this
        self._marks[arn] = fired
        self._plan(arn, fired, rule.anchor)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the scheduler stopped unexpectedly", exc_info=task.exception())
