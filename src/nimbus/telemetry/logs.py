"""The CloudWatch Logs operations as a service: validation, ARNs, pages and tokens.

The gateway maps the API's JSON onto these calls; `LogStore` keeps the data. Paging
tokens are opaque to clients: base64url of a small JSON list plus a checksum over the
list and the request it belongs to, so a garbled token, or one from another query, is
rejected with CloudWatch's "The specified nextToken is invalid." instead of resuming
somewhere arbitrary. They hold positions, not secrets, so they survive restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from nimbus.errors import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from nimbus.telemetry.filter_pattern import parse_filter_pattern
from nimbus.telemetry.logstore import LogStore
from nimbus.telemetry.logstore_records import (
    HEAD,
    MAX_INT,
    TAIL,
    EventRecord,
    GroupRecord,
    Position,
    StreamCreation,
    StreamOrder,
    StreamRecord,
)
from nimbus.telemetry.logstore_scan import DEFAULT_SCAN_BUDGET, GroupScan, ScanBudget

T = TypeVar("T")

RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                         1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
GROUP_PATTERN: Final = r"[\.\-_/#A-Za-z0-9]+"
STREAM_PATTERN: Final = r"[^:*]*"
MAX_NAME: Final = 512
MAX_EVENTS: Final = 10_000  # per GetLogEvents/FilterLogEvents page and per PutLogEvents
MAX_PAGE_BYTES: Final = 1_048_576
MAX_BATCH_BYTES: Final = 1_048_576
MAX_EVENT_BYTES: Final = 262_144  # 256 KB including the per-event overhead
EVENT_OVERHEAD: Final = 26  # bytes CloudWatch counts per event on top of its message
MAX_BATCH_SPAN_MS: Final = 24 * 3600 * 1000
MAX_DESCRIBE: Final = 50
MAX_STREAM_NAMES: Final = 100
MAX_TOKEN: Final = 4096
STREAM_ORDERS: Final = {"LogStreamName": StreamOrder.NAME, "LastEventTime": StreamOrder.LAST_EVENT}

GROUP_NOT_FOUND: Final = "The specified log group does not exist."
STREAM_NOT_FOUND: Final = "The specified log stream does not exist."
INVALID_TOKEN: Final = "The specified nextToken is invalid."


@dataclass(frozen=True)
class LogGroup:
    name: str
    arn: str  # with the trailing ":*", as DescribeLogGroups' `arn`
    created_ms: int
    retention_days: int | None
    stored_bytes: int

    @property
    def group_arn(self) -> str:
        """The ARN without ":*" (`logGroupArn`), the form other services expect."""
        return self.arn.removesuffix(":*")


@dataclass(frozen=True)
class LogStream:
    name: str
    arn: str
    created_ms: int
    first_event_ms: int | None
    last_event_ms: int | None
    last_ingestion_ms: int | None


@dataclass(frozen=True)
class LogEvent:
    event_id: str
    stream: str
    timestamp_ms: int
    ingestion_ms: int
    message: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class EventsPage:
    """GetLogEvents: both tokens always; a token that comes back unchanged means "the end"."""

    events: list[LogEvent]
    next_forward_token: str
    next_backward_token: str


@dataclass(frozen=True)
class FilterPage:
    """FilterLogEvents: may hold fewer events than asked (even none) and still a token."""

    events: list[LogEvent]
    next_token: str | None


class LogsService:
    """CloudWatch Logs for one account and region, over a `LogStore`."""

    def __init__(
        self,
        store: LogStore,
        region: str,
        account: str,
        default_retention_days: int,
        *,
        scan_budget: ScanBudget = DEFAULT_SCAN_BUDGET,
    ) -> None:
        self._store = store
        self._arn_prefix = f"arn:aws:logs:{region}:{account}:log-group:"
        self._default_retention_days = default_retention_days
        self._scan_budget = scan_budget

    # -- groups -------------------------------------------------------------------------

    def create_log_group(self, name: str) -> None:
        _check_group_name(name)
        if not self._store.create_group(name):
            raise ResourceAlreadyExists("The specified log group already exists")

    def delete_log_group(self, name: str) -> None:
        _check_group_name(name)
        if not self._store.delete_group(name):
            raise ResourceNotFound(GROUP_NOT_FOUND)

    def put_retention_policy(self, name: str, days: int) -> None:
        _check_group_name(name)
        if days not in RETENTION_DAYS:
            allowed = ", ".join(map(str, RETENTION_DAYS))
            raise InvalidParameter(
                _constraint(
                    days, "retentionInDays", f"Member must satisfy enum value set: [{allowed}]"
                )
            )
        if not self._store.set_retention(name, days):
            raise ResourceNotFound(GROUP_NOT_FOUND)

    def delete_retention_policy(self, name: str) -> None:
        _check_group_name(name)
        if not self._store.set_retention(name, None):
            raise ResourceNotFound(GROUP_NOT_FOUND)

    def describe_log_groups(
        self, prefix: str | None, limit: int | None, token: str | None
    ) -> Page[LogGroup]:
        if prefix is not None:
            _check_group_name(prefix, "logGroupNamePrefix")
        limit = _limit(limit, MAX_DESCRIBE)
        scope = _scope("groups", prefix)
        after = _token_text(_decode(scope, token, 1)[0]) if token is not None else None
        rows = self._store.groups(prefix, after, limit + 1)
        more = len(rows) > limit
        next_token = _encode(scope, [rows[limit - 1].name]) if more else None
        return Page([self._group(row) for row in rows[:limit]], next_token)

    # -- streams ------------------------------------------------------------------------

    def create_log_stream(self, group: str, stream: str) -> None:
        _check_group_name(group)
        _check_stream_name(stream)
        created = self._store.create_stream(group, stream)
        if created is StreamCreation.NO_GROUP:
            raise ResourceNotFound(GROUP_NOT_FOUND)
        if created is StreamCreation.EXISTS:
            raise ResourceAlreadyExists("The specified log stream already exists")

    def describe_log_streams(
        self,
        group: str,
        prefix: str | None,
        order_by: str,
        descending: bool,
        limit: int | None,
        token: str | None,
    ) -> Page[LogStream]:
        """Streams by name (default) or by last event time; `order_by` is the API's value."""
        order = _stream_order(order_by, prefix)
        limit = _limit(limit, MAX_DESCRIBE)
        record = self._group_record(group)
        scope = _scope("streams", group, prefix, order_by, descending)
        after = _stream_key(_decode(scope, token, 2)) if token is not None else None
        rows = self._store.streams(record.id, prefix, order, descending, after, limit + 1)
        next_token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            key = last.last_event_ms if last.last_event_ms is not None else -1
            next_token = _encode(scope, [key, last.name])
        return Page([self._stream(group, row) for row in rows[:limit]], next_token)

    # -- events -------------------------------------------------------------------------

    def put_log_events(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Queue the events of an existing stream; readers see them at once (read-your-writes)."""
        _check_batch(events)
        record = self._group_record(group)
        self._stream_record(record, stream)
        self._store.append(group, stream, events)

    def get_log_events(
        self,
        group: str,
        stream: str,
        start_ms: int | None,
        end_ms: int | None,
        token: str | None,
        limit: int | None,
        start_from_head: bool,
    ) -> EventsPage:
        """One stream's events in [start_ms, end_ms); the newest unless from the head.

        A forward token resumes after the page's last event, a backward one before its
        first; with nothing more that way the same token comes back, which is how clients
        know they reached the end (or, following a live stream, that nothing is new yet).
        """
        limit = _limit(limit, MAX_EVENTS)
        _check_range(start_ms, end_ms)
        found = self._stream_record(self._group_record(group), stream)
        scope = _scope("events", group, stream)
        forward, origin = _events_origin(scope, token, start_from_head)
        events = self._store.stream_events(
            found.id, origin, forward, limit, MAX_PAGE_BYTES, start_ms, end_ms
        )
        if events:
            after_last = events[-1].position
            before_first = Position(events[0].timestamp_ms, events[0].id - 1)
        else:
            # An empty stream read from the tail: new events are to be found after HEAD.
            after_last = before_first = HEAD if origin == TAIL else origin
        return EventsPage(
            [_event(event) for event in events],
            "f/" + _encode_position(scope, after_last),
            "b/" + _encode_position(scope, before_first),
        )

    def filter_log_events(
        self,
        group: str,
        stream_names: Sequence[str] | None,
        stream_prefix: str | None,
        start_ms: int | None,
        end_ms: int | None,
        pattern: str | None,
        token: str | None,
        limit: int | None,
    ) -> FilterPage:
        """Matching events of a group in timestamp order, across its streams.

        Each call reads a bounded part of the group, so a pattern that matches rarely
        returns a short (or empty) page with a token rather than scanning everything.
        """
        names = _check_stream_filter(stream_names, stream_prefix)
        limit = _limit(limit, MAX_EVENTS)
        _check_range(start_ms, end_ms)
        parsed = parse_filter_pattern(pattern) if pattern and pattern.strip() else None
        record = self._group_record(group)
        scope = _scope("filter", group, names, stream_prefix, start_ms, end_ms, pattern)
        after = _position(_decode(scope, token, 2)) if token is not None else HEAD
        scan = GroupScan(record.id, start_ms, end_ms, names, stream_prefix, parsed)
        result = self._store.scan_group(scan, after, limit, MAX_PAGE_BYTES, self._scan_budget)
        resume = result.resume
        next_token = _encode_position(scope, resume) if resume is not None else None
        return FilterPage([_event(event) for event in result.events], next_token)

    def expire(self, now_ms: int) -> int:
        """Delete events past their group's retention (or the default); returns how many."""
        return self._store.expire(now_ms, self._default_retention_days)

    # -- records to shapes --------------------------------------------------------------

    def _group_record(self, name: str) -> GroupRecord:
        _check_group_name(name)
        record = self._store.group(name)
        if record is None:
            raise ResourceNotFound(GROUP_NOT_FOUND)
        return record

    def _stream_record(self, group: GroupRecord, name: str) -> StreamRecord:
        _check_stream_name(name)
        record = self._store.stream(group.id, name)
        if record is None:
            raise ResourceNotFound(STREAM_NOT_FOUND)
        return record

    def _group(self, row: GroupRecord) -> LogGroup:
        arn = f"{self._arn_prefix}{row.name}:*"
        return LogGroup(row.name, arn, row.created_ms, row.retention_days, row.stored_bytes)

    def _stream(self, group: str, row: StreamRecord) -> LogStream:
        arn = f"{self._arn_prefix}{group}:log-stream:{row.name}"
        return LogStream(
            row.name, arn, row.created_ms, row.first_event_ms, row.last_event_ms,
            row.last_ingestion_ms,
        )  # fmt: skip


def _event(record: EventRecord) -> LogEvent:
    return LogEvent(
        str(record.id), record.stream, record.timestamp_ms, record.ingestion_ms, record.message
    )


# -- validation -----------------------------------------------------------------------------


def _constraint(value: object, member: str, rule: str) -> str:
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {rule}"
    )


def _check_name(value: str, member: str, pattern: str) -> None:
    if not 1 <= len(value) <= MAX_NAME:
        bound = "greater than or equal to 1" if not value else f"less than or equal to {MAX_NAME}"
        raise InvalidParameter(_constraint(value, member, f"Member must have length {bound}"))
    if not re.fullmatch(pattern, value):
        rule = f"Member must satisfy regular expression pattern: {pattern}"
        raise InvalidParameter(_constraint(value, member, rule))


def _check_group_name(name: str, member: str = "logGroupName") -> None:
    _check_name(name, member, GROUP_PATTERN)


def _check_stream_name(name: str, member: str = "logStreamName") -> None:
    _check_name(name, member, STREAM_PATTERN)


def _limit(limit: int | None, maximum: int) -> int:
    if limit is None:
        return maximum
    if limit < 1:
        raise InvalidParameter(
            _constraint(limit, "limit", "Member must have value greater than or equal to 1")
        )
    if limit > maximum:
        rule = f"Member must have value less than or equal to {maximum}"
        raise InvalidParameter(_constraint(limit, "limit", rule))
    return limit


def _check_range(start_ms: int | None, end_ms: int | None) -> None:
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise InvalidParameter(f"startTime ({start_ms}) must not be later than endTime ({end_ms}).")


def _stream_order(order_by: str, prefix: str | None) -> StreamOrder:
    order = STREAM_ORDERS.get(order_by)
    if order is None:
        rule = "Member must satisfy enum value set: [LogStreamName, LastEventTime]"
        raise InvalidParameter(_constraint(order_by, "orderBy", rule))
    if prefix is not None:
        _check_stream_name(prefix, "logStreamNamePrefix")
        if order is StreamOrder.LAST_EVENT:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    return order


def _check_stream_filter(names: Sequence[str] | None, prefix: str | None) -> tuple[str, ...] | None:
    if names is not None and prefix is not None:
        raise InvalidParameter(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters."
        )
    if prefix is not None:
        _check_stream_name(prefix, "logStreamNamePrefix")
    if names is None:
        return None
    if not 1 <= len(names) <= MAX_STREAM_NAMES:
        rule = f"Member must have length between 1 and {MAX_STREAM_NAMES}"
        raise InvalidParameter(_constraint(list(names), "logStreamNames", rule))
    for name in names:
        _check_stream_name(name, "logStreamNames")
    return tuple(names)


def _check_batch(events: Sequence[tuple[int, str]]) -> None:
    """PutLogEvents' limits: count, sizes, non-empty messages, chronological, 24 hours."""
    if not 1 <= len(events) <= MAX_EVENTS:
        rule = f"Member must have length between 1 and {MAX_EVENTS}"
        raise InvalidParameter(_constraint(len(events), "logEvents", rule))
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
        raise InvalidParameter(_constraint(timestamp, "logEvents.member.timestamp", rule))
    if not message:
        rule = "Member must have length greater than or equal to 1"
        raise InvalidParameter(_constraint(message, "logEvents.member.message", rule))
    size = len(message.encode("utf-8", "replace")) + EVENT_OVERHEAD
    if size > MAX_EVENT_BYTES:
        raise InvalidParameter(
            f"Log event too large: {size} bytes exceeds limit of {MAX_EVENT_BYTES}"
        )
    return size


# -- tokens ---------------------------------------------------------------------------------


def _scope(*request: object) -> bytes:
    """What a token is bound to: the operation and the parameters that shape its results."""
    return json.dumps(request, separators=(",", ":")).encode()


def _checksum(scope: bytes, body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=12, key=hashlib.sha256(scope).digest()).digest()


def _encode(scope: bytes, values: list[int | str]) -> str:
    body = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body + _checksum(scope, body)).rstrip(b"=").decode()


def _decode(scope: bytes, token: str, arity: int) -> list[object]:
    """The values inside a token this request could have been given; else InvalidParameter."""
    if len(token) > MAX_TOKEN:
        raise InvalidParameter(INVALID_TOKEN)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise InvalidParameter(INVALID_TOKEN) from None
    body, checksum = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(checksum, _checksum(scope, body)):
        raise InvalidParameter(INVALID_TOKEN)
    try:  # the checksum is not a secret: the body may still be anything
        values = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidParameter(INVALID_TOKEN) from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidParameter(INVALID_TOKEN)
    return values


def _token_int(value: object) -> int:
    if type(value) is not int or not -MAX_INT <= value <= MAX_INT:
        raise InvalidParameter(INVALID_TOKEN)
    return value


def _token_text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParameter(INVALID_TOKEN)
    return value


def _position(values: list[object]) -> Position:
    return Position(_token_int(values[0]), _token_int(values[1]))


def _stream_key(values: list[object]) -> tuple[int, str]:
    return _token_int(values[0]), _token_text(values[1])


def _encode_position(scope: bytes, position: Position) -> str:
    return _encode(scope, [position.timestamp, position.event_id])


def _events_origin(scope: bytes, token: str | None, from_head: bool) -> tuple[bool, Position]:
    """(forward?, position) to read from: the token's, else the head or the tail."""
    if token is None:
        return (True, HEAD) if from_head else (False, TAIL)
    direction, slash, rest = token.partition("/")
    if not slash or direction not in ("f", "b"):
        raise InvalidParameter(INVALID_TOKEN)
    return direction == "f", _position(_decode(scope, rest, 2))
