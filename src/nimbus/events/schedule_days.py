"""Which days of a month a cron expression selects, from day-of-month or day-of-week.

EventBridge takes exactly one of the two fields (the other is `?`), so a schedule has one
`DayRule`. Plain lists, ranges and steps select the same days every month; `L`, `LW`,
`nW`, `nL` and `d#n` depend on the month's length and on the weekday it starts on, so
every rule answers for one (year, month) at a time.

Weekdays are numbered as AWS numbers them: 1 = Sunday ... 7 = Saturday.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from nimbus.events.schedule_fields import (
    DAYS_OF_MONTH,
    DAYS_OF_WEEK,
    invalid,
    parse_values,
)

_SATURDAY = 7
_SUNDAY = 1
_NEAREST_WEEKDAY = re.compile(r"([0-9]+)W")
_NTH_WEEKDAY = re.compile(r"([0-9A-Za-z]+)#([0-9])")
_LAST_WEEKDAY = re.compile(r"([0-9A-Za-z]+)L")


def month_shape(year: int, month: int) -> tuple[int, int]:
    """The AWS weekday of the month's first day, and the month's length."""
    monday_based, length = calendar.monthrange(year, month)
    return (monday_based + 1) % 7 + 1, length


def weekday_of(day: int, first_weekday: int) -> int:
    return (first_weekday - 1 + day - 1) % 7 + 1


@dataclass(frozen=True)
class MonthDays:
    """Days by number; a day the month lacks (the 31st of April) is skipped."""

    days: tuple[int, ...]

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        _, length = month_shape(year, month)
        return tuple(day for day in self.days if day <= length)


@dataclass(frozen=True)
class LastDay:
    """`L` in day-of-month."""

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        return (month_shape(year, month)[1],)


@dataclass(frozen=True)
class LastWorkday:
    """`LW`: the month's last Monday-to-Friday day."""

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first, length = month_shape(year, month)
        weekday = weekday_of(length, first)
        back = {_SATURDAY: 1, _SUNDAY: 2}.get(weekday, 0)
        return (length - back,)


@dataclass(frozen=True)
class NearestWorkday:
    """`nW`: the Monday-to-Friday day nearest day n, never leaving the month."""

    day: int

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first, length = month_shape(year, month)
        if self.day > length:
            # `31W` has no day to be near in a 30-day month; we skip the month rather
            # than guess at a day AWS does not document
            return ()
        weekday = weekday_of(self.day, first)
        if weekday == _SATURDAY:
            return (self.day + 2,) if self.day == 1 else (self.day - 1,)
        if weekday == _SUNDAY:
            return (self.day - 2,) if self.day == length else (self.day + 1,)
        return (self.day,)


@dataclass(frozen=True)
class Weekdays:
    """Every day falling on one of the listed weekdays."""

    weekdays: tuple[int, ...]

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first, length = month_shape(year, month)
        wanted = set(self.weekdays)
        return tuple(day for day in range(1, length + 1) if weekday_of(day, first) in wanted)


@dataclass(frozen=True)
class NthWeekday:
    """`d#n`: the nth weekday d of the month; months without a fifth one are skipped."""

    weekday: int
    nth: int

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first, length = month_shape(year, month)
        day = 1 + (self.weekday - first) % 7 + 7 * (self.nth - 1)
        return (day,) if day <= length else ()


@dataclass(frozen=True)
class LastWeekday:
    """`dL`: the month's last weekday d."""

    weekday: int

    def days_in(self, year: int, month: int) -> tuple[int, ...]:
        first, length = month_shape(year, month)
        return (length - (weekday_of(length, first) - self.weekday) % 7,)


DayRule = MonthDays | LastDay | LastWorkday | NearestWorkday | Weekdays | NthWeekday | LastWeekday


def parse_day_of_month(text: str) -> DayRule:
    """`L`, `LW` and `nW` stand alone: like Quartz, whose syntax AWS follows, they are
    not combined with other days in a list."""
    if text == "L":
        return LastDay()
    # `LW` is not in the AWS table, but the console accepts it (grumBit/
    # aws_cron_expression_validator#18, tried there) and CloudWatch Events announced it
    # (serverless/serverless-local-schedule#12, `cron(0 21 LW * ? *)`).
    if text == "LW":
        return LastWorkday()
    nearest = _NEAREST_WEEKDAY.fullmatch(text)
    if nearest:
        return NearestWorkday(DAYS_OF_MONTH.value(nearest.group(1)))
    return MonthDays(parse_values(text, DAYS_OF_MONTH))


def parse_day_of_week(text: str) -> DayRule:
    """`d#n` and `dL` stand alone; AWS allows a single `#` per field."""
    if text == "L":
        # alone, `L` is the last day of the week: every Saturday
        return Weekdays((_SATURDAY,))
    nth = _NTH_WEEKDAY.fullmatch(text)
    if nth:
        count = int(nth.group(2))
        if not 1 <= count <= 5:
            raise invalid()
        return NthWeekday(DAYS_OF_WEEK.value(nth.group(1)), count)
    last = _LAST_WEEKDAY.fullmatch(text)
    if last:
        return LastWeekday(DAYS_OF_WEEK.value(last.group(1)))
    return Weekdays(parse_values(text, DAYS_OF_WEEK))
