"""The usage ledger: acknowledged means journaled (strict: committed), exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nimbus.errors import ServiceError
from nimbus.metering.bill import Month
from nimbus.metering.ledger import UsageLedger
from nimbus.metering.usage import FunctionUsage, UsageRecord

NOVEMBER = Month(2026, 11)
IN_NOVEMBER = NOVEMBER.start_ms + 3_600_000


def usage(
    request_id: str,
    function: str = "fn",
    *,
    architecture: str = "x86_64",
    memory_mb: int = 512,
    billed_ms: int = 100,
    timestamp_ms: int = IN_NOVEMBER,
) -> UsageRecord:
    return UsageRecord(
        request_id=request_id,
        function=function,
        version="$LATEST",
        architecture=architecture,
        memory_mb=memory_mb,
        duration_ms=billed_ms - 0.25,
        init_ms=0.0,
        billed_ms=billed_ms,
        timestamp_ms=timestamp_ms,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "usage" / "usage.db"


@pytest.fixture
def ledger(path: Path) -> Iterator[UsageLedger]:
    ledger = UsageLedger(path)
    yield ledger
    ledger.close()


async def record_all(ledger: UsageLedger, records: list[UsageRecord]) -> None:
    await asyncio.gather(*(ledger.record(item) for item in records))


def test_concurrent_records_are_all_in_the_monthly_sums(ledger: UsageLedger) -> None:
    records = [usage(f"a-{i}", "a", memory_mb=512, billed_ms=100) for i in range(300)]
    records += [usage(f"b-{i}", "b", architecture="arm64", memory_mb=128, billed_ms=7 + i)
                for i in range(200)]  # fmt: skip
    asyncio.run(record_all(ledger, records))
    assert ledger.monthly(NOVEMBER) == [
        FunctionUsage("a", "x86_64", 300, 300 * 100, 300 * 512 * 100, 300 * 99.75, 0.0),
        FunctionUsage(
            "b",
            "arm64",
            200,
            sum(7 + i for i in range(200)),
            128 * sum(7 + i for i in range(200)),
            sum(7 + i - 0.25 for i in range(200)),
            0.0,
        ),
    ]


def test_group_commit_batches_concurrent_callers(ledger: UsageLedger) -> None:
    asyncio.run(record_all(ledger, [usage(f"r-{i}") for i in range(400)]))
    assert 1 <= ledger.commits <= 40


def test_a_lone_caller_commits_each_record(ledger: UsageLedger) -> None:
    async def one_by_one() -> None:
        for i in range(5):
            await ledger.record(usage(f"r-{i}"))

    asyncio.run(one_by_one())
    assert ledger.commits == 5


def test_a_request_id_is_billed_once(ledger: UsageLedger) -> None:
    first = usage("same", billed_ms=100)
    asyncio.run(record_all(ledger, [first, first, usage("same", billed_ms=999)]))
    asyncio.run(ledger.record(first))
    (only,) = ledger.monthly(NOVEMBER)
    assert (only.requests, only.billed_ms) == (1, 100)
    assert list(ledger.records()) == [first]


def test_months_are_separated_at_utc_midnight(ledger: UsageLedger) -> None:
    october_last = usage("oct", timestamp_ms=NOVEMBER.start_ms - 1)
    november_first = usage("nov", timestamp_ms=NOVEMBER.start_ms)
    december_first = usage("dec", timestamp_ms=NOVEMBER.end_ms)
    asyncio.run(record_all(ledger, [december_first, october_last, november_first]))
    assert [u.requests for u in ledger.monthly(NOVEMBER)] == [1]
    assert list(ledger.records(NOVEMBER)) == [november_first]
    assert list(ledger.records(Month(2026, 10))) == [october_last]
    assert list(ledger.records()) == [october_last, november_first, december_first]
    assert ledger.monthly(Month(2025, 11)) == []


def test_records_pages_through_everything_in_time_order(ledger: UsageLedger) -> None:
    records = [usage(f"r-{i:05d}", timestamp_ms=IN_NOVEMBER + i % 7) for i in range(2_345)]
    asyncio.run(record_all(ledger, records))
    assert list(ledger.records()) == sorted(records, key=lambda r: (r.timestamp_ms, r.request_id))


def test_records_survive_reopening(path: Path) -> None:
    ledger = UsageLedger(path)
    records = [usage(f"r-{i}", architecture="arm64", memory_mb=2048) for i in range(50)]
    asyncio.run(record_all(ledger, records))
    ledger.close()
    reopened = UsageLedger(path)
    try:
        assert set(reopened.records()) == set(records)
        assert reopened.monthly(NOVEMBER)[0].mb_ms == 50 * 2048 * 100
        asyncio.run(reopened.record(records[0]))  # still exactly once after a restart
        assert reopened.monthly(NOVEMBER)[0].requests == 50
    finally:
        reopened.close()


def test_a_failed_commit_reaches_every_waiter(path: Path) -> None:
    ledger = UsageLedger(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the ledger cannot commit

        async def attempt() -> list[BaseException | None]:
            calls = (ledger.record(usage(f"r-{i}")) for i in range(5))
            return await asyncio.gather(*calls, return_exceptions=True)

        errors = asyncio.run(attempt())
        assert all(isinstance(error, ServiceError) for error in errors)
        assert all(isinstance(error.__cause__, sqlite3.OperationalError) for error in errors)  # type: ignore[union-attr]
        with pytest.raises(ServiceError):  # a read must flush first, and cannot yet
            ledger.monthly(NOVEMBER)
        blocker.execute("ROLLBACK")
        # Journaled before the commit failed, so kept: the invocations did run.
        assert sorted(r.request_id for r in ledger.records()) == [f"r-{i}" for i in range(5)]
        asyncio.run(ledger.record(usage("r-5")))  # the writer carries on after a failure
        assert len(list(ledger.records())) == 6
    finally:
        blocker.close()
        ledger.close()


def test_a_cancelled_caller_still_has_its_usage_recorded(path: Path) -> None:
    ledger = UsageLedger(path)

    async def cancel_while_waiting() -> None:
        task = asyncio.create_task(ledger.record(usage("cancelled")))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_while_waiting())
    ledger.close()  # drains the queue
    reopened = UsageLedger(path)
    try:
        assert [r.request_id for r in reopened.records()] == ["cancelled"]
    finally:
        reopened.close()


def test_journaled_records_are_replayed_by_the_next_ledger(path: Path) -> None:
    """A ledger that never flushed (the process died): the next one on the path replays."""
    crashed = UsageLedger(path, sync_interval_s=3600)
    records = [usage(f"r-{i}") for i in range(30)]
    asyncio.run(record_all(crashed, records))
    assert crashed.commits == 0  # only in the journal so far
    (segment,) = (path.parent / "usage.db.journal").iterdir()
    successor = UsageLedger(path)
    try:
        assert set(successor.records()) == set(records)
        assert not segment.exists()  # replayed, then retired
    finally:
        successor.close()
        crashed.close()  # commits its pending rows again: ignored, still once each
    reopened = UsageLedger(path)
    try:
        assert reopened.monthly(NOVEMBER)[0].requests == 30
    finally:
        reopened.close()


def test_the_flusher_commits_within_the_interval(path: Path) -> None:
    ledger = UsageLedger(path, sync_interval_s=0.01)
    try:
        asyncio.run(record_all(ledger, [usage(f"r-{i}") for i in range(10)]))
        assert wait_for(lambda: ledger.commits >= 1)  # no read: the thread did it
        assert ledger.monthly(NOVEMBER)[0].requests == 10
    finally:
        ledger.close()


def test_a_torn_last_journal_line_is_skipped(path: Path) -> None:
    crashed = UsageLedger(path, sync_interval_s=3600)
    asyncio.run(crashed.record(usage("whole")))
    (segment,) = (path.parent / "usage.db.journal").iterdir()
    with segment.open("ab") as handle:
        handle.write(b'["torn", "fn"')  # a machine crash mid-write
    successor = UsageLedger(path)
    try:
        assert [r.request_id for r in successor.records()] == ["whole"]
    finally:
        successor.close()
        crashed.close()


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    event = threading.Event()
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        event.wait(0.005)
    return True


def test_a_closed_ledger_refuses_records(ledger: UsageLedger) -> None:
    ledger.close()
    ledger.close()
    with pytest.raises(ServiceError, match="closed"):
        asyncio.run(ledger.record(usage("late")))


def test_record_needs_a_running_loop(ledger: UsageLedger) -> None:
    coroutine = ledger.record(usage("r"))
    with pytest.raises(RuntimeError):
        coroutine.send(None)
    coroutine.close()
