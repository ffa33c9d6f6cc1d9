"""How many concurrent consumers a backlog needs: out fast, in after a cooldown, to zero.

Pure decisions, no I/O. The desired size is the backlog divided by what one consumer drains
in the target drain time, using the processing rate observed so far (Lambda starts an SQS
mapping with 5 concurrent batches before it knows the rate). It grows at once and shrinks
only after the smaller size has been enough for `scale_in_cooldown_s`, so a fleet does not
flap; with nothing queued and nothing in flight for that long, it is zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

INITIAL_CONCURRENCY = 5
RATE_SMOOTHING = 0.3  # weight of the newest rate sample


@dataclass(frozen=True)
class ScalingPolicy:
    maximum: int
    target_drain_s: float = 2.0
    scale_in_cooldown_s: float = 10.0
    initial: int = INITIAL_CONCURRENCY


@dataclass(frozen=True)
class Observation:
    now: float  # epoch seconds
    backlog: int  # messages ready to receive
    in_flight: int  # received, not yet deleted or returned
    oldest_age_s: float


@dataclass(frozen=True)
class Decision:
    at: float
    desired: int
    running: int
    backlog: int
    in_flight: int
    oldest_age_s: float


class Scaler:
    def __init__(self, policy: ScalingPolicy) -> None:
        self.policy = policy
        self._rate: float | None = None  # messages per second one consumer handles
        self._low_since: float | None = None

    @property
    def rate_per_consumer(self) -> float | None:
        return self._rate

    def observe_batch(self, messages: int, seconds: float) -> None:
        """One consumer handled `messages` in `seconds` (receive to delete)."""
        if messages <= 0 or seconds <= 0:
            return
        sample = messages / seconds
        previous = self._rate
        self._rate = (
            sample
            if previous is None
            else (RATE_SMOOTHING * sample + (1 - RATE_SMOOTHING) * previous)
        )

    def target(self, observation: Observation) -> int:
        """The size the backlog calls for now, before the cooldown is applied."""
        work = observation.backlog + observation.in_flight
        if work == 0:
            return 0
        if self._rate is None:
            wanted = self.policy.initial
        else:
            per_consumer = self._rate * self.policy.target_drain_s
            wanted = math.ceil(observation.backlog / per_consumer) if per_consumer > 0 else 1
            wanted = max(wanted, 1)
        return min(wanted, self.policy.maximum)

    def decide(self, observation: Observation, running: int) -> Decision:
        target = self.target(observation)
        desired = target
        if target < running:
            if self._low_since is None:
                self._low_since = observation.now
            if observation.now - self._low_since < self.policy.scale_in_cooldown_s:
                desired = running
        else:
            self._low_since = None
        return Decision(
            at=observation.now,
            desired=desired,
            running=running,
            backlog=observation.backlog,
            in_flight=observation.in_flight,
            oldest_age_s=observation.oldest_age_s,
        )
