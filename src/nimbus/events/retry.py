"""When a failed delivery is tried again, and when it is given up.

EventBridge retries with exponential backoff and jitter until the target's
MaximumRetryAttempts or MaximumEventAgeInSeconds is reached, whichever comes first
(../shared/aws-semantics.md §1.10). A target that no longer exists is not retried: the
event goes straight to the dead-letter queue. Every other failure is retried; what AWS
puts in ERROR_CODE for those is not recorded, so nimbus names them by their kind
(THROTTLING for a 429, SDK_CLIENT_ERROR for another refusal, INTERNAL_ERROR for a
platform failure).
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from nimbus.errors import NimbusError, ResourceNotFound, TooManyRequests
from nimbus.events.model import RetryPolicy
from nimbus.events.targets import TargetMissing


class Exhausted(enum.Enum):
    """EXHAUSTED_RETRY_CONDITION: which limit ended the retries."""

    ATTEMPTS = "MaximumRetryAttempts"
    AGE = "MaximumEventAgeInSeconds"


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """What one attempt ended with, in the dead-letter queue's terms."""

    code: str
    message: str
    retryable: bool = True

    @classmethod
    def of(cls, error: NimbusError) -> DeliveryFailure:
        if isinstance(error, TargetMissing | ResourceNotFound):
            return cls("NO_RESOURCE", error.message, retryable=False)
        if isinstance(error, TooManyRequests):
            return cls("THROTTLING", error.message)
        if error.sender_fault:
            return cls("SDK_CLIENT_ERROR", f"{error.code}: {error.message}")
        return cls("INTERNAL_ERROR", f"{error.code}: {error.message}")


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """The platform's defaults for targets without their own RetryPolicy, and the backoff."""

    maximum_retry_attempts: int = 185
    maximum_event_age_s: float = 86_400.0
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0

    def limits(self, policy: RetryPolicy | None) -> tuple[int, float]:
        attempts = policy.maximum_retry_attempts if policy else None
        age = policy.maximum_event_age_s if policy else None
        return (
            self.maximum_retry_attempts if attempts is None else attempts,
            self.maximum_event_age_s if age is None else float(age),
        )

    def backoff(self, retries_done: int, draw: Callable[[], float] = random.random) -> float:
        """Exponential, capped, with jitter over the upper half so retries spread out."""
        cap = min(self.max_delay_s, math.ldexp(self.base_delay_s, min(retries_done, 32)))
        return cap / 2 + draw() * cap / 2


@dataclass(frozen=True, slots=True)
class Decision:
    """Retry at `due`, or give up (`exhausted` None when the failure is not retryable)."""

    due: float | None
    exhausted: Exhausted | None = None


def decide(
    failure: DeliveryFailure,
    *,
    retries_done: int,
    ingested: float,
    now: float,
    policy: RetryPolicy | None,
    settings: RetrySettings,
) -> Decision:
    if not failure.retryable:
        return Decision(None)
    max_attempts, max_age = settings.limits(policy)
    if retries_done >= max_attempts:
        return Decision(None, Exhausted.ATTEMPTS)
    due = now + settings.backoff(retries_done)
    if due - ingested > max_age:
        return Decision(None, Exhausted.AGE)
    return Decision(due)
