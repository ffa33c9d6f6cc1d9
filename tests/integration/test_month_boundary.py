"""The platform at the last second of a month and the first second of the next.

The platform reads "now" from one injected clock, so these tests place it at a month's
end, act, step it across the boundary, act again, and compute every expectation from
the same clock: the bill's month and hours, log timestamps and streams, minute metrics,
message timestamps, LastModified. Nothing here depends on the day the suite runs.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

# At import (collection) time, while "conftest" is still this directory's module.
from conftest import NimbusServer, running_server

from nimbus.cli.main import cli
from nimbus.functions.invoke import InvokeRequest
from nimbus.functions.registry import ConfigChanges
from nimbus.metering.bill import Month
from nimbus.packaging import build_package
from nimbus.platform import Platform
from nimbus.settings import Settings

ROLE = "arn:aws:iam::000000000000:role/test"
SOURCE = "def handler(event, context):\n    print('tick', event['n'])\n    return event['n']\n"
GROUP = "/aws/lambda/ticker"


class SteppedClock:
    """A frozen wall clock that the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def last_second(year: int, month: int) -> float:
    return float(Month(year, month).end_ms // 1000 - 1)


# the end of a year, a leap February, and a 30-day month
BOUNDARIES = [(2026, 12), (2028, 2), (2027, 4)]


@pytest.fixture(params=BOUNDARIES, ids=lambda ym: f"{ym[0]}-{ym[1]:02d}-end")
def month_end(request: pytest.FixtureRequest) -> SteppedClock:
    """The platform clock frozen at 23:59:59 on a month's last day; step it with `.now`."""
    year, month = request.param
    return SteppedClock(last_second(year, month))


Scenario = Callable[[Platform, SteppedClock], Awaitable[None]]


def run(tmp_path: Path, clock: SteppedClock, scenario: Scenario) -> None:
    async def main() -> None:
        platform = Platform(Settings(data_dir=tmp_path / "data"), clock=clock)
        await platform.start()
        try:
            await scenario(platform, clock)
        finally:
            await platform.stop()

    asyncio.run(main())


async def tick(platform: Platform, n: int) -> None:
    request = InvokeRequest(function="ticker", payload=json.dumps({"n": n}).encode())
    assert json.loads((await platform.functions.invoke(request)).payload) == n


def test_usage_logs_and_metrics_fall_in_the_month_they_happened(
    tmp_path: Path, month_end: SteppedClock
) -> None:
    ending = Month.current(month_end())
    starting = Month.current(month_end() + 1)
    assert starting.start_ms == ending.end_ms

    async def scenario(platform: Platform, clock: SteppedClock) -> None:
        changes = ConfigChanges(runtime="python3.11", handler="app.handler", role=ROLE)
        platform.functions.create("ticker", changes, build_package({"app.py": SOURCE}))
        created = platform.registry.get("ticker").last_modified
        assert created.startswith(_iso(clock()))
        for n in range(2):
            await tick(platform, n)
        clock.now += 1  # 00:00:00 on the first day of the next month
        for n in range(2, 5):
            await tick(platform, n)

        assert _requests(platform, None) == 3  # the current month is the clock's
        assert _requests(platform, str(ending)) == 2
        assert _requests(platform, str(starting)) == 3
        comparison = platform.compare_instance(None, "2vCPU-4GB")
        assert comparison.month == starting and comparison.hours == starting.hours

        platform.log_store.flush()
        page = platform.logs.filter_log_events(GROUP, None, None, None, None, "tick", None, None)
        stamps = {
            event.message.split("\t")[-1].strip(): event.timestamp_ms for event in page.events
        }
        assert all(stamps[f"tick {n}"] < starting.start_ms for n in range(2))
        assert all(stamps[f"tick {n}"] >= starting.start_ms for n in range(2, 5))
        # the warm environment was created in the old month: its stream keeps that date
        day = datetime.fromtimestamp(ending.end_ms / 1000 - 1, UTC).strftime("%Y/%m/%d")
        assert {event.stream.split("[")[0] for event in page.events} == {day + "/"}

        minutes = platform.metrics.minutes("ticker", last=2)
        assert [(m.minute.timestamp(), m.invocations) for m in minutes] == [
            (starting.start_ms / 1000 - 60, 2),
            (starting.start_ms / 1000, 3),
        ]

    run(tmp_path, month_end, scenario)


def test_message_timestamps_follow_the_clock(tmp_path: Path, month_end: SteppedClock) -> None:
    sent_at = month_end()

    async def scenario(platform: Platform, clock: SteppedClock) -> None:
        url = await platform.queues.create_queue("boundary", {})
        await platform.queues.send_message(url, "across the month")
        clock.now += 1
        (message,) = await platform.queues.receive_message(url, attribute_names=["All"])
        assert int(message.attributes["SentTimestamp"]) == int(sent_at * 1000)
        assert int(message.attributes["ApproximateFirstReceiveTimestamp"]) == int(clock() * 1000)

    run(tmp_path, month_end, scenario)


def test_a_server_started_with_an_offset_clock_bills_its_own_month(
    tmp_path: Path,
) -> None:
    """The setting end to end: a server five minutes before the end of a month bills that
    month, not today's, and the CLI's default month is the server's."""
    target = last_second(2027, 2) - 300
    offset = target - datetime.now(UTC).timestamp()
    env = {"NIMBUS_CLOCK_OFFSET_SECONDS": repr(offset)}
    with running_server(tmp_path / "data", env) as server:
        lam = server.client("lambda")
        lam.create_function(
            FunctionName="ticker", Runtime="python3.11", Role=ROLE, Handler="app.handler",
            Code={"ZipFile": build_package({"app.py": SOURCE})},
        )  # fmt: skip
        lam.invoke(FunctionName="ticker", Payload=b'{"n": 1}')
        result = CliRunner().invoke(cli, ["bill", "--json"], env=_cli_env(server))
        assert result.exit_code == 0, result.output
        bill = json.loads(result.output)
        assert bill["month"] == "2027-02"
        assert [line["requests"] for line in bill["functions"]] == [1]


def _requests(platform: Platform, month: str | None) -> int:
    return sum(line.requests for line in platform.bill(month).lines if line.function == "ticker")


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _cli_env(server: NimbusServer) -> dict[str, str]:
    return {**os.environ, **server.cli_env}


assert calendar.isleap(2028)  # the February boundary above is a 29-day month
