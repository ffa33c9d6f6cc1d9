"""Billed milliseconds and GB-seconds: exact, whatever the floats look like."""

from __future__ import annotations

import math
from decimal import Context, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.metering.usage import (
    FunctionUsage,
    UsageRecord,
    billed_milliseconds,
    gb_seconds_of,
)

# Wide enough to hold the exact sum of any two doubles.
WIDE = Context(prec=2000)


def record(**changes: object) -> UsageRecord:
    fields: dict[str, object] = {
        "request_id": "r-1",
        "function": "fn",
        "version": "$LATEST",
        "architecture": "x86_64",
        "memory_mb": 512,
        "duration_ms": 99.2,
        "init_ms": 0.0,
        "billed_ms": 100,
        "timestamp_ms": 1_790_000_000_000,
    }
    fields.update(changes)
    return UsageRecord(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("duration", "init", "billed"),
    [
        (3.0, None, 3),
        (3.0, 0.0, 3),
        (1.0000000001, None, 2),
        (2.0000000000000004, None, 3),  # the next double after 2.0
        (0.0, None, 1),
        (0.0, 0.0, 1),
        (0.01, None, 1),
        (1.0, None, 1),
        (99.2, 0.0, 100),
        (100.0, 250.0, 350),
        (0.4, 0.6, 1),  # these two doubles sum to exactly 1: their errors cancel
        (1e-300, 3.0, 4),  # a float sum would round the excess away
        (899_999.5, 0.5, 900_000),
    ],
)
def test_billed_milliseconds(duration: float, init: float | None, billed: int) -> None:
    exact = Fraction(duration) + Fraction(init or 0.0)
    assert billed == max(1, math.ceil(exact))  # the table itself agrees with exact arithmetic
    assert billed_milliseconds(duration, init) == billed


@pytest.mark.parametrize("bad", [-0.001, math.nan, math.inf, -math.inf])
def test_billed_milliseconds_rejects_impossible_durations(bad: float) -> None:
    with pytest.raises(ValueError, match="finite, non-negative"):
        billed_milliseconds(bad, None)
    with pytest.raises(ValueError, match="init_ms"):
        billed_milliseconds(1.0, bad)


finite = st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(finite, st.one_of(st.none(), finite))
def test_billed_milliseconds_is_the_exact_ceiling(duration: float, init: float | None) -> None:
    exact = WIDE.add(Decimal(duration), Decimal(init or 0.0))
    billed = billed_milliseconds(duration, init)
    assert billed >= 1
    assert billed - 1 < exact <= billed or (exact == 0 and billed == 1)


def test_gb_seconds_is_exact() -> None:
    assert record(memory_mb=512, billed_ms=100).gb_seconds == Decimal("0.05")
    assert record(memory_mb=128, billed_ms=1).gb_seconds == Decimal("0.000125")
    assert record(memory_mb=1, billed_ms=1).gb_seconds == Decimal("0.0000009765625")
    assert str(record(memory_mb=1024, billed_ms=1000).gb_seconds) == "1"


@given(st.integers(min_value=0, max_value=10**22))
def test_gb_seconds_of_is_mb_ms_over_1024000(mb_ms: int) -> None:
    value = gb_seconds_of(mb_ms)
    assert Fraction(value) == Fraction(mb_ms, 1_024_000)
    text = format(value, "f")
    assert "." not in text or not text.endswith("0")  # no trailing zeros after the point


def test_function_usage_gb_seconds() -> None:
    usage = FunctionUsage("fn", "arm64", requests=3, billed_ms=300, mb_ms=3 * 512 * 100)
    assert usage.gb_seconds == Decimal("0.15")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"architecture": "sparc"}, "unknown architecture"),
        ({"memory_mb": 0}, "memory_mb"),
        ({"billed_ms": 0}, "billed_ms"),
        ({"duration_ms": math.nan}, "duration_ms"),
        ({"init_ms": -1.0}, "init_ms"),
        ({"timestamp_ms": -1}, "timestamp_ms"),
        ({"request_id": ""}, "request id"),
    ],
)
def test_usage_record_refuses_impossible_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        record(**changes)
