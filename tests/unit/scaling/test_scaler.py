"""The scaler's decisions: out at once, in after the cooldown, zero when nothing is left."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nimbus.scaling.scaler import Observation, Scaler, ScalingPolicy
from nimbus.scaling.sqs_fleet import reported_failures


def observe(now: float, backlog: int, in_flight: int = 0) -> Observation:
    return Observation(now, backlog, in_flight, 0.0)


def test_starts_with_the_initial_size_then_follows_the_rate() -> None:
    scaler = Scaler(ScalingPolicy(maximum=100, target_drain_s=2.0))
    assert scaler.decide(observe(0, 5000), running=0).desired == 5
    scaler.observe_batch(10, 0.1)  # 100 messages/s per consumer
    assert scaler.decide(observe(1, 5000), running=5).desired == 25  # 5000 / (100 * 2)
    assert scaler.decide(observe(2, 500_000), running=25).desired == 100  # the maximum


def test_scales_in_only_after_the_cooldown_and_reaches_zero() -> None:
    scaler = Scaler(ScalingPolicy(maximum=50, scale_in_cooldown_s=10.0))
    scaler.observe_batch(10, 0.1)
    assert scaler.decide(observe(0, 4000), running=0).desired == 20
    assert scaler.decide(observe(1, 0), running=20).desired == 20  # cooling down
    assert scaler.decide(observe(10.5, 0), running=20).desired == 20
    assert scaler.decide(observe(11.0, 0), running=20).desired == 0
    assert scaler.decide(observe(12, 0, in_flight=3), running=0).desired == 1


@given(
    maximum=st.integers(1, 1000),
    samples=st.lists(st.tuples(st.integers(1, 10), st.floats(0.001, 5)), max_size=5),
    steps=st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 100)), min_size=1),
)
def test_desired_is_always_within_bounds(
    maximum: int, samples: list[tuple[int, float]], steps: list[tuple[int, int]]
) -> None:
    scaler = Scaler(ScalingPolicy(maximum=maximum))
    for messages, seconds in samples:
        scaler.observe_batch(messages, seconds)
    running = 0
    for now, (backlog, in_flight) in enumerate(steps):
        decision = scaler.decide(observe(float(now), backlog, in_flight), running)
        assert 0 <= decision.desired <= max(maximum, running)
        if backlog + in_flight:
            assert decision.desired >= 1  # work never waits for a consumer
        if decision.desired > running:
            assert decision.desired == scaler.target(observe(float(now), backlog, in_flight))
        running = decision.desired


def test_partial_batch_responses() -> None:
    ids = {"a", "b", "c"}
    assert reported_failures(b"", ids) == set()
    assert reported_failures(b"null", ids) == set()
    assert reported_failures(b'{"batchItemFailures": []}', ids) == set()
    assert reported_failures(b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', ids) == {"b"}
    assert reported_failures(b'{"batchItemFailures": [{"itemIdentifier": "zz"}]}', ids) == ids
    assert reported_failures(b'{"batchItemFailures": [{"itemIdentifier": ""}]}', ids) == ids
    assert reported_failures(b'{"batchItemFailures": [{"id": "a"}]}', ids) == ids
    assert reported_failures(b'{"batchItemFailures": "a"}', ids) == ids
