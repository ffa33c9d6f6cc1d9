"""The CloudWatch Logs operations as a service: validation, ARNs, pages and tokens.

The gateway maps the API's JSON onto these calls; `LogStore` keeps the data. Requests
are checked against CloudWatch's limits (`logs_validation`); paging tokens are opaque
to clients and bound to the request they came from (`logs_tokens`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from nimbus.errors import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from nimbus.telemetry.filter_pattern import parse_filter_pattern
from nimbus.telemetry.logs_tokens import (
    decode_token,
    encode_position,
    encode_token,
    events_origin,
    token_position,
    token_scope,
    token_stream_key,
    token_text,
)
from nimbus.telemetry.logs_validation import (
    MAX_EVENTS,
    check_batch,
    check_group_name,
    check_limit,
    check_range,
    check_stream_filter,
    check_stream_name,
    constraint,
    stream_order,
)
from nimbus.telemetry.logstore import LogStore
from nimbus.telemetry.logstore_records import (
    HEAD,
    TAIL,
    EventRecord,
    GroupRecord,
    Position,
    StreamCreation,
    StreamRecord,
)
from nimbus.telemetry.logstore_scan import DEFAULT_SCAN_BUDGET, GroupScan, ScanBudget

T = TypeVar("T")

RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                         1827, 2192, 2557, 2922, 3288, 3653)  # fmt: skip
MAX_PAGE_BYTES: Final = 1_048_576
MAX_DESCRIBE: Final = 50

GROUP_NOT_FOUND: Final = "The specified log group does not exist."
STREAM_NOT_FOUND: Final = "The specified log stream does not exist."


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
        check_group_name(name)
        if not self._store.create_group(name):
            raise ResourceAlreadyExists("The specified log group already exists")

    def delete_log_group(self, name: str) -> None:
        check_group_name(name)
        if not self._store.delete_group(name):
            raise ResourceNotFound(GROUP_NOT_FOUND)

    def put_retention_policy(self, name: str, days: int) -> None:
        check_group_name(name)
        if days not in RETENTION_DAYS:
            allowed = ", ".join(map(str, RETENTION_DAYS))
            raise InvalidParameter(
                constraint(
                    days, "retentionInDays", f"Member must satisfy enum value set: [{allowed}]"
                )
            )
        if not self._store.set_retention(name, days):
            raise ResourceNotFound(GROUP_NOT_FOUND)

    def delete_retention_policy(self, name: str) -> None:
        check_group_name(name)
        if not self._store.set_retention(name, None):
            raise ResourceNotFound(GROUP_NOT_FOUND)

    def describe_log_groups(
        self, prefix: str | None, limit: int | None, token: str | None
    ) -> Page[LogGroup]:
        if prefix is not None:
            check_group_name(prefix, "logGroupNamePrefix")
        limit = check_limit(limit, MAX_DESCRIBE)
        scope = token_scope("groups", prefix)
        after = token_text(decode_token(scope, token, 1)[0]) if token is not None else None
        rows = self._store.groups(prefix, after, limit + 1)
        more = len(rows) > limit
        next_token = encode_token(scope, [rows[limit - 1].name]) if more else None
        return Page([self._group(row) for row in rows[:limit]], next_token)

    # -- streams ------------------------------------------------------------------------

    def create_log_stream(self, group: str, stream: str) -> None:
        check_group_name(group)
        check_stream_name(stream)
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
        order = stream_order(order_by, prefix)
        limit = check_limit(limit, MAX_DESCRIBE)
        record = self._group_record(group)
        scope = token_scope("streams", group, prefix, order_by, descending)
        after = token_stream_key(decode_token(scope, token, 2)) if token is not None else None
        rows = self._store.streams(record.id, prefix, order, descending, after, limit + 1)
        next_token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            key = last.last_event_ms if last.last_event_ms is not None else -1
            next_token = encode_token(scope, [key, last.name])
        return Page([self._stream(group, row) for row in rows[:limit]], next_token)

    # -- events -------------------------------------------------------------------------

    def put_log_events(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        """Queue the events of an existing stream; readers see them at once (read-your-writes)."""
        check_batch(events)
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
        limit = check_limit(limit, MAX_EVENTS)
        check_range(start_ms, end_ms)
        found = self._stream_record(self._group_record(group), stream)
        scope = token_scope("events", group, stream)
        forward, origin = events_origin(scope, token, start_from_head)
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
            "f/" + encode_position(scope, after_last),
            "b/" + encode_position(scope, before_first),
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
        names = check_stream_filter(stream_names, stream_prefix)
        limit = check_limit(limit, MAX_EVENTS)
        check_range(start_ms, end_ms)
        parsed = parse_filter_pattern(pattern) if pattern and pattern.strip() else None
        record = self._group_record(group)
        scope = token_scope("filter", group, names, stream_prefix, start_ms, end_ms, pattern)
        after = token_position(decode_token(scope, token, 2)) if token is not None else HEAD
        scan = GroupScan(record.id, start_ms, end_ms, names, stream_prefix, parsed)
        result = self._store.scan_group(scan, after, limit, MAX_PAGE_BYTES, self._scan_budget)
        resume = result.resume
        next_token = encode_position(scope, resume) if resume is not None else None
        return FilterPage([_event(event) for event in result.events], next_token)

    def expire(self, now_ms: int) -> int:
        """Delete events past their group's retention (or the default); returns how many."""
        return self._store.expire(now_ms, self._default_retention_days)

    # -- records to shapes --------------------------------------------------------------

    def _group_record(self, name: str) -> GroupRecord:
        check_group_name(name)
        record = self._store.group(name)
        if record is None:
            raise ResourceNotFound(GROUP_NOT_FOUND)
        return record

    def _stream_record(self, group: GroupRecord, name: str) -> StreamRecord:
        check_stream_name(name)
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
