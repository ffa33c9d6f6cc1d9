"""The CloudWatch Logs API's request limits, checked before the store is asked anything.

Each failure is an `InvalidParameter` worded as CloudWatch words it: model constraints
as "1 validation error detected: ...", the service's own checks in its own sentences.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Final

from nimbus.errors import InvalidParameter
from nimbus.telemetry.logstore_records import StreamOrder

GROUP_PATTERN: Final = r"[\.\-_/#A-Za-z0-9]+"
STREAM_PATTERN: Final = r"[^:*]*"
MAX_NAME: Final = 512
MAX_EVENTS: Final = 10_000  # per GetLogEvents/FilterLogEvents page and per PutLogEvents
MAX_BATCH_BYTES: Final = 1_048_576
MAX_EVENT_BYTES: Final = 262_144  # 256 KB including the per-event overhead
EVENT_OVERHEAD: Final = 26  # bytes CloudWatch counts per event on top of its message
MAX_BATCH_SPAN_MS: Final = 24 * 3600 * 1000
MAX_STREAM_NAMES: Final = 100
STREAM_ORDERS: Final = {"LogStreamName": StreamOrder.NAME, "LastEventTime": StreamOrder.LAST_EVENT}


def constraint(value: object, member: str, rule: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {rule}"
    )


def _check_name(value: str, member: str, pattern: str) -> None:
    if not 1 <= len(value) <= MAX_NAME:
        bound = "greater than or equal to 1" if not value else f"less than or equal to {MAX_NAME}"
        raise InvalidParameter(constraint(value, member, f"Member must have length {bound}"))
    if not re.fullmatch(pattern, value):
        rule = f"Member must satisfy regular expression pattern: {pattern}"
        raise InvalidParameter(constraint(value, member, rule))


def check_group_name(name: str, member: str = "logGroupName") -> None:
    _check_name(name, member, GROUP_PATTERN)


def check_stream_name(name: str, member: str = "logStreamName") -> None:
    _check_name(name, member, STREAM_PATTERN)


def check_limit(limit: int | None, maximum: int) -> int:
    if limit is None:
        return maximum
    if limit < 1:
        raise InvalidParameter(
            constraint(limit, "limit", "Member must have value greater than or equal to 1")
        )
    if limit > maximum:
        rule = f"Member must have value less than or equal to {maximum}"
        raise InvalidParameter(constraint(limit, "limit", rule))
    return limit


def check_range(start_ms: int | None, end_ms: int | None) -> None:
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise InvalidParameter(f"startTime ({start_ms}) must not be later than endTime ({end_ms}).")


def stream_order(order_by: str, prefix: str | None) -> StreamOrder:
    order = STREAM_ORDERS.get(order_by)
    if order is None:
        rule = "Member must satisfy enum value set: [LogStreamName, LastEventTime]"
        raise InvalidParameter(constraint(order_by, "orderBy", rule))
    if prefix is not None:
        check_stream_name(prefix, "logStreamNamePrefix")
        if order is StreamOrder.LAST_EVENT:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    return order


def check_stream_filter(names: Sequence[str] | None, prefix: str | None) -> tuple[str, ...] | None:
    if names is not None and prefix is not None:
        raise InvalidParameter(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
        )
    if prefix is not None:
        check_stream_name(prefix, "logStreamNamePrefix")
    if names is None:
        return None
    if not 1 <= len(names) <= MAX_STREAM_NAMES:
        rule = f"Member must have length between 1 and {MAX_STREAM_NAMES}"
        raise InvalidParameter(constraint(list(names), "logStreamNames", rule))
    for name in names:
        check_stream_name(name, "logStreamNames")
    return tuple(names)


def check_batch(events: Sequence[tuple[int, str]]) -> None:
    """PutLogEvents' limits: count, sizes, non-empty messages, chronological, 24 hours."""
    if not 1 <= len(events) <= MAX_EVENTS:
        rule = f"Member must have length between 1 and {MAX_EVENTS}"
        raise InvalidParameter(constraint(len(events), "logEvents", rule))
    total = sum(_event_size(timestamp, message) for timestamp, message in events)
    if total > MAX_BATCH_BYTES:
        raise InvalidParameter(
            f"Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )
    times = [timestamp for timestamp, _ in events]
    if any(later < earlier for earlier, later in itertools.pairwise(times)):
        raise InvalidParameter(
            "Log events in a single PutLogEvents request must be in chronological order."
        )
    if times[-1] - times[0] > MAX_BATCH_SPAN_MS:
        raise InvalidParameter(
            "The batch of log events in a single PutLogEvents request cannot span more than "
            "24 hours."
        )


def _event_size(timestamp: int, message: str) -> int:
    """The bytes CloudWatch counts for one event, once it is known to be valid."""
    if timestamp < 0:
        rule = "Member must have value greater than or equal to 0"
        raise InvalidParameter(constraint(timestamp, "logEvents.member.timestamp", rule))
    if not message:
        rule = "Member must have length greater than or equal to 1"
        raise InvalidParameter(constraint(message, "logEvents.member.message", rule))
    size = len(message.encode("utf-8", "replace")) + EVENT_OVERHEAD
    if size > MAX_EVENT_BYTES:
        raise InvalidParameter(
            f"Log event too large: {size} bytes exceeds limit of {MAX_EVENT_BYTES}"
        )
    return size
