"""Replays: an archive's events sent back to its bus's rules, resumable after a crash.

StartReplay stores the replay (STARTING) and starts its task, one asyncio task per
replay on the router's timer. The task marks it RUNNING, then takes the archived events
whose event time is in [EventStartTime, EventEndTime) in (time, sequence) order, a batch
at a time, and hands each batch to `router.put_replayed`: every event carries
`"replay-name": <name>` and is matched by the destination bus's enabled rules (only
Destination.FilterArns, when given), and its delivery rows go through the dispatcher
like any other event's.

The replay's cursor (the time and sequence number of the last event it handed over) is
committed in the SAME transaction as the delivery rows of that batch, so a kill -9
between batches or during one resumes (`start`) exactly after the last committed batch:
no event is lost or delivered twice by the replay. `batch_interval_s` paces the batches
(AWS replays a minute of event time at a time; nimbus goes as fast as its settings say).

CancelReplay moves a STARTING or RUNNING replay to CANCELLING and wakes its task, which
stops before its next batch and marks it CANCELLED (a cancel during a batch lets that
batch's commit finish). States change in memory and are submitted to the store in the
same step, and the store applies commits in order, so a finishing task never overwrites
a cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, replace

from nimbus.errors import NimbusError, ValidationError
from nimbus.events import store
from nimbus.events.archive import REPLAY_NAME, Archives, event_key
from nimbus.events.bus_errors import IllegalStatus, LimitExceeded, no_bus, no_replay, replay_exists
from nimbus.events.envelope import Envelope
from nimbus.events.model import Replay, ReplayState, bus_name_of
from nimbus.events.pages import page
from nimbus.events.registry import EventRegistry
from nimbus.events.router import EventRouter
from nimbus.events.store import EventStore
from nimbus.events.timer import Timer

logger = logging.getLogger(__name__)

MAX_ACTIVE_REPLAYS = 10  # per account and region, as AWS
CROSS_BUS = (
    "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted."
)
BAD_WINDOW = (
    "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
)
# Not recorded from AWS: the form EventBridge uses for ARNs it cannot parse (PutTargets).
BAD_DESTINATION = (
    "Parameter Destination.Arn is not valid. Reason: Provided Arn is not in correct format."
)
CANCELLABLE = (ReplayState.STARTING, ReplayState.RUNNING)
CANCELLED_FIRST = (ReplayState.RUNNING, ReplayState.COMPLETED)
ENDED = (ReplayState.COMPLETED, ReplayState.CANCELLED, ReplayState.FAILED)


def cannot_cancel(name: str, state: ReplayState) -> IllegalStatus:
    # No recorded AWS text: the model documents IllegalStatusException as "a replay can be
    # canceled only when the state is Running or Starting"; nimbus names the replay.
    return IllegalStatus(
        f"Replay {name} can be cancelled only when its state is STARTING or RUNNING; "
        f"it is {state.value}."
    )


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    batch_size: int = 100
    batch_interval_s: float = 0.0  # a pause between batches (slow replays in tests)


def replayed(text: str, name: str) -> Envelope:
    """An archived envelope as a replay delivers it: `replay-name` where AWS puts it."""
    fields = json.loads(text)
    out = {}
    for key, value in fields.items():
        if key == "resources":
            out[REPLAY_NAME] = name
        out[key] = value
    out.setdefault(REPLAY_NAME, name)
    return Envelope(event_key(out), out)


class Replays:
    def __init__(
        self,
        events_store: EventStore,
        archives: Archives,
        registry: EventRegistry,
        router: EventRouter,
        timer: Timer,
        settings: ReplaySettings | None = None,
    ) -> None:
        self._store = events_store
        self._archives, self._registry, self._router = archives, registry, router
        self._timer = timer
        self._settings = settings or ReplaySettings()
        self._replays: dict[str, Replay] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakes: dict[str, asyncio.Event] = {}

    def load(self) -> None:
        self._replays = {r.name: r for r in self._store.replays()}

    async def start(self) -> None:
        """Resume every replay a stop or crash interrupted, from its committed cursor."""
        for replay in list(self._replays.values()):
            if replay.state is ReplayState.CANCELLING:
                await self._move(replay.name, ReplayState.CANCELLED)
            elif replay.state in CANCELLABLE:
                self._spawn(replay.name)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the API --------------------------------------------------------------------------

    def get(self, name: str) -> Replay:
        found = self._replays.get(name)
        if found is None:
            raise no_replay(name)
        return found

    def page(
        self,
        prefix: str | None = None,
        state: str | None = None,
        source_arn: str | None = None,
        token: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[Replay], str | None]:
        chosen = [
            r
            for r in self._replays.values()
            if (not prefix or r.name.startswith(prefix))
            and (state is None or r.state.value == state)
            and (source_arn is None or r.archive_arn == source_arn)
        ]
        return page(chosen, lambda r: r.name, token, limit)

    async def start_replay(
        self,
        name: str,
        source_arn: str,
        start: float,
        end: float,
        destination: str,
        filter_arns: tuple[str, ...] = (),
        description: str | None = None,
    ) -> Replay:
        if name in self._replays:
            raise replay_exists(name)
        archive = self._archives.find(source_arn)
        if archive is None:
            raise ValidationError(
                "Parameter EventSourceArn is not valid. Reason: Archive "
                f"{source_arn.rpartition('/')[2]} does not exist."
            )
        if start >= end:
            raise ValidationError(BAD_WINDOW)
        self._check_destination(destination, archive.bus_arn)
        if sum(r.state.active for r in self._replays.values()) >= MAX_ACTIVE_REPLAYS:
            raise LimitExceeded()
        replay = Replay(
            name, self._arn(name), archive.arn, description, start, end, destination,
            filter_arns, ReplayState.STARTING, None, self._timer.now(),
        )  # fmt: skip
        await self._store.commit([store.put_replay(replay)])
        self._replays[name] = replay
        self._spawn(name)
        return replay

    async def cancel(self, name: str) -> Replay:
        replay = self.get(name)
        if replay.state not in CANCELLABLE:
            raise cannot_cancel(name, replay.state)
        await self._move(name, ReplayState.CANCELLING)
        self._wakes[name].set()
        # as AWS answers: CANCELLING, even when the task was quicker to reach CANCELLED
        return replace(replay, state=ReplayState.CANCELLING)

    async def wait(self, name: str) -> Replay:
        """Until the replay's task has ended (tests)."""
        task = self._tasks.get(name)
        if task is not None:
            await asyncio.shield(task)
        return self.get(name)

    # -- the task -------------------------------------------------------------------------

    def _spawn(self, name: str) -> None:
        self._wakes[name] = asyncio.Event()
        task = asyncio.create_task(self._run(name), name=f"events-replay-{name}")
        self._tasks[name] = task
        task.add_done_callback(lambda _: self._tasks.pop(name, None))

    async def _run(self, name: str) -> None:
        try:
            await self._move(name, ReplayState.RUNNING)
            while self._replays[name].state is ReplayState.RUNNING:
                if not await self._next_batch(self._replays[name]):
                    await self._move(name, ReplayState.COMPLETED)
                    return
                pause = self._settings.batch_interval_s
                await self._timer.wait(self._timer.now() + pause, self._wakes[name])
            if self._replays[name].state is ReplayState.CANCELLING:
                await self._move(name, ReplayState.CANCELLED)
        except NimbusError as error:  # events.db refused a commit: the replay cannot go on
            logger.error("replay %s failed: %s", name, error.message)
            await self._move(name, ReplayState.FAILED, error.message)

    async def _next_batch(self, replay: Replay) -> bool:
        """Hand over the next batch with its cursor; False when the window is done (a
        short batch was the last one: no pause before saying so)."""
        archive = replay.archive_arn.rpartition(":archive/")[2]
        after = replay.last_replayed if replay.last_replayed is not None else replay.start
        size = self._settings.batch_size
        rows = self._store.archived_after(archive, (after, replay.cursor), replay.end, size)
        if rows:
            seq, when, _ = rows[-1]
            await self._router.put_replayed(
                bus_name_of(replay.destination),
                [replayed(text, replay.name) for _, _, text in rows],
                frozenset(replay.filter_arns),
                [store.replay_progress(replay.name, seq, when)],
            )
            self._replays[replay.name] = replace(
                self._replays[replay.name], cursor=seq, last_replayed=when
            )
        return len(rows) == size

    async def _move(self, name: str, to: ReplayState, reason: str | None = None) -> None:
        """Change a replay's state in memory and submit it to the store in one step; a
        cancel that came first turns RUNNING or COMPLETED into CANCELLED."""
        current = self._replays[name]
        if current.state is ReplayState.CANCELLING and to in CANCELLED_FIRST:
            to = ReplayState.CANCELLED
        ended = self._timer.now() if to in ENDED else None
        self._replays[name] = replace(current, state=to, ended=ended, reason=reason)
        await self._store.commit([store.replay_state(name, to, ended, reason)])

    # -- inside ---------------------------------------------------------------------------

    def _arn(self, name: str) -> str:
        return self._registry.bus_arn(name).replace(":event-bus/", ":replay/", 1)

    def _check_destination(self, destination: str, archive_bus_arn: str) -> None:
        if ":event-bus/" not in destination:
            raise ValidationError(BAD_DESTINATION)
        name = bus_name_of(destination)
        bus = self._registry.bus(name)
        if bus.arn != destination:
            raise no_bus(name)
        if bus.arn != archive_bus_arn:
            raise ValidationError(CROSS_BUS)
