"""The event router's values: buses, rules, targets, and the policies they carry.

Every value is immutable; the registry replaces a rule or target wholesale on update, as
EventBridge's PutRule and PutTargets are upserts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from nimbus.errors import ValidationError
from nimbus.events.pattern import EventPattern
from nimbus.events.target_input import TargetInput

DEFAULT_BUS = "default"


class RuleState(enum.Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    # matches as ENABLED here: nimbus has no CloudTrail management events to add
    ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


class TargetKind(enum.Enum):
    """What a target ARN names, which decides how an event is handed over."""

    FUNCTION = "function"  # an asynchronous (Event) invoke
    QUEUE = "queue"  # one message
    BUS = "bus"  # forwarded onto another bus's rules


@dataclass(frozen=True, slots=True)
class EventBus:
    name: str
    arn: str
    description: str | None
    created: float


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A target's RetryPolicy; a member left unset takes the platform's default (settings:
    185 attempts, 86,400 s, as EventBridge)."""

    maximum_retry_attempts: int | None = None
    maximum_event_age_s: int | None = None


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    arn: str
    input: TargetInput = field(default_factory=TargetInput)
    retry: RetryPolicy | None = None
    dead_letter_arn: str | None = None
    message_group_id: str | None = None  # SqsParameters, for a FIFO queue target

    @property
    def kind(self) -> TargetKind:
        kind = target_kind(self.arn)
        if kind is None:
            raise ValueError(f"nimbus cannot deliver to {self.arn}")
        return kind


@dataclass(frozen=True, slots=True)
class Rule:
    bus: str
    name: str
    arn: str
    state: RuleState
    pattern: EventPattern | None
    schedule: str | None
    description: str | None
    role_arn: str | None
    # when the rule was created or its schedule last changed: `rate` counts from here
    anchor: float
    targets: tuple[Target, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.state is not RuleState.DISABLED


class ArchiveState(enum.Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Archive:
    name: str
    arn: str
    bus_arn: str
    description: str | None
    pattern: EventPattern | None
    retention_days: int  # 0: kept forever
    created: float
    state: ArchiveState = ArchiveState.ENABLED


class ReplayState(enum.Enum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"

    @property
    def active(self) -> bool:
        return self in (ReplayState.STARTING, ReplayState.RUNNING, ReplayState.CANCELLING)


@dataclass(frozen=True, slots=True)
class Replay:
    name: str
    arn: str
    archive_arn: str
    description: str | None
    start: float  # the window of event times, [start, end)
    end: float
    destination: str  # the bus ARN
    filter_arns: tuple[str, ...]  # rule ARNs; empty: every rule of the bus
    state: ReplayState
    reason: str | None
    started: float
    ended: float | None = None
    last_replayed: float | None = None  # event time of the last event handed back
    cursor: int = 0  # archive sequence number the replay has passed


_ARN_KINDS = {"lambda": TargetKind.FUNCTION, "sqs": TargetKind.QUEUE, "events": TargetKind.BUS}


def target_kind(arn: str) -> TargetKind | None:
    """What a target ARN names; None for a service nimbus cannot deliver to.

    An ARN that is not one at all is a ValidationException.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        raise ValidationError(
            f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
        )
    kind = _ARN_KINDS.get(parts[2])
    if kind is TargetKind.BUS and not parts[5].startswith("event-bus/"):
        return None
    if kind is TargetKind.FUNCTION and not parts[5].startswith("function:"):
        return None
    return kind


def is_fifo_queue(arn: str) -> bool:
    return arn.endswith(".fifo")


def bus_name_of(value: str) -> str:
    """An EventBusName member: a name, or a bus ARN (`...:event-bus/<name>`)."""
    if value.startswith("arn:"):
        return value.rpartition(":event-bus/")[2] or value
    return value
