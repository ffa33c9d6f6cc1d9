"""LogsService: CloudWatch Logs semantics, errors, pagination and tokens."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nimbus.errors import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from nimbus.telemetry import logs_tokens
from nimbus.telemetry.logs import RETENTION_DAYS, LogEvent, LogsService
from nimbus.telemetry.logstore import LogStore
from nimbus.telemetry.logstore_scan import ScanBudget

REGION, ACCOUNT = "eu-west-1", "123456789012"
GROUP = "/aws/lambda/orders"
STREAM = "2026/11/28/[$LATEST]0123456789abcdef0123456789abcdef"
NOW_S = 1_800_000_000.0
DAY_MS = 86_400_000


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


class FakeClock:
    def __init__(self) -> None:
        self.now = NOW_S

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[LogStore]:
    opened = LogStore(tmp_path / "logs.db", clock)
    yield opened
    opened.close()


@pytest.fixture
def logs(store: LogStore) -> LogsService:
    return LogsService(
        store, REGION, ACCOUNT, 30, scan_budget=ScanBudget(window_rows=64, seconds=0)
    )


@pytest.fixture
def stream(logs: LogsService) -> str:
    logs.create_log_group(GROUP)
    logs.create_log_stream(GROUP, STREAM)
    return STREAM


def put(
    logs: LogsService, messages: list[str], first_ms: int = 1_000, stream: str = STREAM
) -> None:
    for start in range(0, len(messages), 10_000):
        chunk = messages[start : start + 10_000]
        logs.put_log_events(GROUP, stream, [(first_ms + start + i, m) for i, m in enumerate(chunk)])


# -- groups and streams --------------------------------------------------------------------


def test_create_describe_and_delete_a_group(logs: LogsService, clock: FakeClock) -> None:
    logs.create_log_group(GROUP)
    with pytest.raises(
        ResourceAlreadyExists, match=exactly("The specified log group already exists")
    ):
        logs.create_log_group(GROUP)
    [group] = logs.describe_log_groups(None, None, None).items
    assert group.name == GROUP
    assert group.arn == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*"
    assert group.group_arn == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"
    assert group.created_ms == int(NOW_S * 1000)
    assert (group.retention_days, group.stored_bytes) == (None, 0)
    logs.delete_log_group(GROUP)
    assert logs.describe_log_groups(None, None, None).items == []
    with pytest.raises(ResourceNotFound, match=exactly("The specified log group does not exist.")):
        logs.delete_log_group(GROUP)


@pytest.mark.parametrize("name", ["", "a" * 513, "has space", "bad:colon", "star*", "é"])
def test_invalid_group_names_are_rejected(logs: LogsService, name: str) -> None:
    with pytest.raises(InvalidParameter, match="logGroupName"):
        logs.create_log_group(name)


def test_the_longest_group_name_with_every_allowed_character_is_accepted(logs: LogsService) -> None:
    name = ("/aws/lambda/A-z_0.9#" * 30)[:512]
    logs.create_log_group(name)
    assert logs.describe_log_groups(name, None, None).items[0].name == name


def test_retention_policy(logs: LogsService) -> None:
    logs.create_log_group(GROUP)
    logs.put_retention_policy(GROUP, 14)
    assert logs.describe_log_groups(GROUP, None, None).items[0].retention_days == 14
    logs.delete_retention_policy(GROUP)
    assert logs.describe_log_groups(GROUP, None, None).items[0].retention_days is None
    for days in (0, 2, 4000, -1):
        with pytest.raises(InvalidParameter, match="retentionInDays"):
            logs.put_retention_policy(GROUP, days)
    with pytest.raises(ResourceNotFound):
        logs.put_retention_policy("/missing", 7)
    with pytest.raises(ResourceNotFound):
        logs.delete_retention_policy("/missing")
    assert len(RETENTION_DAYS) == 22


def test_describe_log_groups_pages_by_name_with_a_prefix(logs: LogsService) -> None:
    names = [*sorted(f"/aws/lambda/fn-{i:03d}" for i in range(23)), "/other/group"]
    for name in reversed(names):
        logs.create_log_group(name)
    seen, token = [], None
    while True:
        page = logs.describe_log_groups("/aws/lambda/", 5, token)
        seen += [g.name for g in page.items]
        if page.next_token is None:
            break
        token = page.next_token
    assert seen == names[:-1]
    assert len(logs.describe_log_groups(None, None, None).items) == 24
    with pytest.raises(InvalidParameter, match="limit"):
        logs.describe_log_groups(None, 51, None)
    with pytest.raises(InvalidParameter, match="limit"):
        logs.describe_log_groups(None, 0, None)


def test_create_stream_errors(logs: LogsService) -> None:
    with pytest.raises(ResourceNotFound, match=exactly("The specified log group does not exist.")):
        logs.create_log_stream(GROUP, "s")
    logs.create_log_group(GROUP)
    logs.create_log_stream(GROUP, "s")
    with pytest.raises(
        ResourceAlreadyExists, match=exactly("The specified log stream already exists")
    ):
        logs.create_log_stream(GROUP, "s")
    for bad in ("", "a:b", "a*b", "x" * 513):
        with pytest.raises(InvalidParameter, match="logStreamName"):
            logs.create_log_stream(GROUP, bad)


def test_describe_log_streams_orders_pages_and_reports_event_times(
    logs: LogsService, clock: FakeClock
) -> None:
    logs.create_log_group(GROUP)
    for i, name in enumerate(["c", "a", "d", "b", "e"]):
        logs.create_log_stream(GROUP, name)
        logs.put_log_events(GROUP, name, [(100 * i, "x"), (100 * i + 5, "y")])
    by_name = collect_streams(logs, None, "LogStreamName", False)
    assert by_name == ["a", "b", "c", "d", "e"]
    assert collect_streams(logs, None, "LogStreamName", True) == ["e", "d", "c", "b", "a"]
    newest_first = collect_streams(logs, None, "LastEventTime", True)
    assert newest_first == ["e", "b", "d", "a", "c"]
    assert collect_streams(logs, "d", "LogStreamName", False) == ["d"]
    [described] = logs.describe_log_streams(GROUP, "a", "LogStreamName", False, None, None).items
    assert (described.first_event_ms, described.last_event_ms) == (100, 105)
    assert described.last_ingestion_ms == int(NOW_S * 1000)
    assert described.arn == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:log-stream:a"


def collect_streams(logs: LogsService, prefix: str | None, order: str, desc: bool) -> list[str]:
    seen, token = [], None
    while True:
        page = logs.describe_log_streams(GROUP, prefix, order, desc, 2, token)
        seen += [s.name for s in page.items]
        if page.next_token is None:
            return seen
        token = page.next_token


def test_describe_log_streams_errors(logs: LogsService) -> None:
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        logs.describe_log_streams(GROUP, None, "LogStreamName", False, None, None)
    logs.create_log_group(GROUP)
    with pytest.raises(
        InvalidParameter, match=exactly("Cannot order by LastEventTime with a logStreamNamePrefix.")
    ):
        logs.describe_log_streams(GROUP, "2026", "LastEventTime", False, None, None)
    with pytest.raises(InvalidParameter, match="orderBy"):
        logs.describe_log_streams(GROUP, None, "Size", False, None, None)


# -- PutLogEvents --------------------------------------------------------------------------


def test_put_log_events_needs_an_existing_group_and_stream(logs: LogsService) -> None:
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        logs.put_log_events(GROUP, STREAM, [(1, "x")])
    logs.create_log_group(GROUP)
    with pytest.raises(ResourceNotFound, match=exactly("The specified log stream does not exist.")):
        logs.put_log_events(GROUP, STREAM, [(1, "x")])


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "logEvents"),
        ([(1, "x")] * 10_001, "logEvents"),
        ([(2, "b"), (1, "a")], "chronological order"),
        ([(0, "a"), (DAY_MS + 1, "b")], "24 hours"),
        ([(1, "")], "message"),
        ([(-1, "x")], "timestamp"),
        ([(1, "x" * 262_119)], "Log event too large"),
        ([(1, "x" * 200_000)] * 6, "Upload too large"),
    ],
)
def test_put_log_events_limits(
    logs: LogsService, stream: str, events: list[tuple[int, str]], message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        logs.put_log_events(GROUP, stream, events)


def test_put_log_events_at_the_size_limits_is_accepted(logs: LogsService, stream: str) -> None:
    logs.put_log_events(GROUP, stream, [(1, "x" * 262_118)])
    logs.put_log_events(GROUP, stream, [(2, "y" * (1_048_576 // 4 - 26))] * 4)
    page = logs.get_log_events(GROUP, stream, None, None, None, None, True)
    assert [len(e.message) for e in page.events] == [262_118] * 4  # the 1 MB page cap
    rest = logs.get_log_events(GROUP, stream, None, None, page.next_forward_token, None, True)
    assert [e.message[0] for e in rest.events] == ["y"]
    assert logs.describe_log_groups(GROUP, None, None).items[0].stored_bytes == 262_118 + 4 * (
        1_048_576 // 4 - 26
    )


# -- GetLogEvents --------------------------------------------------------------------------


def follow(
    call: Callable[[str | None], tuple[list[LogEvent], str]], first: str | None = None
) -> tuple[list[list[str]], str]:
    """Call with each returned token until it repeats; the pages and the last token."""
    pages, token = [], first
    for _ in range(1000):
        events, next_token = call(token)
        pages.append([e.message for e in events])
        if next_token == token:
            return pages, next_token
        token = next_token
    raise AssertionError("the token never repeated")


def test_get_log_events_forward_from_the_head_to_the_end(logs: LogsService, stream: str) -> None:
    messages = [f"line {i}" for i in range(250)]
    put(logs, messages)

    def forward(token: str | None) -> tuple[list[LogEvent], str]:
        page = logs.get_log_events(GROUP, stream, None, None, token, 40, True)
        assert page.next_forward_token.startswith("f/")
        assert page.next_backward_token.startswith("b/")
        return page.events, page.next_forward_token

    pages, _ = follow(forward)
    assert [m for page in pages for m in page] == messages
    assert pages[-1] == []
    assert all(len(page) <= 40 for page in pages)


def test_get_log_events_backward_from_the_tail_to_the_head(logs: LogsService, stream: str) -> None:
    messages = [f"line {i}" for i in range(250)]
    put(logs, messages)
    newest = logs.get_log_events(GROUP, stream, None, None, None, 40, False)
    assert [e.message for e in newest.events] == messages[-40:]

    def backward(token: str | None) -> tuple[list[LogEvent], str]:
        page = logs.get_log_events(GROUP, stream, None, None, token, 40, False)
        return page.events, page.next_backward_token

    pages, _ = follow(backward, newest.next_backward_token)
    assert [m for page in reversed(pages) for m in page] == messages[:-40]
    assert pages[-1] == []


def test_a_forward_token_from_the_tail_follows_new_events(logs: LogsService, stream: str) -> None:
    empty = logs.get_log_events(GROUP, stream, None, None, None, None, False)
    assert empty.events == []
    put(logs, ["one", "two"])
    page = logs.get_log_events(GROUP, stream, None, None, empty.next_forward_token, None, False)
    assert [e.message for e in page.events] == ["one", "two"]
    idle = logs.get_log_events(GROUP, stream, None, None, page.next_forward_token, None, False)
    assert idle.events == []
    assert idle.next_forward_token == page.next_forward_token
    put(logs, ["three"], first_ms=5_000)
    later = logs.get_log_events(GROUP, stream, None, None, idle.next_forward_token, None, True)
    assert [e.message for e in later.events] == ["three"]
    assert [e.stream for e in later.events] == [stream]


def test_get_log_events_time_range_is_start_inclusive_end_exclusive(
    logs: LogsService, stream: str
) -> None:
    put(logs, [f"t{i}" for i in range(20)], first_ms=100)
    page = logs.get_log_events(GROUP, stream, 105, 110, None, None, True)
    assert [e.message for e in page.events] == ["t5", "t6", "t7", "t8", "t9"]
    with pytest.raises(InvalidParameter, match="startTime"):
        logs.get_log_events(GROUP, stream, 110, 105, None, None, True)


def test_get_log_events_errors(logs: LogsService, stream: str) -> None:
    with pytest.raises(ResourceNotFound, match="log stream does not exist"):
        logs.get_log_events(GROUP, "nope", None, None, None, None, True)
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        logs.get_log_events("/nope", stream, None, None, None, None, True)
    for limit in (0, 10_001):
        with pytest.raises(InvalidParameter, match="limit"):
            logs.get_log_events(GROUP, stream, None, None, None, limit, True)


def test_a_token_from_another_stream_is_invalid(logs: LogsService, stream: str) -> None:
    logs.create_log_stream(GROUP, "other")
    put(logs, ["x"])
    token = logs.get_log_events(GROUP, stream, None, None, None, None, True).next_forward_token
    with pytest.raises(InvalidParameter, match=exactly("The specified nextToken is invalid.")):
        logs.get_log_events(GROUP, "other", None, None, token, None, True)


# -- FilterLogEvents -----------------------------------------------------------------------


def filter_all(
    logs: LogsService, limit: int | None = None, **query: object
) -> list[list[LogEvent]]:
    pages, token = [], None
    args = {"stream_names": None, "stream_prefix": None, "start_ms": None, "end_ms": None,
            "pattern": None} | query  # fmt: skip
    for _ in range(10_000):
        page = logs.filter_log_events(GROUP, token=token, limit=limit, **args)  # type: ignore[arg-type]
        pages.append(page.events)
        if page.next_token is None:
            return pages
        token = page.next_token
    raise AssertionError("no end")


def spread(logs: LogsService, count: int, streams: int = 4) -> list[str]:
    """`count` events round-robin over streams, timestamps interleaved across them."""
    for s in range(streams):
        logs.create_log_stream(GROUP, f"app-{s}")
    for s in range(streams):
        mine = [
            (t, "ERROR rare" if t % 101 == 0 else f"INFO {t}") for t in range(s, count, streams)
        ]
        for start in range(0, len(mine), 10_000):
            logs.put_log_events(GROUP, f"app-{s}", mine[start : start + 10_000])
    return ["ERROR rare" if t % 101 == 0 else f"INFO {t}" for t in range(count)]


def test_filter_pages_across_streams_in_timestamp_order(logs: LogsService) -> None:
    logs.create_log_group(GROUP)
    expected = spread(logs, 1_000)
    pages = filter_all(logs, limit=30)
    events = [e for page in pages for e in page]
    assert [e.message for e in events] == expected
    assert [e.timestamp_ms for e in events] == sorted(e.timestamp_ms for e in events)
    assert len({e.event_id for e in events}) == len(events)
    assert {e.stream for e in events} == {f"app-{s}" for s in range(4)}
    assert all(e.ingestion_ms == int(NOW_S * 1000) for e in events)


def test_a_rarely_matching_pattern_pages_to_the_end_through_short_pages(
    logs: LogsService,
) -> None:
    logs.create_log_group(GROUP)
    expected = spread(logs, 3_000)
    pages = filter_all(logs, pattern="ERROR")
    assert [e.message for page in pages for e in page] == [m for m in expected if "ERROR" in m]
    assert len(pages) > 3  # bounded scan: the 64-row windows cannot cover 3,000 rows at once


def test_a_never_matching_pattern_ends_with_no_token(logs: LogsService) -> None:
    logs.create_log_group(GROUP)
    spread(logs, 500)
    pages = filter_all(logs, pattern="NoSuchThing")
    assert all(page == [] for page in pages)


def test_filter_by_streams_time_and_pattern(logs: LogsService) -> None:
    logs.create_log_group(GROUP)
    expected = spread(logs, 400)
    logs.create_log_stream(GROUP, "zzz")
    logs.put_log_events(GROUP, "zzz", [(5, "INFO zzz")])

    def messages(**query: object) -> list[str]:
        return [e.message for page in filter_all(logs, **query) for e in page]

    assert messages(stream_names=["app-1"]) == [expected[t] for t in range(1, 400, 4)]
    assert "INFO zzz" not in messages(stream_prefix="app-")
    assert messages(start_ms=10, end_ms=12) == ["INFO 10", "INFO 11", "INFO 12"]
    assert messages(pattern="?zzz ?rare") == [
        "ERROR rare",
        "INFO zzz",
        "ERROR rare",
        "ERROR rare",
        "ERROR rare",
    ]
    assert messages(pattern="INFO -zzz", end_ms=5) == [f"INFO {t}" for t in range(1, 6)]
    assert len(messages(pattern="   ")) == 401


def test_filter_log_events_errors(logs: LogsService) -> None:
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        logs.filter_log_events(GROUP, None, None, None, None, None, None, None)
    logs.create_log_group(GROUP)
    with pytest.raises(InvalidParameter, match="mutually exclusive"):
        logs.filter_log_events(GROUP, ["a"], "a", None, None, None, None, None)
    with pytest.raises(InvalidParameter, match="startTime"):
        logs.filter_log_events(GROUP, None, None, 10, 9, None, None, None)
    with pytest.raises(InvalidParameter, match=exactly("Invalid filter pattern")):
        logs.filter_log_events(GROUP, None, None, None, None, '"unbalanced', None, None)
    for limit in (0, 10_001):
        with pytest.raises(InvalidParameter, match="limit"):
            logs.filter_log_events(GROUP, None, None, None, None, None, None, limit)
    for names in ([], ["s"] * 101, ["bad:name"]):
        with pytest.raises(InvalidParameter, match="logStreamNames"):
            logs.filter_log_events(GROUP, names, None, None, None, None, None, None)


def test_a_filter_token_is_bound_to_its_query(logs: LogsService) -> None:
    logs.create_log_group(GROUP)
    spread(logs, 100)
    token = logs.filter_log_events(GROUP, None, None, None, None, "INFO", None, 5).next_token
    assert token is not None
    with pytest.raises(InvalidParameter, match=exactly("The specified nextToken is invalid.")):
        logs.filter_log_events(GROUP, None, None, None, None, "ERROR", token, 5)
    page = logs.filter_log_events(GROUP, None, None, None, None, "INFO", token, 5)
    assert [e.message for e in page.events] == [f"INFO {t}" for t in range(6, 11)]


def test_events_of_a_deleted_and_recreated_group_are_gone(logs: LogsService, stream: str) -> None:
    put(logs, ["old"])
    logs.delete_log_group(GROUP)
    logs.create_log_group(GROUP)
    logs.create_log_stream(GROUP, stream)
    assert filter_all(logs) == [[]]


# -- expiry --------------------------------------------------------------------------------


def test_expire_applies_group_retention_and_the_default(logs: LogsService) -> None:
    now_ms = int(NOW_S * 1000)
    for group, retention in (("/seven", 7), ("/default", None)):
        logs.create_log_group(group)
        logs.create_log_stream(group, "s")
        if retention:
            logs.put_retention_policy(group, retention)
        stamps = [now_ms - 40 * DAY_MS, now_ms - 20 * DAY_MS, now_ms - DAY_MS]
        for stamp in stamps:
            logs.put_log_events(group, "s", [(stamp, f"at {stamp}")])
    assert logs.expire(now_ms) == 3  # two from /seven, one (40 days) from /default
    left = {
        group: len(logs.get_log_events(group, "s", None, None, None, None, True).events)
        for group in ("/seven", "/default")
    }
    assert left == {"/seven": 1, "/default": 2}


# -- tokens: garbage never crashes ---------------------------------------------------------

garbage_tokens = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=200).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.sampled_from(["f/", "b/", "f/x", "//", "f/WzEsMl0", "W10", "x" * 5000]),
    st.text(max_size=100).map(lambda text: "f/" + text),
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogsService]:
    store = LogStore(tmp_path_factory.mktemp("tokens") / "logs.db")
    service = LogsService(store, REGION, ACCOUNT, 30)
    service.create_log_group(GROUP)
    service.create_log_stream(GROUP, STREAM)
    service.put_log_events(GROUP, STREAM, [(i, f"m{i}") for i in range(10)])
    yield service
    store.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=garbage_tokens)
def test_garbage_tokens_are_rejected_cleanly(seeded: LogsService, token: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: seeded.describe_log_groups(None, None, token),
        lambda: seeded.describe_log_streams(GROUP, None, "LastEventTime", True, None, token),
        lambda: seeded.get_log_events(GROUP, STREAM, None, None, token, None, True),
        lambda: seeded.filter_log_events(GROUP, None, None, None, None, None, token, None),
    ]
    for call in calls:
        with pytest.raises(InvalidParameter, match=exactly("The specified nextToken is invalid.")):
            call()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(0, 9), flip=st.integers(0, 200), bit=st.integers(0, 7))
def test_a_token_with_any_flipped_bit_is_rejected(
    seeded: LogsService, position: int, flip: int, bit: int
) -> None:
    page = seeded.get_log_events(GROUP, STREAM, None, None, None, position + 1, True)
    token = page.next_forward_token[2:]
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[flip % len(raw)] ^= 1 << bit
    forged = "f/" + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidParameter, match="nextToken is invalid"):
        seeded.get_log_events(GROUP, STREAM, None, None, forged, None, True)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(st.binary(min_size=1, max_size=60), st.just(b"[" * 5000),
                      st.sampled_from([b"[1]", b'[1,"x"]', b"[true,2]", b"[1e400,1]", b"[99999999999999999999,1]", b"{}"])))  # fmt: skip
def test_a_token_with_a_valid_checksum_but_a_wrong_body_is_rejected(
    seeded: LogsService, body: bytes
) -> None:
    """The checksum keeps honest clients honest; a forger who knows it still gets an error."""
    scope = logs_tokens.token_scope("events", GROUP, STREAM)
    raw = body + logs_tokens._checksum(scope, body)
    forged = "f/" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    with pytest.raises(InvalidParameter, match="nextToken is invalid"):
        seeded.get_log_events(GROUP, STREAM, None, None, forged, None, True)
