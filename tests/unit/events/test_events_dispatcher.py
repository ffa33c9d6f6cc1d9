"""Delivery in-process on a manual clock: retries, the dead-letter queue, slow targets,
rows kept until delivered and reloaded at start."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from events_harness import DLQ, FUNCTION, QUEUE, Harness, entry

from nimbus.errors import InvalidParameterValue, ServiceError, TooManyRequests
from nimbus.events.model import RetryPolicy, Target
from nimbus.events.retry import DeliveryFailure, Exhausted, RetrySettings, decide
from nimbus.events.router import Accepted
from nimbus.events.service import EventsService
from nimbus.events.targets import TargetMissing
from nimbus.events.timer import ManualTimer

MATCH_APP = json.dumps({"source": ["my.app"]})
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/r"


async def setup(s: EventsService, *targets: Target) -> None:
    await s.put_rule("r", pattern=MATCH_APP)
    await s.put_targets("r", None, list(targets))


def test_a_failed_delivery_is_retried_with_backoff_until_it_succeeds(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    harness.targets.failures[QUEUE] = [ServiceError("down"), TooManyRequests("r")]

    async def body(s: EventsService, timer: ManualTimer) -> None:
        await setup(s, Target("q", QUEUE))
        await s.put_events([entry()])
        await s.dispatcher.wait_settled()
        (row,) = s.store.deliveries()  # the retry is stored, due within the first backoff
        assert row.attempts == 1 and timer.now() + 0.5 <= row.due <= timer.now() + 1.0
        await timer.advance(1.0)
        await s.dispatcher.wait_settled()
        assert s.store.deliveries()[0].attempts == 2 and not harness.targets.sent
        await timer.advance(2.0)
        await s.dispatcher.wait_idle()
        assert len(harness.targets.sent) == 1 and s.store.deliveries() == []
        assert harness.targets.attempts == [QUEUE] * 3

    harness.run(body)


def test_exhausted_retries_go_to_the_dead_letter_queue(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    harness.targets.always_failing[QUEUE] = InvalidParameterValue("too big")
    target = Target("q", QUEUE, retry=RetryPolicy(2, None), dead_letter_arn=DLQ)

    async def body(s: EventsService, timer: ManualTimer) -> None:
        await setup(s, target)
        (accepted,) = await s.put_events([entry()])
        assert isinstance(accepted, Accepted)
        while not harness.targets.to(DLQ):
            await s.dispatcher.wait_settled()
            await timer.advance(10.0)
        await s.dispatcher.wait_idle()
        (dead,) = harness.targets.to(DLQ)
        assert dead.event["id"] == accepted.event_id
        assert dead.attributes == {
            "RULE_ARN": RULE_ARN, "TARGET_ARN": QUEUE, "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": "InvalidParameterValueException: too big",
            "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "2",
        }  # fmt: skip
        assert harness.targets.attempts.count(QUEUE) == 3 and s.store.deliveries() == []

    harness.run(body)


def test_a_missing_target_goes_straight_to_the_dead_letter_queue(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    harness.targets.missing.add(FUNCTION)

    async def body(s: EventsService, _: ManualTimer) -> None:
        await setup(s, Target("f", FUNCTION, dead_letter_arn=DLQ))
        await s.put_events([entry()])
        await s.dispatcher.wait_idle()
        (dead,) = harness.targets.to(DLQ)
        assert dead.attributes["ERROR_CODE"] == "NO_RESOURCE"
        assert dead.attributes["RETRY_ATTEMPTS"] == "0"
        assert "EXHAUSTED_RETRY_CONDITION" not in dead.attributes

    harness.run(body)


def test_a_slow_target_delays_no_other(tmp_path: Path) -> None:
    harness = Harness(tmp_path / "events.db")
    harness.targets.gates[FUNCTION] = gate = asyncio.Event()  # the function never answers

    async def body(s: EventsService, _: ManualTimer) -> None:
        await setup(s, Target("f", FUNCTION), Target("q", QUEUE))
        await s.put_events([entry(detail={"n": n}) for n in range(5)])
        await harness.targets.until(lambda: len(harness.targets.sent) == 5)
        assert not harness.targets.invoked
        gate.set()
        await s.dispatcher.wait_idle()
        assert len(harness.targets.invoked) == 5

    harness.run(body)


def test_undelivered_rows_are_delivered_after_a_restart(tmp_path: Path) -> None:
    first = Harness(tmp_path / "events.db")
    first.targets.gates[QUEUE] = asyncio.Event()  # never opened: stop() finds it in flight

    async def accept(s: EventsService, _: ManualTimer) -> None:
        await setup(s, Target("q", QUEUE))
        await s.put_events([entry(), entry()])
        await first.targets.until(lambda: len(first.targets.attempts) == 2)

    first.run(accept)
    second = Harness(tmp_path / "events.db")

    async def resume(s: EventsService, _: ManualTimer) -> None:
        await s.dispatcher.wait_idle()
        assert len(second.targets.sent) == 2 and s.store.deliveries() == []

    second.run(resume)


def test_retry_decisions() -> None:
    settings = RetrySettings(3, 100.0, base_delay_s=1.0, max_delay_s=8.0)
    boom = DeliveryFailure("INTERNAL_ERROR", "x")
    common = {"ingested": 0.0, "policy": None, "settings": settings}
    assert decide(boom, retries_done=3, now=0.0, **common).exhausted is Exhausted.ATTEMPTS  # type: ignore[arg-type]
    assert decide(boom, retries_done=0, now=99.8, **common).exhausted is Exhausted.AGE  # type: ignore[arg-type]
    due = decide(boom, retries_done=1, now=10.0, **common).due  # type: ignore[arg-type]
    assert due is not None and 11.0 <= due <= 12.0
    gone = DeliveryFailure.of(TargetMissing("gone"))
    assert not gone.retryable and decide(gone, retries_done=0, now=0.0, **common).due is None  # type: ignore[arg-type]
    assert settings.backoff(10, draw=lambda: 1.0) == 8.0  # capped
    assert settings.limits(RetryPolicy(0, None)) == (0, 100.0)
