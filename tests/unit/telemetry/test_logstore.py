"""LogStore: queued appends, read-your-writes, paging positions, bounded scans, expiry."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nimbus.telemetry.filter_pattern import parse_filter_pattern
from nimbus.telemetry.logstore import LogStore
from nimbus.telemetry.logstore_records import (
    HEAD,
    TAIL,
    EventRecord,
    Position,
    StreamCreation,
    StreamOrder,
)
from nimbus.telemetry.logstore_scan import GroupScan, ScanBudget

DAY_MS = 86_400_000
GROUP = "/aws/lambda/fn"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

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


def group_id(store: LogStore, name: str = GROUP) -> int:
    record = store.group(name)
    assert record is not None
    return record.id


def stream_id(store: LogStore, stream: str, group: str = GROUP) -> int:
    record = store.stream(group_id(store, group), stream)
    assert record is not None
    return record.id


def scan_all(store: LogStore, scan: GroupScan, limit: int, budget: ScanBudget) -> list[list[str]]:
    """Follow resume positions to the end; the messages of every call's page."""
    pages, after = [], HEAD
    for _ in range(10_000):
        result = store.scan_group(scan, after, limit, 1_048_576, budget)
        pages.append([event.message for event in result.events])
        if result.resume is None:
            return pages
        assert result.resume > after  # every call makes progress
        after = result.resume
    raise AssertionError("the scan never ended")


def test_appended_events_are_readable_without_an_explicit_flush(store: LogStore) -> None:
    store.append(GROUP, "s1", [(10, "first"), (11, "second")])
    events = store.stream_events(stream_id(store, "s1"), HEAD, True, 100, 1_000_000)
    assert [(e.timestamp_ms, e.message, e.stream) for e in events] == [
        (10, "first", "s1"),
        (11, "second", "s1"),
    ]


def test_append_creates_group_and_stream_with_their_times(
    store: LogStore, clock: FakeClock
) -> None:
    store.append(GROUP, "s1", [(5_000, "a"), (7_000, "bb")])
    clock.now += 60
    store.append(GROUP, "s1", [(6_000, "ccc")])
    group = store.group(GROUP)
    assert group is not None
    assert group.created_ms == 1_800_000_000_000
    assert group.retention_days is None
    assert group.stored_bytes == 6
    stream = store.stream(group.id, "s1")
    assert stream is not None
    assert (stream.first_event_ms, stream.last_event_ms) == (5_000, 7_000)
    assert stream.last_ingestion_ms == 1_800_000_060_000


def test_an_empty_append_creates_nothing(store: LogStore) -> None:
    store.append(GROUP, "s1", [])
    assert store.group(GROUP) is None


def test_events_survive_close_and_reopen(tmp_path: Path, clock: FakeClock) -> None:
    first = LogStore(tmp_path / "logs.db", clock)
    first.append(GROUP, "s1", [(i, f"line {i}") for i in range(500)])
    first.close()
    again = LogStore(tmp_path / "logs.db", clock)
    try:
        events = again.stream_events(stream_id(again, "s1"), HEAD, True, 1000, 10**7)
        assert [e.message for e in events] == [f"line {i}" for i in range(500)]
        again.append(GROUP, "s1", [(500, "after reopen")])
        events = again.stream_events(stream_id(again, "s1"), TAIL, False, 1, 10**7)
        assert [e.message for e in events] == ["after reopen"]
    finally:
        again.close()


def test_append_after_close_is_refused(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.db")
    store.close()
    with pytest.raises(RuntimeError):
        store.append(GROUP, "s", [(1, "x")])
    store.flush()  # nothing pending: returns rather than waiting for a writer that is gone
    store.close()


def test_appends_from_many_threads_are_all_committed(store: LogStore) -> None:
    def writer(n: int) -> None:
        for i in range(300):
            store.append(GROUP, f"s{n}", [(i, f"{n}:{i}")])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = store.scan_group(GroupScan(group_id(store)), HEAD, 10_000, 10**8)
    assert sorted(e.message for e in result.events) == sorted(
        f"{n}:{i}" for n in range(4) for i in range(300)
    )
    assert result.resume is None


def test_a_message_sqlite_cannot_encode_is_stored_with_a_replacement(store: LogStore) -> None:
    store.append(GROUP, "s1", [(1, "bad \ud800 surrogate"), (2, "fine")])
    events = store.stream_events(stream_id(store, "s1"), HEAD, True, 10, 10**6)
    assert [e.message for e in events] == ["bad \ufffd surrogate", "fine"]


def test_a_malformed_append_is_dropped_alone_and_the_writer_survives(
    store: LogStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.append(GROUP, "s1", [(1, "before")])
    store.append(GROUP, "s1", [(2, None)])  # type: ignore[list-item]
    store.append(GROUP, "s1", [("three", "bad timestamp")])  # type: ignore[list-item]
    store.append(GROUP, "s1", [(4, "after")])
    store.flush()
    events = store.stream_events(stream_id(store, "s1"), HEAD, True, 10, 10**6)
    assert [e.message for e in events] == ["before", "after"]
    assert "dropped 2 of 4 queued log appends" in caplog.text
    store.append(GROUP, "s1", [(5, "still writing")])
    assert len(store.stream_events(stream_id(store, "s1"), HEAD, True, 10, 10**6)) == 3


def test_stream_events_forward_and_backward_from_a_position(store: LogStore) -> None:
    store.append(GROUP, "s1", [(t, f"m{t}") for t in range(20)])
    sid = stream_id(store, "s1")
    forward = store.stream_events(sid, HEAD, True, 5, 10**6)
    assert [e.message for e in forward] == ["m0", "m1", "m2", "m3", "m4"]
    after = store.stream_events(sid, forward[-1].position, True, 3, 10**6)
    assert [e.message for e in after] == ["m5", "m6", "m7"]
    newest = store.stream_events(sid, TAIL, False, 3, 10**6)
    assert [e.message for e in newest] == ["m17", "m18", "m19"]
    gap = Position(newest[0].timestamp_ms, newest[0].id - 1)
    before = store.stream_events(sid, gap, False, 2, 10**6)
    assert [e.message for e in before] == ["m15", "m16"]


def test_stream_events_honour_the_time_range_and_the_byte_cap(store: LogStore) -> None:
    store.append(GROUP, "s1", [(t, "x" * 100) for t in range(50)])
    sid = stream_id(store, "s1")
    ranged = store.stream_events(sid, HEAD, True, 100, 10**6, start_ms=10, end_ms=20)
    assert [e.timestamp_ms for e in ranged] == list(range(10, 20))
    capped = store.stream_events(sid, HEAD, True, 100, 1_000)
    assert len(capped) == 10
    newest = store.stream_events(sid, TAIL, False, 100, 1_000)
    assert [e.timestamp_ms for e in newest] == list(range(40, 50))


def test_events_with_equal_timestamps_keep_their_append_order(store: LogStore) -> None:
    store.append(GROUP, "s1", [(7, f"same {i}") for i in range(10)])
    sid = stream_id(store, "s1")
    seen: list[str] = []
    origin = HEAD
    while page := store.stream_events(sid, origin, True, 3, 10**6):
        seen += [e.message for e in page]
        origin = page[-1].position
    assert seen == [f"same {i}" for i in range(10)]


def interleaved(store: LogStore, count: int, streams: int = 5) -> list[str]:
    """`count` events spread over streams, appended out of timestamp order per batch."""
    expected = []
    for t in range(count):
        stream = f"stream-{t % streams}"
        message = "needle" if t % 97 == 0 else f"hay {t}"
        expected.append((t // 2, message))
        store.append(GROUP, stream, [(t // 2, message)])
    return [message for _, message in sorted(expected, key=lambda pair: pair[0])]


def test_group_scan_pages_in_timestamp_order_without_loss_or_duplicates(
    store: LogStore,
) -> None:
    expected = interleaved(store, 3_000)
    pages = scan_all(store, GroupScan(group_id(store)), 250, ScanBudget(window_rows=400))
    assert [m for page in pages for m in page] == expected
    assert all(len(page) <= 250 for page in pages)


def test_a_rare_pattern_with_small_windows_returns_short_pages_until_the_end(
    store: LogStore,
) -> None:
    expected = interleaved(store, 3_000)
    scan = GroupScan(group_id(store), pattern=parse_filter_pattern("needle"))
    budget = ScanBudget(window_rows=110, seconds=0)  # one window per call
    pages = scan_all(store, scan, 10_000, budget)
    assert len(pages) == 28  # 3,000 rows / 110 per window
    assert any(page == [] for page in pages)
    assert [m for page in pages for m in page] == [m for m in expected if m == "needle"]


def test_a_pattern_matched_in_python_pages_like_one_matched_in_sql(store: LogStore) -> None:
    for t in range(400):
        level = "ERROR" if t % 7 == 0 else "INFO"
        store.append(GROUP, f"s{t % 3}", [(t, f'{{"level": "{level}", "n": {t}}}')])
    json_scan = GroupScan(group_id(store), pattern=parse_filter_pattern('{ $.level = "ERROR" }'))
    text_scan = GroupScan(group_id(store), pattern=parse_filter_pattern('"ERROR"'))
    budget = ScanBudget(window_rows=40, seconds=0)
    by_json = [m for page in scan_all(store, json_scan, 5, budget) for m in page]
    by_text = [m for page in scan_all(store, text_scan, 5, budget) for m in page]
    assert by_json == by_text
    assert len(by_json) == len(range(0, 400, 7))


def test_group_scan_filters_streams_and_time(store: LogStore) -> None:
    for t in range(60):
        store.append(GROUP, ["app-1", "app-2", "other"][t % 3], [(t, str(t))])
    gid = group_id(store)

    def messages(scan: GroupScan) -> list[str]:
        return [m for page in scan_all(store, scan, 7, ScanBudget(window_rows=9)) for m in page]

    assert messages(GroupScan(gid, stream_names=("app-2",))) == [str(t) for t in range(1, 60, 3)]
    by_prefix = messages(GroupScan(gid, stream_prefix="app-"))
    assert by_prefix == [str(t) for t in range(60) if t % 3 != 2]
    assert messages(GroupScan(gid, start_ms=10, end_ms=14)) == ["10", "11", "12", "13", "14"]
    assert messages(GroupScan(gid, stream_names=("missing",))) == []


def test_a_scan_stops_at_the_byte_cap_and_resumes_after_the_last_event(store: LogStore) -> None:
    store.append(GROUP, "s", [(t, "y" * 1000) for t in range(30)])
    result = store.scan_group(GroupScan(group_id(store)), HEAD, 100, 10_000)
    assert len(result.events) == 10
    assert result.resume == result.events[-1].position


def test_streams_order_and_paging(store: LogStore) -> None:
    for name, last in [("b", 30), ("a", 10), ("c", 20)]:
        store.append(GROUP, name, [(last, "x")])
    assert store.create_stream(GROUP, "d") is StreamCreation.CREATED  # no events yet
    gid = group_id(store)

    def names(order: StreamOrder, descending: bool, after: tuple[int, str] | None) -> list[str]:
        return [s.name for s in store.streams(gid, None, order, descending, after, 2)]

    assert names(StreamOrder.NAME, False, None) == ["a", "b"]
    assert names(StreamOrder.NAME, False, (0, "b")) == ["c", "d"]
    assert names(StreamOrder.NAME, True, None) == ["d", "c"]
    assert names(StreamOrder.LAST_EVENT, True, None) == ["b", "c"]
    assert names(StreamOrder.LAST_EVENT, True, (20, "c")) == ["a", "d"]
    assert names(StreamOrder.LAST_EVENT, False, None) == ["d", "a"]
    assert [s.name for s in store.streams(gid, "c", StreamOrder.NAME, False, None, 5)] == ["c"]


def test_groups_by_prefix_after_a_name(store: LogStore) -> None:
    for name in ["/aws/lambda/b", "/aws/lambda/a", "/other", "/aws/lambda/c"]:
        assert store.create_group(name)
    assert not store.create_group("/other")
    names = [g.name for g in store.groups("/aws/lambda/", "/aws/lambda/a", 10)]
    assert names == ["/aws/lambda/b", "/aws/lambda/c"]
    assert [g.name for g in store.groups(None, None, 2)] == ["/aws/lambda/a", "/aws/lambda/b"]


def test_create_stream_reports_missing_group_and_existing_stream(store: LogStore) -> None:
    assert store.create_stream(GROUP, "s") is StreamCreation.NO_GROUP
    store.create_group(GROUP)
    assert store.create_stream(GROUP, "s") is StreamCreation.CREATED
    assert store.create_stream(GROUP, "s") is StreamCreation.EXISTS


def test_expire_deletes_events_past_each_groups_retention(
    store: LogStore, clock: FakeClock
) -> None:
    now_ms = int(clock.now * 1000)
    store.append(GROUP, "old", [(now_ms - 10 * DAY_MS, "old"), (now_ms - 9 * DAY_MS, "older?")])
    store.append(GROUP, "mixed", [(now_ms - 8 * DAY_MS, "gone"), (now_ms - DAY_MS, "kept")])
    store.append("/kept/by/default", "s", [(now_ms - 8 * DAY_MS, "default keeps")])
    assert store.set_retention(GROUP, 7)
    assert store.expire(now_ms, default_retention_days=30) == 3
    gid = group_id(store)
    assert store.stream(gid, "old") is None  # every event expired: the stream went too
    remaining = store.scan_group(GroupScan(gid), HEAD, 100, 10**6).events
    assert [e.message for e in remaining] == ["kept"]
    group = store.group(GROUP)
    assert group is not None
    assert group.stored_bytes == len("kept")
    assert store.expire(now_ms, default_retention_days=30) == 0
    other = store.scan_group(GroupScan(group_id(store, "/kept/by/default")), HEAD, 10, 10**6)
    assert [e.message for e in other.events] == ["default keeps"]


def test_a_stream_dropped_by_expiry_is_recreated_by_its_next_append(
    store: LogStore, clock: FakeClock
) -> None:
    now_ms = int(clock.now * 1000)
    store.append(GROUP, "s", [(now_ms - 2 * DAY_MS, "old")])
    store.expire(now_ms, default_retention_days=1)
    store.append(GROUP, "s", [(now_ms, "new")])
    events = store.stream_events(stream_id(store, "s"), HEAD, True, 10, 10**6)
    assert [e.message for e in events] == ["new"]


def test_expire_deletes_in_batches_larger_than_one(store: LogStore, clock: FakeClock) -> None:
    now_ms = int(clock.now * 1000)
    store.append(GROUP, "s", [(now_ms - 5 * DAY_MS + i, "x") for i in range(12_000)])
    assert store.expire(now_ms, default_retention_days=1) == 12_000


def test_a_deleted_group_disappears_at_once_and_its_events_are_purged_later(
    store: LogStore,
) -> None:
    store.append(GROUP, "s", [(i, "before") for i in range(10)])
    old_id = group_id(store)
    assert store.delete_group(GROUP)
    assert not store.delete_group(GROUP)
    assert store.group(GROUP) is None
    store.append(GROUP, "s", [(100, "after")])
    assert group_id(store) != old_id
    result = store.scan_group(GroupScan(group_id(store)), HEAD, 100, 10**6)
    assert [e.message for e in result.events] == ["after"]
    assert store.expire(0, default_retention_days=30) == 10  # the orphans
    assert store.expire(0, default_retention_days=30) == 0


def test_a_failing_command_reaches_its_caller_and_the_store_keeps_working(
    store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(GROUP, "s", [(1, "one")])
    store.flush()

    def broken(*args: object) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("nimbus.telemetry.logstore_writer.LogWriter.create_group", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.create_group("/x")
    store.append(GROUP, "s", [(2, "two")])
    events = store.stream_events(stream_id(store, "s"), HEAD, True, 10, 10**6)
    assert [e.message for e in events] == ["one", "two"]


def test_event_record_position_orders_by_timestamp_then_id() -> None:
    early = EventRecord(9, "s", 1, 0, "a")
    late = EventRecord(2, "s", 2, 0, "b")
    assert early.position < late.position
    assert Position.before(2) < late.position <= Position.after(2)
