"""The values the queue service takes and returns (frozen dataclasses, no behaviour)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """One message attribute: `data_type` is String, Number or Binary, maybe `.custom`."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class SendEntry:
    """One entry of SendMessageBatch."""

    id: str
    body: str
    delay_seconds: int | None = None
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)
    system_attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What a send answers; `sequence_number` only on FIFO queues."""

    message_id: str
    sequence_number: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """One delivery; `attributes` holds the requested system attributes as strings."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, MessageAttribute]


@dataclass(frozen=True, slots=True)
class HandleEntry:
    """One entry of DeleteMessageBatch or ChangeMessageVisibilityBatch."""

    id: str
    receipt_handle: str
    visibility_timeout: int = 0


@dataclass(frozen=True, slots=True)
class BatchFailure:
    id: str
    code: str
    message: str
    sender_fault: bool = True


@dataclass(frozen=True, slots=True)
class BatchResult(Generic[T]):
    """Per-entry outcome of a batch: successes are `(entry id, value)` pairs."""

    successful: list[tuple[str, T]]
    failed: list[BatchFailure]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Depth figures for autoscaling pollers."""

    visible: int
    in_flight: int
    delayed: int
    oldest_age_s: float
