"""PutEvents: entries checked, events matched, committed with their deliveries, answered.

Durable before acknowledged: every accepted event that matched a rule is written with one
delivery row per (matching enabled rule, target) in one group commit, and only then
handed to the dispatcher and answered. Matching uses the bus's `RuleIndex` (compiled
patterns, filed by their most selective exact value).

Bus targets and cycles: an event forwarded to another bus is matched there against that
bus's rules, and carries the list of buses it has passed through (its trail, stored with
the delivery, never shown to targets). A bus target naming a bus already on the trail is
skipped, so a configuration that routes A → B → A delivers each event to each bus once
and never loops, while chains without a cycle (A → B → C) work. The event keeps its id.

Archives (archive.py): an event accepted on a bus gets a row in every archive of that bus
that wants it, in the same commit as its delivery rows. Replays (replay.py) come back
through `put_replayed`, which adds the replay's cursor to the commit of the rows it made.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nimbus.clock import Clock
from nimbus.errors import ResourceNotFound
from nimbus.events import store
from nimbus.events.archive import Archives, Captured, event_key
from nimbus.events.dispatcher import Dispatcher
from nimbus.events.envelope import (
    EntryFailure,
    Envelope,
    EventEntry,
    build_envelope,
    check_entry,
    check_total_size,
    iso_time,
)
from nimbus.events.model import Rule, Target, TargetKind, bus_name_of
from nimbus.events.registry import EventRegistry
from nimbus.events.store import EventStore, PendingDelivery
from nimbus.events.tap import EventTap
from nimbus.events.target_input import TargetInput, render_target_input
from nimbus.events.targets import TargetMissing
from nimbus.store.groupcommit import Statement

logger = logging.getLogger(__name__)
EMPTY_INPUT = TargetInput()


@dataclass(frozen=True, slots=True)
class Accepted:
    event_id: str


EntryResult = Accepted | EntryFailure
Passed = tuple[str, Envelope, tuple[str, ...]]  # bus, event, names of the rules it matched


@dataclass
class _Batch:
    """What one call commits at once, and what to do once it is committed."""

    statements: list[Statement] = field(default_factory=list)
    deliveries: list[PendingDelivery] = field(default_factory=list)
    captured: list[Captured] = field(default_factory=list)
    passed: list[Passed] = field(default_factory=list)


class EventRouter:
    def __init__(
        self,
        registry: EventRegistry,
        events_store: EventStore,
        dispatcher: Dispatcher,
        *,
        account: str,
        region: str,
        clock: Clock,
        max_request_size: int,
        tap: EventTap | None = None,
        archives: Archives | None = None,
    ) -> None:
        self._registry = registry
        self._archives = archives
        self._tap = tap or EventTap()
        self._store = events_store
        self._dispatcher = dispatcher
        self._account, self._region, self._clock = account, region, clock
        self._max_request_size = max_request_size
        self._ids = itertools.count(events_store.last_delivery_id() + 1)

    async def put_events(self, entries: Sequence[EventEntry]) -> list[EntryResult]:
        """One result per entry, in order; whole-request errors raise before any is kept."""
        check_total_size(entries, self._max_request_size)
        buses = [self._registry.bus(entry.bus).name for entry in entries]
        now = self._clock()
        results: list[EntryResult] = []
        batch = _Batch()
        for entry, bus in zip(entries, buses, strict=True):
            checked = check_entry(entry)
            if isinstance(checked, EntryFailure):
                results.append(checked)
                continue
            envelope = build_envelope(
                entry, checked, account=self._account, region=self._region, now=now
            )
            self._route(bus, envelope, (), now, batch)
            results.append(Accepted(envelope.id))
        await self._commit(batch)
        return results

    async def put_envelope(self, bus: str, fields: dict[str, Any]) -> None:
        """A whole event from the platform itself (S3's EventBridge notifications)."""
        envelope = Envelope(str(fields["id"]), fields)
        name = self._registry.bus(bus).name
        batch = _Batch()
        self._route(name, envelope, (), self._clock(), batch)
        await self._commit(batch)

    async def forward(self, bus: str, event: str, trail: tuple[str, ...]) -> None:
        """A bus target's delivery: the event onto `bus`, matched by that bus's rules."""
        try:
            name = self._registry.bus(bus).name
        except ResourceNotFound as error:
            raise TargetMissing(error.message) from None
        fields = json.loads(event)
        envelope = Envelope(event_key(fields), fields)
        batch = _Batch()
        self._route(name, envelope, trail, self._clock(), batch)
        await self._commit(batch)

    async def put_to_rule(
        self, rule: Rule, envelope: Envelope, also: Sequence[Statement] = ()
    ) -> None:
        """`envelope` for `rule`'s targets only, matched against no pattern (a scheduled
        firing): its rows and `also` (the schedule mark) in one commit, `also` even when no
        target gets the event, so the mark is never skipped."""
        now = self._clock()
        text = envelope.text
        found = [
            delivery
            for target in rule.targets
            if not self._loops(target, rule.bus, ())
            and (delivery := self._delivery(rule, target, envelope, text, (rule.bus,), now))
        ]
        batch = _Batch(list(also), found, passed=[(rule.bus, envelope, (rule.name,))])
        if found:
            batch.statements.append(store.insert_event(envelope.id, text, now))
            batch.statements.extend(store.insert_delivery(d) for d in found)
        await self._commit(batch)

    async def put_replayed(
        self,
        bus: str,
        envelopes: Sequence[Envelope],
        only: frozenset[str],
        also: Sequence[Statement],
    ) -> None:
        """A replay's batch onto `bus`: matched by its rules (only those whose ARN is in
        `only`, unless it is empty), their rows and `also` (the replay's cursor) in ONE
        commit, so a crash neither loses nor repeats a replayed event."""
        now = self._clock()
        batch = _Batch(list(also))
        for envelope in envelopes:
            self._route(bus, envelope, (), now, batch, only)
        await self._commit(batch)

    def _route(
        self,
        bus: str,
        envelope: Envelope,
        trail: tuple[str, ...],
        now: float,
        batch: _Batch,
        only: frozenset[str] = frozenset(),
    ) -> None:
        """Delivery rows (and the event's row) for every target of every matching rule,
        and the event's archive rows, added to `batch`."""
        found: list[PendingDelivery] = []
        text: str | None = None
        if self._archives is not None and self._archives.watches(bus):
            text = envelope.text
            captured = self._archives.capture(bus, envelope.fields, text, now)
            batch.captured.extend(captured)
            batch.statements.extend(c.statement for c in captured)
        matched = self._registry.index(bus).matching(envelope.fields)
        if only:
            matched = [rule for rule in matched if rule.arn in only]
        for rule in matched:
            for target in rule.targets:
                if self._loops(target, bus, trail):
                    continue
                text = text if text is not None else envelope.text
                delivery = self._delivery(rule, target, envelope, text, (*trail, bus), now)
                if delivery is not None:
                    found.append(delivery)
        if found and text is not None:
            batch.statements.append(store.insert_event(envelope.id, text, now))
            batch.statements.extend(store.insert_delivery(d) for d in found)
            batch.deliveries.extend(found)
        batch.passed.append((bus, envelope, tuple(rule.name for rule in matched)))

    def _loops(self, target: Target, bus: str, trail: tuple[str, ...]) -> bool:
        if target.kind is not TargetKind.BUS:
            return False
        name = bus_name_of(target.arn)
        if name == bus or name in trail:
            logger.info("event not forwarded from %s to %s: it has been there", bus, name)
            return True
        return False

    def _delivery(
        self,
        rule: Rule,
        target: Target,
        envelope: Envelope,
        text: str,
        trail: tuple[str, ...],
        now: float,
    ) -> PendingDelivery | None:
        payload: str | None = None
        if target.kind is not TargetKind.BUS and target.input != EMPTY_INPUT:
            payload = render_target_input(
                target.input, envelope.fields, rule_arn=rule.arn, rule_name=rule.name,
                ingestion_time=iso_time(now),
            )  # fmt: skip
            if payload is None:  # the transformer produced nothing deliverable (§1.11)
                return None
        return PendingDelivery(
            next(self._ids), envelope.id, text, now, target, rule.arn, payload, 0, now, trail
        )

    async def _commit(self, batch: _Batch) -> None:
        if batch.statements:
            await self._store.commit(batch.statements)
            self._dispatcher.add(batch.deliveries)
            if self._archives is not None:
                self._archives.counted(batch.captured)
        for bus, envelope, rules in batch.passed:  # accepted now: show them to `events tail`
            self._tap.record(bus, envelope.fields, rules)
