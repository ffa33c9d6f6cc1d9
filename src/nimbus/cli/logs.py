"""`nimbus logs NAME`: a function's log events, optionally followed as they arrive."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from nimbus.cli.client import CliError, Connection, pass_connection

_SPAN = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
FOLLOW_INTERVAL_SECONDS = 1.0


def parse_since(text: str, now: datetime) -> datetime:
    """`10m`, `2h30m`, `1d`, `45s`, `1w` ago, or an ISO 8601 time (UTC when naive)."""
    seconds = _spans(text.strip().lower())
    if seconds is not None:
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"invalid --since {text!r}: expected a span like 10m, 2h, 1d or an ISO time"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _spans(spec: str) -> int | None:
    compact = spec.replace(" ", "")
    if not compact:
        return None
    position, total = 0, 0
    for match in _SPAN.finditer(compact):
        if match.start() != position:
            return None
        total += int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return total if position == len(compact) else None


def format_event(event: dict[str, Any], show_stream: bool) -> str:
    moment = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    message = str(event["message"]).rstrip("\n")
    return f"{stamp} {event['logStreamName']} {message}" if show_stream else f"{stamp} {message}"


class LogFollower:
    """Pages of FilterLogEvents from `start_ms`, each event once, in time order."""

    def __init__(self, client: Any, group: str, start_ms: int, pattern: str | None) -> None:
        self._client = client
        self._group = group
        self._start_ms = start_ms
        self._pattern = pattern
        self._seen_at_start: set[str] = set()

    def poll(self) -> Iterator[dict[str, Any]]:
        """Every event since the last poll (events at the boundary millisecond deduplicated)."""
        request: dict[str, Any] = {"logGroupName": self._group, "startTime": self._start_ms}
        if self._pattern:
            request["filterPattern"] = self._pattern
        for page in self._client.get_paginator("filter_log_events").paginate(**request):
            for event in page.get("events", []):
                if event["timestamp"] == self._start_ms and event["eventId"] in self._seen_at_start:
                    continue
                if event["timestamp"] > self._start_ms:
                    self._start_ms = event["timestamp"]
                    self._seen_at_start = set()
                self._seen_at_start.add(event["eventId"])
                yield event


@click.command()
@click.argument("name")
@click.option(
    "--since", default="10m", show_default=True, help="How far back: 10m, 2h, 1d or an ISO time."
)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they arrive.")
@click.option("--filter", "pattern", default=None, help="A CloudWatch Logs filter pattern.")
@click.option("--show-stream", is_flag=True, help="Print each event's log stream.")
@pass_connection
def logs(
    connection: Connection, name: str, since: str, follow: bool, pattern: str | None,
    show_stream: bool,
) -> None:  # fmt: skip
    """Print a function's log events (log group /aws/lambda/NAME)."""
    start = parse_since(since, datetime.now(UTC))
    group = name if name.startswith("/") else f"/aws/lambda/{name}"
    client = connection.client("logs")
    follower = LogFollower(client, group, int(start.timestamp() * 1000), pattern)
    with connection.reporting_errors():
        while True:
            for event in follower.poll():
                click.echo(format_event(event, show_stream))
            if not follow:
                return
            time.sleep(FOLLOW_INTERVAL_SECONDS)
