"""The next firing of cron schedules: hand-computed cases and a brute-force reference."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from nimbus.events.schedule import CronSchedule, parse_schedule

ANCHOR = 0.0  # cron ignores it; any value must do


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def next_time(expression: str, after: float) -> float | None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    return schedule.next_after(after, ANCHOR)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # last day of February: 28 in 2027, 29 in leap 2028
        ("cron(0 12 L 2 ? *)", at(2027, 1, 1), at(2027, 2, 28, 12)),
        ("cron(0 12 L 2 ? *)", at(2027, 2, 28, 12), at(2028, 2, 29, 12)),
        ("cron(0 12 L * ? *)", at(2028, 2, 29, 12), at(2028, 3, 31, 12)),
        # the 29th of February: 2100 is not a leap year, 2104 is
        ("cron(0 0 29 2 ? *)", at(2027, 1, 1), at(2028, 2, 29)),
        ("cron(0 0 29 2 ? *)", at(2100, 1, 1), at(2104, 2, 29)),
        ("cron(0 0 31 2 ? *)", at(2027, 1, 1), None),
        # 6L: last Friday (26 March 2027, 25 February 2028)
        ("cron(15 10 ? * 6L *)", at(2027, 3, 1), at(2027, 3, 26, 10, 15)),
        ("cron(15 10 ? * 6L *)", at(2028, 2, 1), at(2028, 2, 25, 10, 15)),
        ("cron(0 0 ? * 1L *)", at(2026, 3, 1), at(2026, 3, 29)),
        # 3#2: the second Tuesday (9 February 2027, 9 March 2027)
        ("cron(0 9 ? * 3#2 *)", at(2027, 1, 31), at(2027, 2, 9, 9)),
        ("cron(0 9 ? * 3#2 *)", at(2027, 2, 9, 9), at(2027, 3, 9, 9)),
        ("cron(0 2 ? * SAT#3 *)", at(2024, 9, 1), at(2024, 9, 21, 2)),
        # 2#5: the fifth Monday; 2199 has its first in April (Jan-Mar have four)
        ("cron(0 0 ? * 2#5 2199)", at(2027, 1, 1), at(2199, 4, 29)),
        # 15W: the 15th is a Saturday (June 2024, February 2025), a Sunday (Sept 2024)
        ("cron(0 8 15W * ? *)", at(2024, 6, 1), at(2024, 6, 14, 8)),
        ("cron(0 8 15W * ? *)", at(2025, 2, 1), at(2025, 2, 14, 8)),
        ("cron(0 8 15W * ? *)", at(2024, 9, 1), at(2024, 9, 16, 8)),
        ("cron(0 8 15W * ? *)", at(2024, 3, 1), at(2024, 3, 15, 8)),
        # 1W on a Saturday 1st moves forward to Monday the 3rd; on a Sunday to the 2nd
        ("cron(0 8 1W * ? *)", at(2024, 5, 31), at(2024, 6, 3, 8)),
        ("cron(0 8 1W * ? *)", at(2025, 10, 31), at(2025, 11, 3, 8)),
        ("cron(0 8 1W * ? *)", at(2024, 8, 31), at(2024, 9, 2, 8)),
        # 31W on a Sunday 31st moves back to Friday the 29th, never into the next month
        ("cron(0 8 31W * ? *)", at(2024, 3, 1), at(2024, 3, 29, 8)),
        ("cron(0 8 31W * ? *)", at(2025, 8, 1), at(2025, 8, 29, 8)),
        # ... and a 30-day month has no 31st to be near: April 2024 is skipped
        ("cron(0 8 31W * ? *)", at(2024, 4, 1), at(2024, 5, 31, 8)),
        # LW: the last weekday; the 31st of March 2024 is a Sunday
        ("cron(0 17 LW * ? *)", at(2024, 3, 1), at(2024, 3, 29, 17)),
        ("cron(0 17 LW * ? *)", at(2025, 11, 1), at(2025, 11, 28, 17)),
        ("cron(0 17 LW * ? *)", at(2024, 5, 1), at(2024, 5, 31, 17)),
        # a lone L in day-of-week is Saturday
        ("cron(0 0 ? * L *)", at(2027, 2, 1), at(2027, 2, 6)),
        # a wrapping hour range: 22, 23, 0, 1
        ("cron(30 22-1 * * ? *)", at(2027, 3, 1, 1, 45), at(2027, 3, 1, 22, 30)),
        ("cron(30 22-1 * * ? *)", at(2027, 3, 1, 23, 30), at(2027, 3, 2, 0, 30)),
        ("cron(30 22-1 * * ? *)", at(2027, 3, 2, 0, 30), at(2027, 3, 2, 1, 30)),
        ("cron(30 22-1 * * ? *)", at(2027, 12, 31, 23, 59), at(2028, 1, 1, 0, 30)),
        # 0/15, from between minutes, from a firing, and from just before one
        ("cron(0/15 * * * ? *)", at(2027, 3, 1, 10, 7, 30), at(2027, 3, 1, 10, 15)),
        ("cron(0/15 * * * ? *)", at(2027, 3, 1, 10, 45), at(2027, 3, 1, 11)),
        ("cron(0/15 * * * ? *)", at(2027, 3, 1, 10, 44, 59) + 0.999, at(2027, 3, 1, 10, 45)),
        ("cron(0/15 * * * ? *)", at(2027, 12, 31, 23, 50), at(2028, 1, 1)),
        ("cron(* * * * ? *)", at(2027, 3, 1, 10, 7), at(2027, 3, 1, 10, 8)),
        # MON-FRI from a Friday evening lands on Monday
        ("cron(0 18 ? * MON-FRI *)", at(2027, 2, 5, 18), at(2027, 2, 8, 18)),
        # the recorded example with its year range
        ("cron(0/5 5 ? JAN 1-5 2022)", at(2021, 6, 1), at(2022, 1, 2, 5)),
        ("cron(0/5 5 ? JAN 1-5 2022)", at(2022, 1, 31, 5, 55), None),
        # year bounds: 1970 is the first year, 2199 the last
        ("cron(0 0 1 1 ? 1970)", -1e9, 0.0),
        ("cron(0 0 1 1 ? 1970)", 0.0, None),
        ("cron(0 0 1 1 ? 2199)", at(2198, 6, 1), at(2199, 1, 1)),
        ("cron(0 0 1 1 ? 2199)", at(2199, 1, 1), None),
        ("cron(59 23 31 12 ? *)", at(2199, 12, 31, 23, 58), at(2199, 12, 31, 23, 59)),
        ("cron(59 23 31 12 ? *)", at(2199, 12, 31, 23, 59), None),
        ("cron(* * * * ? *)", at(2200, 1, 1), None),
        ("cron(* * * * ? *)", 1e12, None),
    ],
)
def test_next_after(expression: str, after: float, expected: float | None) -> None:
    assert next_time(expression, after) == expected


def test_anchor_is_ignored() -> None:
    schedule = parse_schedule("cron(0 12 * * ? *)")
    assert schedule.next_after(at(2027, 1, 1), at(2026, 12, 31, 11, 17)) == at(2027, 1, 1, 12)


# --- the brute-force reference ------------------------------------------------------
# Fields are generated as structured items, rendered to text for the parser, and matched
# here by arithmetic on the items, independently of the implementation's value sets.


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    names: tuple[str, ...] = ()


MINUTE = Bounds(0, 59)
HOUR = Bounds(0, 23)
DAY = Bounds(1, 31)
MONTH = Bounds(
    1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
)
WEEKDAY = Bounds(1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
YEAR = Bounds(1970, 2199)


@dataclass(frozen=True)
class Item:
    """`*`, `a`, `a-b`, optionally `/step`; `first` None is the `*`."""

    first: int | None
    last: int | None = None
    step: int | None = None

    def contains(self, value: int, bounds: Bounds) -> bool:
        first = bounds.low if self.first is None else self.first
        if self.first is None:
            last = bounds.high
        elif self.last is None:
            last = bounds.high if self.step else first
        else:
            last = self.last
        size = bounds.high - bounds.low + 1
        offset = (value - first) % size
        return offset <= (last - first) % size and offset % (self.step or 1) == 0


def covers(items: tuple[Item, ...], value: int, bounds: Bounds) -> bool:
    return any(item.contains(value, bounds) for item in items)


def aws_weekday(day: date) -> int:
    return day.isoweekday() % 7 + 1


def days_of(month_start: date) -> list[date]:
    days = []
    day = month_start
    while day.month == month_start.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def nearest_workday(day: date, n: int) -> bool:
    month = days_of(day.replace(day=1))
    if n > len(month):
        return False
    workdays = [d for d in month if d.weekday() < 5]
    return day == min(workdays, key=lambda d: abs(d.day - n))


DayMatch = Callable[[date], bool]


def render(value: int, bounds: Bounds, as_name: bool, lower: bool) -> str:
    if as_name and bounds.names:
        name = bounds.names[value - bounds.low]
        return name.lower() if lower else name
    return str(value)


@st.composite
def values(
    draw: st.DrawFn, bounds: Bounds, steps: bool = True, wraps: bool = True
) -> tuple[str, tuple[Item, ...]]:
    """A plain field: `*` alone, or a list of values, ranges and steps."""
    if draw(st.integers(0, 4)) == 0:
        return "*", (Item(None),)
    texts, items = [], []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["one", "range", "star-step", "one-step", "range-step"]
                if steps
                else ["one", "range"]
            )
        )
        first = draw(st.integers(bounds.low, bounds.high))
        last = draw(st.integers(bounds.low if wraps else first, bounds.high))
        step = draw(st.integers(1, bounds.high - bounds.low + 2))
        name, lower = draw(st.booleans()), draw(st.booleans())
        a, b = render(first, bounds, name, lower), render(last, bounds, name, lower)
        item, text = {
            "one": (Item(first), a),
            "range": (Item(first, last), f"{a}-{b}"),
            "star-step": (Item(None, None, step), f"*/{step}"),
            "one-step": (Item(first, None, step), f"{a}/{step}"),
            "range-step": (Item(first, last, step), f"{a}-{b}/{step}"),
        }[kind]
        items.append(item)
        texts.append(text)
    return ",".join(texts), tuple(items)


@st.composite
def day_fields(draw: st.DrawFn) -> tuple[str, str, DayMatch]:
    """The day-of-month and day-of-week fields (one of them `?`) and their matcher."""
    kind = draw(st.sampled_from(["month-days", "L", "LW", "nW", "weekdays", "lone-L", "dL", "d#n"]))
    n = draw(st.integers(1, 31))
    weekday = draw(st.integers(1, 7))
    nth = draw(st.integers(1, 5))
    if kind == "month-days":
        text, items = draw(values(DAY))
        return text, "?", lambda d: covers(items, d.day, DAY)
    if kind == "weekdays":
        text, items = draw(values(WEEKDAY, steps=False))
        return "?", text, lambda d: covers(items, aws_weekday(d), WEEKDAY)
    wd = render(weekday, WEEKDAY, draw(st.booleans()), lower=False)
    return {
        "L": ("L", "?", lambda d: (d + timedelta(days=1)).day == 1),
        "LW": (
            "LW",
            "?",
            lambda d: (
                d.weekday() < 5
                and all(x.weekday() >= 5 for x in days_of(d.replace(day=1)) if x > d)
            ),
        ),
        "nW": (f"{n}W", "?", lambda d: nearest_workday(d, n)),
        "lone-L": ("?", "L", lambda d: aws_weekday(d) == 7),
        "dL": (
            "?",
            f"{wd}L",
            lambda d: aws_weekday(d) == weekday and (d + timedelta(days=7)).month != d.month,
        ),
        "d#n": (
            "?",
            f"{wd}#{nth}",
            lambda d: aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth,
        ),
    }[kind]


@st.composite
def year_fields(draw: st.DrawFn) -> tuple[str, tuple[Item, ...]]:
    """Mostly `*`, else years near the start times so that the window can meet them."""
    if draw(st.booleans()):
        return "*", (Item(None),)
    return draw(values(Bounds(2018, 2032), wraps=False))


WINDOW = timedelta(days=400)


def reference(
    start: datetime,
    minutes: tuple[Item, ...],
    hours: tuple[Item, ...],
    day_match: DayMatch,
    months: tuple[Item, ...],
    years: tuple[Item, ...],
) -> datetime | None:
    """The first matching minute in the window, stepping a minute at a time but skipping
    the rest of a day (or an hour) that cannot match."""
    moment = start
    while moment < start + WINDOW:
        day = moment.date()
        if not (
            covers(years, moment.year, YEAR)
            and covers(months, moment.month, MONTH)
            and day_match(day)
        ):
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        elif not covers(hours, moment.hour, HOUR):
            moment = moment.replace(minute=0) + timedelta(hours=1)
        elif not covers(minutes, moment.minute, MINUTE):
            moment += timedelta(minutes=1)
        else:
            return moment
    return None


_FIRST, _LAST = int(at(2019, 1, 1)), int(at(2031, 1, 1))
_AFTER = st.one_of(
    st.integers(_FIRST, _LAST).map(float),
    st.integers(_FIRST // 60, _LAST // 60).map(lambda minute: minute * 60.0),
    st.floats(_FIRST, _LAST, allow_nan=False),
)


@settings(max_examples=500, deadline=None)
@given(
    values(MINUTE),
    values(HOUR),
    day_fields(),
    values(MONTH),
    year_fields(),
    _AFTER,
)
def test_matches_brute_force(
    minutes: tuple[str, tuple[Item, ...]],
    hours: tuple[str, tuple[Item, ...]],
    days: tuple[str, str, DayMatch],
    months: tuple[str, tuple[Item, ...]],
    years: tuple[str, tuple[Item, ...]],
    after: float,
) -> None:
    day_of_month, day_of_week, day_match = days
    expression = (
        f"cron({minutes[0]} {hours[0]} {day_of_month} {months[0]} {day_of_week} {years[0]})"
    )
    got = next_time(expression, after)
    # from whole seconds: datetime would round a float to microseconds, maybe up a minute
    second = math.floor(after)
    start = datetime.fromtimestamp(second - second % 60 + 60, UTC)
    expected = reference(start, minutes[1], hours[1], day_match, months[1], years[1])
    event("found in the window" if expected else "none in the window")
    if expected is not None:
        assert got == expected.timestamp(), expression
    else:
        assert got is None or got >= (start + WINDOW).timestamp(), expression
