"""Schedule expressions: what parses (aws-semantics §1.13), what each selects, and rate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.errors import ValidationError
from nimbus.events.schedule import CronSchedule, RateSchedule, parse_schedule
from nimbus.events.schedule_days import (
    LastDay,
    LastWeekday,
    LastWorkday,
    MonthDays,
    NearestWorkday,
    NthWeekday,
    Weekdays,
)

# recorded against AWS (§1.13)
AWS_ACCEPTED = [
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0 2 ? * SAT *)",
    "cron(5,35 14 * * ? *)",
    "cron(15 10 ? * 6L 2002-2005)",
    "cron(0 2 ? * SAT#3 *)",
    "cron(* * ? * SAT#3 *)",
    "cron(0/5 5 ? JAN 1-5 2022)",
]
AWS_REJECTED = [
    "rate(10 seconds)",
    "rate(10 years)",
    "rate(1 minutes)",
    "rate(1 hours)",
    "rate(1 days)",
    "rate(10 minute)",
    "rate(10 hour)",
    "rate(10 day)",
    "rate()",
    "rate(10)",
    "rate(10 minutess)",
    "rate(foo minutes)",
    "rate(0 minutes)",
    "rate(-10 minutes)",
    "rate(10 MINUTES)",
    "rate( 10 minutes )",
    " rate(10 minutes)",
    "cron(INVALID)",
    "cron(0 dummy ? * MON-FRI *)",
    "cron(7 20 * * NOT *)",
    "cron(71 8 1 * ? *)",
    "cron(0 1 * * * *)",
]

# the documented grammar beyond the recorded examples, and our decisions (LW, names in
# any case, a lone L in day-of-week meaning Saturday)
ALSO_ACCEPTED = [
    "rate(1 minute)",
    "rate(1 hour)",
    "rate(1 day)",
    "rate(10 minutes)",
    "rate(2 hours)",
    "rate(7 days)",
    "cron(0 20-2 * * ? *)",
    "cron(0 0 28-3 * ? *)",
    "cron(0 0 ? NOV-FEB FRI-MON *)",
    "cron(0 11-23/2 * * ? *)",
    "cron(0 0 1 1-12/3 ? *)",
    "cron(0 0 1 */2 ? 2020/5)",
    "cron(1-7/2,11-23/2,40 * * * ? *)",
    "cron(0 0 L * ? *)",
    "cron(0 0 LW * ? *)",
    "cron(0 0 1W * ? *)",
    "cron(0 0 31W * ? *)",
    "cron(0 0 ? * L *)",
    "cron(0 0 ? * FRIL *)",
    "cron(0 0 ? * 1L *)",
    "cron(0 0 ? * 2#5 *)",
    "cron(0 0 ? * mon-Fri *)",
    "cron(0 0 1 jan,Jul ? *)",
    "cron(05 07 01 02 ? *)",
    "cron(0 0 1 1 ? 1970-2199)",
]
ALSO_REJECTED = [
    "",
    "cron()",
    "CRON(0 0 1 1 ? *)",
    "Rate(1 minute)",
    "rate(01 minute)",
    "rate(1  minute)",
    "rate(1 minute) ",
    "cron(0 0 1 1 ?)",
    "cron(0 0 1 1 ? * *)",
    "cron(0  0 1 1 ? *)",
    "cron( 0 0 1 1 ? *)",
    "cron(0 0 1 1 ? * )",
    "cron(0\t0 1 1 ? *)",
    "cron(0 0 ? * ? *)",
    "cron(0 0 * * * *)",
    "cron(0 0 1 * 2 *)",
    "cron(60 * * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 0 * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 1 0 ? *)",
    "cron(0 0 1 13 ? *)",
    "cron(0 0 ? * 0 *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 1 1 ? 1969)",
    "cron(0 0 1 1 ? 2200)",
    "cron(0 0 1 1 ? 2199-1970)",
    "cron(0/0 * * * ? *)",
    "cron(*/ * * * ? *)",
    "cron(/5 * * * ? *)",
    "cron(1- * * * ? *)",
    "cron(-1 * * * ? *)",
    "cron(1-2-3 * * * ? *)",
    "cron(1,,2 * * * ? *)",
    "cron(1, * * * ? *)",
    "cron(*,5 * * * ? *)",
    "cron(0 0 ? * 1/2 *)",
    "cron(0 0 ? * 3#2,5#3 *)",
    "cron(0 0 ? * MON,3#2 *)",
    "cron(0 0 ? * 2#6 *)",
    "cron(0 0 ? * 2#0 *)",
    "cron(0 0 ? * #2 *)",
    "cron(0 0 ? * 8L *)",
    "cron(0 0 3L * ? *)",
    "cron(0 0 L-3 * ? *)",
    "cron(0 0 W * ? *)",
    "cron(0 0 0W * ? *)",
    "cron(0 0 32W * ? *)",
    "cron(0 0 1W,15W * ? *)",
    "cron(0 0 L,15 * ? *)",
    "cron(0 0 ? * L,MON *)",
    "cron(0 0 ? * MONDAY *)",
    "cron(0 0 1 JANUARY ? *)",
    "cron(\u0661 0 1 1 ? *)",
    "cron(0 0 \u0661W * ? *)",
    "rate(\u0661 minute)",
]


def _padded_cron(length: int) -> str:
    """A valid cron expression of exactly `length` characters (a long minutes list)."""
    minutes = "0" * (length - 16 - 2 * 119) + ",0" * 119
    text = f"cron({minutes} * * * ? *)"
    assert len(text) == length
    return text


@pytest.mark.parametrize("text", [*AWS_ACCEPTED, *ALSO_ACCEPTED, _padded_cron(256)])
def test_accepted(text: str) -> None:
    assert isinstance(parse_schedule(text), RateSchedule | CronSchedule)


@pytest.mark.parametrize("text", [*AWS_REJECTED, *ALSO_REJECTED, _padded_cron(257)])
def test_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_schedule(text)
    assert caught.value.message == "Parameter ScheduleExpression is not valid."
    assert caught.value.code == "ValidationException"


@pytest.mark.parametrize(
    ("text", "period_s"),
    [
        ("rate(1 minute)", 60),
        ("rate(15 minutes)", 900),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_rate_period(text: str, period_s: int) -> None:
    assert parse_schedule(text) == RateSchedule(period_s)


def _cron(text: str) -> CronSchedule:
    schedule = parse_schedule(text)
    assert isinstance(schedule, CronSchedule)
    return schedule


def test_cron_fields() -> None:
    schedule = _cron("cron(1/10 20-2 ? NOV-FEB MON-FRI 2020/60)")
    assert schedule.minutes == (1, 11, 21, 31, 41, 51)
    assert schedule.hours == (0, 1, 2, 20, 21, 22, 23)
    assert schedule.months == (1, 2, 11, 12)
    assert schedule.days == Weekdays((2, 3, 4, 5, 6))
    assert schedule.years == (2020, 2080, 2140)


def test_steps_over_ranges_and_lists() -> None:
    assert _cron("cron(0/15 * * * ? *)").minutes == (0, 15, 30, 45)
    assert _cron("cron(*/20 * * * ? *)").minutes == (0, 20, 40)
    assert _cron("cron(50-10/5 * * * ? *)").minutes == (0, 5, 10, 50, 55)
    assert _cron("cron(5,1-3,2 * * * ? *)").minutes == (1, 2, 3, 5)
    assert _cron("cron(0 0 1 */5 ? *)").months == (1, 6, 11)
    assert _cron("cron(0 0 30-2/2 * ? *)").days == MonthDays((1, 30))


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("cron(0 0 L * ? *)", LastDay()),
        ("cron(0 0 LW * ? *)", LastWorkday()),
        ("cron(0 0 15W * ? *)", NearestWorkday(15)),
        ("cron(0 0 ? * L *)", Weekdays((7,))),
        ("cron(0 0 ? * 6L *)", LastWeekday(6)),
        ("cron(0 0 ? * friL *)", LastWeekday(6)),
        ("cron(0 0 ? * 3#2 *)", NthWeekday(3, 2)),
        ("cron(0 0 ? * SAT#3 *)", NthWeekday(7, 3)),
        ("cron(0 0 ? * SUN,sat *)", Weekdays((1, 7))),
    ],
)
def test_day_rules(text: str, days: object) -> None:
    assert _cron(text).days == days


def test_rate_counts_from_the_anchor() -> None:
    every_5 = RateSchedule(300)
    anchor = 1_700_000_000.25
    assert every_5.next_after(anchor, anchor) == anchor + 300
    assert every_5.next_after(anchor - 10_000, anchor) == anchor + 300
    assert every_5.next_after(anchor + 299.99, anchor) == anchor + 300
    assert every_5.next_after(anchor + 300, anchor) == anchor + 600
    assert every_5.next_after(anchor + 3001, anchor) == anchor + 3300


_RATES = st.builds(
    lambda value, unit: f"rate({value} {unit}{'s' if value != 1 else ''})",
    st.integers(1, 10_000),
    st.sampled_from(["minute", "hour", "day"]),
)
_TIMES = st.floats(0, 6e9, allow_nan=False, allow_infinity=False)


@given(_RATES, _TIMES, _TIMES, st.sampled_from([None, -1e-3, 0.0, 1e-3]))
def test_rate_property(text: str, anchor: float, after: float, nudge: float | None) -> None:
    schedule = parse_schedule(text)
    assert isinstance(schedule, RateSchedule)
    period = schedule.period_s
    if nudge is not None:
        # land exactly on (or a hair beside) a firing, where rounding could slip
        after = anchor + round((after - anchor) / period) * period + nudge
    fired = schedule.next_after(after, anchor)
    assert fired is not None
    k = round((fired - anchor) / period)
    assert k >= 1
    assert fired == anchor + k * period
    assert fired > after
    assert k == 1 or anchor + (k - 1) * period <= after
