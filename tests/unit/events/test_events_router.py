"""PutEvents in-process: per-entry and whole-request errors, the envelope, durable rows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from events_harness import ACCOUNT, FUNCTION, QUEUE, REGION, START, Harness, entry

from nimbus.errors import ResourceNotFound, ValidationError
from nimbus.events.envelope import EntryFailure, EventEntry
from nimbus.events.model import Target
from nimbus.events.router import Accepted
from nimbus.events.service import EventsService
from nimbus.events.target_input import InputTransformer, TargetInput
from nimbus.events.timer import ManualTimer

MATCH_APP = json.dumps({"source": ["my.app"]})


def test_per_entry_failures_do_not_fail_the_call(tmp_path: Path) -> None:
    async def body(s: EventsService, _: ManualTimer) -> None:
        results = await s.put_events([
            entry(),
            EventEntry(detail_type="t", detail="{}"),
            EventEntry(source="s", detail="{}"),
            EventEntry(source="s", detail_type="t"),
            entry(detail_text="[1]"),
            entry(detail_text="{bad"),
            entry(detail_text='{"n": 9223372036854775808}'),
        ])  # fmt: skip
        assert isinstance(results[0], Accepted)
        failures = [(r.code, r.message) for r in results[1:] if isinstance(r, EntryFailure)]
        assert failures == [
            ("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."),
            ("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."),
            ("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."),
            ("MalformedDetail", "Detail is malformed."),
            ("MalformedDetail", "Detail is malformed."),
            ("MalformedDetail", "Detail is malformed."),
        ]  # fmt: skip

    Harness(tmp_path / "events.db").run(body)


def test_whole_request_errors_keep_nothing(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db", max_request_size=100)

    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.put_rule("r", pattern=MATCH_APP)
        await s.put_targets("r", None, [Target("q", QUEUE)])
        with pytest.raises(
            ValidationError, match=r"^Total size of the entries in the request is over the limit\.$"
        ):
            await s.put_events([entry(detail={"x": "y" * 100})])
        with pytest.raises(ResourceNotFound, match=r"^Event bus nope does not exist\.$"):
            await s.put_events([entry(), entry(bus="nope")])
        assert s.store.deliveries() == [] and s.dispatcher.pending == 0

    harness.run(body)


def test_an_accepted_event_is_stored_with_a_row_per_matching_target(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    harness.targets.gates[QUEUE] = gate = asyncio.Event()  # hold the delivery

    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.put_rule("app", pattern=MATCH_APP)
        await s.put_rule("off", pattern=MATCH_APP, state="DISABLED")
        await s.put_rule("other", pattern=json.dumps({"source": ["other"]}))
        for rule in ("app", "off", "other"):
            await s.put_targets(rule, None, [Target("q", QUEUE), Target("f", FUNCTION)])
        (accepted,) = await s.put_events([entry(resources=("arn:x",), time=START - 60)])
        assert isinstance(accepted, Accepted)
        rows = s.store.deliveries()  # committed before put_events returned
        assert sorted(r.target.id for r in rows) == ["f", "q"]
        assert {r.rule_arn for r in rows} == {f"arn:aws:events:{REGION}:{ACCOUNT}:rule/app"}
        event = json.loads(rows[0].event)
        assert list(event) == ["version", "id", "detail-type", "source", "account", "time",
                               "region", "resources", "detail"]  # fmt: skip
        assert event == {
            "version": "0", "id": accepted.event_id, "detail-type": "thing", "source": "my.app",
            "account": ACCOUNT, "time": "2023-11-14T22:12:20Z", "region": REGION,
            "resources": ["arn:x"], "detail": {"n": 1},
        }  # fmt: skip
        await harness.targets.until(lambda: len(harness.targets.invoked) == 1)
        gate.set()
        await harness.targets.until(lambda: len(harness.targets.sent) == 1)
        assert harness.targets.sent[0].event == event
        assert json.loads(harness.targets.invoked[0][1]) == event

    harness.run(body)


def test_input_transformation_and_nothing_to_deliver(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    transformer = InputTransformer.of(
        {"n": "$.detail.n"}, '{"got": <n>, "rule": <aws.events.rule-name>}'
    )
    targets = [
        Target("static", QUEUE, input=TargetInput(input='{"fixed": true}')),
        Target("path", QUEUE, input=TargetInput(input_path="$.detail")),
        Target("shaped", QUEUE, input=TargetInput(transformer=transformer)),
        Target("absent", QUEUE, input=TargetInput(input_path="$.detail.missing")),
    ]

    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.put_rule("r", pattern=MATCH_APP)
        await s.put_targets("r", None, targets)
        await s.put_events([entry()])
        await harness.targets.until(lambda: len(harness.targets.sent) == 3)
        bodies = sorted(sent.body for sent in harness.targets.sent)
        assert bodies == ['{"fixed": true}', '{"got":1,"rule":"r"}', '{"n":1}']

    harness.run(body)


def test_bus_targets_forward_once_and_never_loop(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/"

    async def body(s: EventsService, _: ManualTimer) -> None:
        await s.create_event_bus("a")
        await s.create_event_bus("b")
        for bus, other in (("default", "a"), ("a", "b"), ("b", "a")):  # a -> b -> a: a cycle
            await s.put_rule("fwd", bus, pattern=MATCH_APP)
            await s.put_targets("fwd", bus, [Target("bus", bus_arn + other)])
        for bus in ("a", "b"):
            await s.put_rule("seen", bus, pattern=MATCH_APP)
            await s.put_targets("seen", bus, [Target("q", f"{QUEUE}-{bus}")])
        (accepted,) = await s.put_events([entry()])
        assert isinstance(accepted, Accepted)
        targets = harness.targets
        await targets.until(lambda: len(targets.sent) == 2)
        await s.dispatcher.wait_idle()
        assert sorted(sent.arn for sent in targets.sent) == [f"{QUEUE}-a", f"{QUEUE}-b"]
        assert {sent.event["id"] for sent in targets.sent} == {accepted.event_id}
        assert s.store.deliveries() == []

    harness.run(body)
