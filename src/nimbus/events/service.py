"""EventsService: EventBridge's buses, rules, targets and PutEvents (no HTTP here).

The service is the facade the gateway and the platform call. It owns:

    EventStore (events.db) ── EventRegistry (buses, rules, targets; RuleIndex per bus)
                          ├── EventRouter (PutEvents: check, match, commit, hand over)
                          ├── Archives (archive.py: rows in the router's commits, retention)
                          ├── Replays (replay.py: archived events back through the router)
                          ├── Scheduler (schedule rules: a Scheduled Event per time,
                          │             committed through the router with its mark)
                          └── Dispatcher (deliver, retry, dead-letter) ── TargetDeliverer
                                                                          └── DeliveryTargets

`start` reloads the pending deliveries and starts the dispatcher, the scheduler, the
archive sweeper and every unfinished replay; `stop` ends them, leaving every undelivered
row and replay cursor in the store for the next start. The gateway reaches archives and
replays through `archives` and `replays`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nimbus.errors import ValidationError
from nimbus.events.archive import Archives, keep_swept
from nimbus.events.delivery import TargetDeliverer
from nimbus.events.dispatcher import Dispatcher
from nimbus.events.envelope import EventEntry
from nimbus.events.firing import fire_scheduled
from nimbus.events.model import DEFAULT_BUS, EventBus, Rule, RuleState, Target, target_kind
from nimbus.events.pages import page
from nimbus.events.registry import EventRegistry, compile_checked
from nimbus.events.replay import Replays, ReplaySettings
from nimbus.events.retry import RetrySettings
from nimbus.events.router import EntryResult, EventRouter
from nimbus.events.scheduler import Scheduler
from nimbus.events.store import EventStore
from nimbus.events.tap import EventTap
from nimbus.events.targets import DeliveryTargets
from nimbus.events.timer import Timer

EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


@dataclass(frozen=True, slots=True)
class EventsLimits:
    max_request_size: int = 262_144
    delivery_concurrency: int = 64
    replay: ReplaySettings = field(default_factory=ReplaySettings)
    archive_sweep_interval_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class TargetFailure:
    """A PutTargets entry that was not added; the others were."""

    target_id: str
    code: str
    message: str


class EventsService:
    def __init__(
        self,
        store_path: Path,
        targets: DeliveryTargets,
        timer: Timer,
        *,
        region: str,
        account: str,
        retry: RetrySettings | None = None,
        limits: EventsLimits | None = None,
    ) -> None:
        limits = limits or EventsLimits()
        self.store = EventStore(store_path)
        self.registry = EventRegistry(self.store, region, account, timer.now)
        self.registry.load()
        self.archives = Archives(self.store, self.registry, timer.now)
        self.archives.load()
        self._timer, self._sweep_interval_s = timer, limits.archive_sweep_interval_s
        self._sweeper: asyncio.Task[None] | None = None
        deliverer = TargetDeliverer(targets, self._forward)
        self.dispatcher = Dispatcher(
            self.store, deliverer, timer, retry or RetrySettings(), limits.delivery_concurrency
        )
        self.tap = EventTap()
        self.router = EventRouter(
            self.registry, self.store, self.dispatcher, account=account, region=region,
            clock=timer.now, max_request_size=limits.max_request_size, tap=self.tap,
            archives=self.archives,
        )  # fmt: skip
        self.replays = Replays(
            self.store, self.archives, self.registry, self.router, timer, limits.replay
        )
        self.replays.load()
        self.scheduler = Scheduler(
            self.registry, self.store.schedule_marks,
            fire_scheduled(self.router, account=account, region=region), timer,
        )  # fmt: skip

    async def _forward(self, bus: str, event: str, trail: tuple[str, ...]) -> None:
        await self.router.forward(bus, event, trail)

    async def start(self) -> None:
        await self.registry.save_default()
        self.dispatcher.add(self.store.deliveries())
        self.dispatcher.start()
        self.scheduler.start()  # after the dispatcher: a missed time fires at once
        await self.replays.start()
        self._sweeper = asyncio.create_task(
            keep_swept(self.archives, self._timer, self._sweep_interval_s), name="events-archives"
        )

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.replays.stop()
        await self.scheduler.stop()
        await self.dispatcher.stop()
        self.store.close()

    # -- buses ----------------------------------------------------------------------------

    async def create_event_bus(self, name: str, description: str | None = None) -> EventBus:
        return await self.registry.create_bus(name, description)

    def describe_event_bus(self, name: str | None) -> EventBus:
        return self.registry.bus(name)

    def list_event_buses(
        self, prefix: str | None = None, token: str | None = None, limit: int | None = None
    ) -> tuple[list[EventBus], str | None]:
        chosen = [b for b in self.registry.buses() if not prefix or b.name.startswith(prefix)]
        return page(chosen, lambda b: b.name, token, limit)

    async def delete_event_bus(self, name: str) -> None:
        await self.registry.delete_bus(name)

    # -- rules ----------------------------------------------------------------------------

    async def put_rule(
        self,
        name: str,
        bus: str | None = None,
        *,
        pattern: str | None = None,
        schedule: str | None = None,
        state: str | None = None,
        description: str | None = None,
        role_arn: str | None = None,
    ) -> Rule:
        if state is not None and state not in RuleState.__members__:
            raise ValidationError(f"Parameter State is not valid: {state}.")
        return await self.registry.put_rule(
            name, bus, pattern=pattern, schedule=schedule, state=state,
            description=description, role_arn=role_arn,
        )  # fmt: skip

    def describe_rule(self, name: str, bus: str | None = None) -> Rule:
        return self.registry.rule(name, bus)

    def list_rules(
        self,
        bus: str | None = None,
        prefix: str | None = None,
        token: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[Rule], str | None]:
        return self.registry.rule_page(bus, prefix, token, limit)

    async def enable_rule(self, name: str, bus: str | None = None) -> None:
        await self.registry.set_state(name, bus, RuleState.ENABLED)

    async def disable_rule(self, name: str, bus: str | None = None) -> None:
        await self.registry.set_state(name, bus, RuleState.DISABLED)

    async def delete_rule(self, name: str, bus: str | None = None) -> None:
        await self.registry.delete_rule(name, bus)

    def list_rule_names_by_target(
        self,
        target_arn: str,
        bus: str | None = None,
        token: str | None = None,
        limit: int | None = None,
    ) -> tuple[list[str], str | None]:
        names = [
            rule.name
            for rule in self.registry.rules(bus)
            if any(t.arn == target_arn for t in rule.targets)
        ]
        return page(names, lambda n: n, token, limit)

    # -- targets --------------------------------------------------------------------------

    async def put_targets(
        self, rule: str, bus: str | None, targets: Sequence[Target]
    ) -> list[TargetFailure]:
        """Add or replace targets; those nimbus cannot deliver to fail on their own."""
        self.registry.rule(rule, bus)
        failed = [
            TargetFailure(t.id, "ValidationException", _unsupported(t.arn))
            for t in targets
            if target_kind(t.arn) is None
        ]
        refused = {f.target_id for f in failed}
        kept = [t for t in targets if t.id not in refused]
        if kept:
            await self.registry.put_targets(rule, bus, kept)
        return failed

    def list_targets_by_rule(
        self, rule: str, bus: str | None = None, token: str | None = None, limit: int | None = None
    ) -> tuple[list[Target], str | None]:
        return page(self.registry.rule(rule, bus).targets, lambda t: t.id, token, limit)

    async def remove_targets(self, rule: str, bus: str | None, ids: Sequence[str]) -> None:
        await self.registry.remove_targets(rule, bus, ids)

    # -- events ---------------------------------------------------------------------------

    async def put_events(self, entries: Sequence[EventEntry]) -> list[EntryResult]:
        return await self.router.put_events(entries)

    async def put_event(self, event: dict[str, Any], bus: str = DEFAULT_BUS) -> None:
        """A whole event from the platform (S3's EventBridge notifications)."""
        await self.router.put_envelope(bus, event)

    def test_event_pattern(self, pattern: str, event: str) -> bool:
        compiled = compile_checked(pattern)
        try:
            decoded = json.loads(event)
        except (ValueError, RecursionError):
            decoded = None
        if not isinstance(decoded, dict) or any(f not in decoded for f in EVENT_FIELDS):
            raise ValidationError("Parameter Event is not valid.")
        return compiled.matches(decoded)


def _unsupported(arn: str) -> str:
    return (
        f"Parameter {arn} is not valid. Reason: nimbus delivers events to Lambda functions, "
        "SQS queues and event buses only."
    )
