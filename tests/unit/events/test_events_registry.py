"""Buses, rules and targets in-process: EventBridge's rules and texts, kept across restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from events_harness import ACCOUNT, DLQ, QUEUE, REGION, Harness

from nimbus.errors import ResourceAlreadyExists, ResourceNotFound, ValidationError
from nimbus.events.bus_errors import InvalidEventPattern, LimitExceeded
from nimbus.events.model import RetryPolicy, RuleState, Target
from nimbus.events.service import EventsService
from nimbus.events.target_input import TargetInput
from nimbus.events.timer import ManualTimer

PATTERN = json.dumps({"source": ["my.app"]})


def test_buses_default_always_exists_and_errors_are_aws_texts(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        assert (
            s.describe_event_bus(None).arn == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
        )
        bus = await s.create_event_bus("orders", "the orders")
        assert bus.arn.endswith(":event-bus/orders") and bus.description == "the orders"
        assert s.describe_event_bus(bus.arn).name == "orders"
        with pytest.raises(ResourceAlreadyExists, match=r"^Event bus orders already exists\.$"):
            await s.create_event_bus("orders")
        with pytest.raises(ResourceNotFound, match=r"^Event bus nope does not exist\.$"):
            s.describe_event_bus("nope")
        with pytest.raises(ValidationError, match=r"^Cannot delete event bus default\.$"):
            await s.delete_event_bus("default")
        await s.create_event_bus("other")
        first, token = s.list_event_buses(limit=2)
        assert [b.name for b in first] == ["default", "orders"] and token
        rest, token = s.list_event_buses(token=token, limit=2)
        assert [b.name for b in rest] == ["other"] and token is None
        assert [b.name for b in s.list_event_buses(prefix="o")[0]] == ["orders", "other"]
        await s.delete_event_bus("other")
        await s.delete_event_bus("other")  # idempotent
        assert [b.name for b in s.list_event_buses()[0]] == ["default", "orders"]

    Harness(tmp_path / "events.db").run(body)


def test_rules_upsert_validate_and_page(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        rule = await s.put_rule("r1", pattern=PATTERN, description="d")
        assert rule.arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/r1"
        assert rule.state is RuleState.ENABLED and rule.pattern is not None
        await s.create_event_bus("orders")
        custom = await s.put_rule("r1", "orders", pattern=PATTERN)
        assert custom.arn.endswith(":rule/orders/r1")
        with pytest.raises(InvalidEventPattern, match=r"^Event pattern is not valid\. Reason: "
                           r"Filter is not an object"):  # fmt: skip
            await s.put_rule("bad", pattern='["a"]')
        with pytest.raises(ValidationError, match="only on the default event bus"):
            await s.put_rule("s", "orders", schedule="rate(5 minutes)")
        with pytest.raises(ValidationError, match=r"^Parameter ScheduleExpression is not valid\."):
            await s.put_rule("s", schedule="rate(1 minutes)")
        with pytest.raises(ValidationError):
            await s.put_rule("neither")
        with pytest.raises(
            ResourceNotFound, match=r"^Rule r9 does not exist on EventBus default\.$"
        ):
            s.describe_rule("r9")
        updated = await s.put_rule("r1", pattern=PATTERN, state="DISABLED")
        assert updated.state is RuleState.DISABLED and updated.description is None
        await s.enable_rule("r1")
        assert s.describe_rule("r1").state is RuleState.ENABLED
        for name in ("a1", "a2", "b1"):
            await s.put_rule(name, pattern=PATTERN)
        page, token = s.list_rules(prefix="a", limit=1)
        assert [r.name for r in page] == ["a1"] and token
        assert [r.name for r in s.list_rules(prefix="a", token=token)[0]] == ["a2"]

    Harness(tmp_path / "events.db").run(body)


def test_targets_limits_and_checks(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.put_rule("r", pattern=PATTERN)
        five = [Target(f"t{i}", QUEUE) for i in range(5)]
        assert await s.put_targets("r", None, five) == []
        with pytest.raises(LimitExceeded, match=r"^The requested resource exceeds the maximum"):
            await s.put_targets("r", None, [Target("t5", QUEUE)])
        await s.put_targets("r", None, [Target("t0", DLQ)])  # replacing one is no new target
        with pytest.raises(
            ValidationError, match=r"^Rule can't be deleted since it has targets\.$"
        ):
            await s.delete_rule("r")
        failed = await s.put_targets("r", None, [Target("t1", "arn:aws:sns:us-east-1:1:topic")])
        assert [f.target_id for f in failed] == ["t1"]
        assert s.list_targets_by_rule("r")[0][1].arn == QUEUE  # t1 untouched
        with pytest.raises(ValidationError, match="Provided Arn is not in correct format"):
            await s.put_targets("r", None, [Target("x", "not-an-arn")])
        fifo = QUEUE + ".fifo"
        with pytest.raises(
            ValidationError, match=r"SqsParameters must be specified for target: t1\."
        ):
            await s.put_targets("r", None, [Target("t1", fifo)])
        with pytest.raises(ValidationError, match="FIFO"):
            await s.put_targets("r", None, [Target("t1", QUEUE, dead_letter_arn=fifo)])
        both = TargetInput(input="{}", input_path="$.detail")
        with pytest.raises(ValidationError, match=r"^Only one of Input, InputPath, or Input"):
            await s.put_targets("r", None, [Target("t1", QUEUE, input=both)])
        await s.remove_targets("r", None, [f"t{i}" for i in range(5)])
        assert s.list_targets_by_rule("r")[0] == []
        await s.delete_rule("r")
        await s.delete_rule("r")  # a rule that is gone deletes quietly

    Harness(tmp_path / "events.db").run(body)


def test_rules_and_targets_survive_a_restart(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    target = Target(
        "t", QUEUE + ".fifo", retry=RetryPolicy(3, None), dead_letter_arn=DLQ,
        message_group_id="g", input=TargetInput(input_path="$.detail"),
    )  # fmt: skip

    async def first(s: EventsService, _: ManualTimer) -> float:
        await s.create_event_bus("orders")
        await s.put_rule("r", "orders", pattern=PATTERN, state="DISABLED")
        await s.put_targets("r", "orders", [target])
        return s.describe_event_bus(None).created

    async def second(s: EventsService, _: ManualTimer) -> float:
        rule = s.describe_rule("r", "orders")
        assert rule.state is RuleState.DISABLED and rule.pattern and rule.pattern.text == PATTERN
        assert rule.targets == (target,)
        assert s.list_rule_names_by_target(target.arn, "orders")[0] == ["r"]
        return s.describe_event_bus(None).created

    assert harness.run(first) == harness.run(second)
