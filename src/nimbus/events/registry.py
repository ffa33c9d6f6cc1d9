"""Buses, rules and their targets: validated, durable before they are answered.

The registry keeps every bus and rule in memory (loaded from the store at start) and
hands the router a `RuleIndex` per bus, rebuilt when that bus's rules change; the
scheduler is told through `on_change` when a schedule may have moved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from nimbus.clock import Clock
from nimbus.errors import ValidationError
from nimbus.events import store
from nimbus.events.bus_errors import (
    InvalidEventPattern,
    LimitExceeded,
    bus_exists,
    no_bus,
    no_rule,
)
from nimbus.events.errors import PatternError
from nimbus.events.model import (
    DEFAULT_BUS,
    EventBus,
    Rule,
    RuleState,
    Target,
    TargetKind,
    bus_name_of,
    is_fifo_queue,
)
from nimbus.events.pages import page
from nimbus.events.pattern import EventPattern, PatternTooLong, compile_pattern
from nimbus.events.rule_index import RuleIndex
from nimbus.events.schedule import parse_schedule
from nimbus.events.store import EventStore
from nimbus.events.target_input import validate_target_input

MAX_TARGETS_PER_RULE = 5
MAX_RULES_PER_BUS = 300
MAX_BUSES = 100


def compile_checked(text: str, member: str = "eventPattern") -> EventPattern:
    """A pattern compiled with EventBridge's errors for the ones that do not compile."""
    try:
        return compile_pattern(text)
    except PatternTooLong as exc:
        raise ValidationError(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"{exc.reason}"
        ) from None
    except PatternError as exc:
        raise InvalidEventPattern.of(exc) from None


class EventRegistry:
    def __init__(self, events_store: EventStore, region: str, account: str, clock: Clock) -> None:
        self._store = events_store
        self._region, self._account, self._clock = region, account, clock
        self._buses: dict[str, EventBus] = {}
        self._rules: dict[str, dict[str, Rule]] = {}
        self._indexes: dict[str, RuleIndex] = {}
        self.on_change: list[Callable[[], None]] = []

    def load(self) -> None:
        self._buses = {bus.name: bus for bus in self._store.buses()}
        if DEFAULT_BUS not in self._buses:  # the first start: saved by `save_default`
            self._buses[DEFAULT_BUS] = EventBus(
                DEFAULT_BUS, self.bus_arn(DEFAULT_BUS), None, self._clock()
            )
        self._rules = {name: {} for name in self._buses}
        for rule in self._store.rules():
            self._rules.setdefault(rule.bus, {})[rule.name] = rule
        self._indexes.clear()

    async def save_default(self) -> None:
        """Keep the default bus's creation time from the first start on."""
        if all(bus.name != DEFAULT_BUS for bus in self._store.buses()):
            await self._store.commit([store.put_bus(self._buses[DEFAULT_BUS])])

    # -- buses ----------------------------------------------------------------------------

    def bus_arn(self, name: str) -> str:
        return f"arn:aws:events:{self._region}:{self._account}:event-bus/{name}"

    def bus(self, name_or_arn: str | None) -> EventBus:
        name = bus_name_of(name_or_arn or DEFAULT_BUS)
        found = self._buses.get(name)
        if found is None:
            raise no_bus(name)
        return found

    def buses(self) -> list[EventBus]:
        return list(self._buses.values())

    async def create_bus(self, name: str, description: str | None) -> EventBus:
        if name in self._buses:
            raise bus_exists(name)
        if name.startswith("aws.") or "/" in name:
            raise ValidationError(f"Event bus name {name} is not valid.")
        if len(self._buses) >= MAX_BUSES:
            raise LimitExceeded()
        bus = EventBus(name, self.bus_arn(name), description, self._clock())
        await self._store.commit([store.put_bus(bus)])
        self._buses[name] = bus
        self._rules[name] = {}
        return bus

    async def delete_bus(self, name: str) -> None:
        if name == DEFAULT_BUS:
            raise ValidationError("Cannot delete event bus default.")
        if name not in self._buses:
            return  # DeleteEventBus is idempotent
        await self._store.commit(store.delete_bus(name))
        del self._buses[name]
        self._rules.pop(name, None)
        self._changed(name)

    # -- rules ----------------------------------------------------------------------------

    def rule_arn(self, bus: str, name: str) -> str:
        path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
        return f"arn:aws:events:{self._region}:{self._account}:rule/{path}"

    def rule(self, name: str, bus: str | None) -> Rule:
        bus_name = self.bus(bus).name
        found = self._rules[bus_name].get(name)
        if found is None:
            raise no_rule(name, bus_name)
        return found

    def rules(self, bus: str | None) -> list[Rule]:
        return list(self._rules[self.bus(bus).name].values())

    def all_rules(self) -> Iterable[Rule]:
        for rules in self._rules.values():
            yield from rules.values()

    def rule_page(
        self, bus: str | None, prefix: str | None, token: str | None, limit: int | None
    ) -> tuple[list[Rule], str | None]:
        chosen = [r for r in self.rules(bus) if not prefix or r.name.startswith(prefix)]
        return page(chosen, lambda r: r.name, token, limit)

    def index(self, bus: str) -> RuleIndex:
        index = self._indexes.get(bus)
        if index is None:
            index = self._indexes[bus] = RuleIndex(list(self._rules.get(bus, {}).values()))
        return index

    async def put_rule(
        self,
        name: str,
        bus_name: str | None,
        *,
        pattern: str | None,
        schedule: str | None,
        state: str | None,
        description: str | None,
        role_arn: str | None,
    ) -> Rule:
        bus = self.bus(bus_name)
        if not pattern and not schedule:
            raise ValidationError(
                "Parameter(s) EventPattern or ScheduleExpression must be specified."
            )
        if schedule and bus.name != DEFAULT_BUS:
            raise ValidationError("ScheduleExpression is supported only on the default event bus.")
        compiled = compile_checked(pattern) if pattern else None
        if schedule:
            parse_schedule(schedule)
        rules = self._rules[bus.name]
        old = rules.get(name)
        if old is None and len(rules) >= MAX_RULES_PER_BUS:
            raise LimitExceeded()
        state_value = RuleState(state) if state else RuleState.ENABLED
        now = self._clock()
        woken = old is not None and not old.enabled and state_value is not RuleState.DISABLED
        moved = old is None or old.schedule != schedule or woken
        rule = Rule(
            bus=bus.name,
            name=name,
            arn=self.rule_arn(bus.name, name),
            state=state_value,
            pattern=compiled,
            schedule=schedule,
            description=description,
            role_arn=role_arn,
            anchor=now if moved or old is None else old.anchor,
            targets=old.targets if old else (),
        )
        await self._save(rule)
        return rule

    async def set_state(self, name: str, bus: str | None, state: RuleState) -> None:
        rule = self.rule(name, bus)
        if rule.state is state:
            return
        anchor = self._clock() if state is RuleState.ENABLED else rule.anchor
        await self._save(replace(rule, state=state, anchor=anchor))

    async def delete_rule(self, name: str, bus: str | None) -> None:
        rule = self._rules[self.bus(bus).name].get(name)
        if rule is None:
            return  # DeleteRule of a rule that does not exist succeeds
        if rule.targets:
            raise ValidationError("Rule can't be deleted since it has targets.")
        await self._store.commit(store.delete_rule(rule))
        del self._rules[rule.bus][rule.name]
        self._changed(rule.bus)

    # -- targets --------------------------------------------------------------------------

    async def put_targets(self, rule_name: str, bus: str | None, targets: Sequence[Target]) -> Rule:
        rule = self.rule(rule_name, bus)
        merged = {t.id: t for t in rule.targets}
        for target in targets:
            validate_target_input(target.id, target.input)
            self._check_dead_letter(target)
            fifo = target.kind is TargetKind.QUEUE and is_fifo_queue(target.arn)
            if fifo and not target.message_group_id:
                raise ValidationError(
                    f"Parameter(s) SqsParameters must be specified for target: {target.id}."
                )
            merged[target.id] = target
        if len(merged) > MAX_TARGETS_PER_RULE:
            raise LimitExceeded()
        updated = replace(rule, targets=tuple(merged.values()))
        await self._save(updated)
        return updated

    async def remove_targets(self, rule_name: str, bus: str | None, ids: Sequence[str]) -> None:
        rule = self.rule(rule_name, bus)
        kept = tuple(t for t in rule.targets if t.id not in set(ids))
        if kept != rule.targets:
            await self._save(replace(rule, targets=kept))

    def _check_dead_letter(self, target: Target) -> None:
        arn = target.dead_letter_arn
        if arn is None:
            return
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
            raise ValidationError(
                f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
            )
        if parts[3] != self._region:
            raise ValidationError("Dead letter queue must be in the same region as the rule.")
        if parts[5].endswith(".fifo"):
            raise ValidationError("FIFO queues are not supported as dead-letter queues.")

    async def _save(self, rule: Rule) -> None:
        await self._store.commit([store.put_rule(rule)])
        self._rules[rule.bus][rule.name] = rule
        self._changed(rule.bus)

    def _changed(self, bus: str) -> None:
        self._indexes.pop(bus, None)
        for listener in self.on_change:
            listener()
