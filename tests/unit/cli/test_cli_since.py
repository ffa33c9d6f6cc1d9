"""`--since` for `nimbus logs`: spans and ISO times, one clear error otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.cli.client import CliError
from nimbus.cli.logs import parse_since

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@pytest.mark.parametrize(
    ("text", "ago"),
    [("10m", 600), ("2h30m", 9000), ("1d", 86400), ("45s", 45), ("1w", 604800), (" 5M ", 300)],
)
def test_spans(text: str, ago: int) -> None:
    assert parse_since(text, NOW) == NOW - timedelta(seconds=ago)


def test_iso_times_naive_means_utc() -> None:
    assert parse_since("2026-11-28T18:00:00", NOW) == datetime(2026, 11, 28, 18, tzinfo=UTC)
    aware = parse_since("2026-11-28T18:00:00+01:00", NOW)
    assert aware == datetime(2026, 11, 28, 17, tzinfo=UTC)


@given(
    st.lists(st.tuples(st.integers(0, 999), st.sampled_from(sorted(UNITS))), min_size=1, max_size=4)
)
def test_any_sum_of_spans(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    seconds = sum(n * UNITS[unit] for n, unit in parts)
    assert parse_since(text, NOW) == NOW - timedelta(seconds=seconds)


@given(st.text(max_size=20))
def test_anything_else_is_a_cli_error(text: str) -> None:
    try:
        parse_since(text, NOW)
    except CliError as error:
        assert "invalid --since" in error.message


@pytest.mark.parametrize("text", ["", "10", "m", "10x", "yesterday", "1h-5m"])
def test_rejects(text: str) -> None:
    with pytest.raises(CliError):
        parse_since(text, NOW)
