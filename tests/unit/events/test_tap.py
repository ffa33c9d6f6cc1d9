"""EventTap: numbered, filtered by bus, and a waiting watcher wakes on the next event."""

from __future__ import annotations

import asyncio

from nimbus.events.tap import EventTap


def test_after_filters_by_bus_and_sequence() -> None:
    tap = EventTap()
    tap.record("a", {"id": "1"}, ("r",))
    tap.record("b", {"id": "2"}, ())
    tap.record("a", {"id": "3"}, ())
    assert [t.event["id"] for t in tap.after("a", 0)] == ["1", "3"]
    assert [t.event["id"] for t in tap.after(None, 1)] == ["2", "3"]
    assert tap.after("a", 3) == []


def test_a_sequence_from_an_earlier_process_shows_everything_kept() -> None:
    tap = EventTap()
    tap.record("a", {"id": "1"}, ())
    assert [t.sequence for t in tap.after("a", 99)] == [1]


def test_only_the_last_events_are_kept() -> None:
    tap = EventTap(keep=2)
    for number in range(5):
        tap.record("a", {"id": str(number)}, ())
    assert [t.event["id"] for t in tap.after(None, 0)] == ["3", "4"]


def test_a_waiting_watcher_wakes_when_its_bus_gets_an_event() -> None:
    async def scenario() -> list[str]:
        tap = EventTap()
        waiting = asyncio.create_task(tap.wait_after("a", 0, timeout=30))
        await asyncio.sleep(0)  # let the watcher start waiting
        tap.record("b", {"id": "other bus"}, ())
        await asyncio.sleep(0)
        assert not waiting.done()
        tap.record("a", {"id": "mine"}, ())
        return [t.event["id"] for t in await asyncio.wait_for(waiting, 5)]

    assert asyncio.run(scenario()) == ["mine"]


def test_a_watcher_with_nothing_to_see_returns_empty_at_its_timeout() -> None:
    assert asyncio.run(EventTap().wait_after(None, 0, timeout=0.01)) == []
