"""`cron(...)` schedules: the six fields, and the search for the next matching minute.

The search walks year, month and day, asking the day rule for the matching days of each
candidate month, so a schedule that fires once every four years (`cron(0 0 29 2 ? *)`)
or never again costs a few hundred steps at most, not one per minute.
"""

from __future__ import annotations

import calendar
import math
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime

from nimbus.events.schedule_days import DayRule, parse_day_of_month, parse_day_of_week
from nimbus.events.schedule_fields import (
    HOURS,
    MINUTES,
    MONTHS,
    YEARS,
    invalid,
    parse_values,
)

_FIELD_COUNT = 6
_FIRST_SECOND = calendar.timegm((YEARS.low, 1, 1, 0, 0, 0))
_END_SECOND = calendar.timegm((YEARS.high + 1, 1, 1, 0, 0, 0))


@dataclass(frozen=True)
class CronSchedule:
    """A parsed `cron(...)`; each field is the sorted tuple of the values it selects."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DayRule
    months: tuple[int, ...]
    years: tuple[int, ...]

    def next_after(self, after: float, anchor: float) -> float | None:
        """Second 0 of the first matching minute that starts after `after`, or None.

        `anchor` is unused: a cron schedule is tied to the calendar, not to its rule.
        """
        start = max((math.floor(after / 60) + 1) * 60, _FIRST_SECOND)
        if start >= _END_SECOND:
            return None
        moment = datetime.fromtimestamp(start, UTC)
        return self._first_from(moment)

    def _first_from(self, moment: datetime) -> float | None:
        today = (moment.year, moment.month, moment.day)
        for year in self.years[bisect_left(self.years, moment.year) :]:
            for month in self.months:
                if (year, month) < today[:2]:
                    continue
                for day in self.days.days_in(year, month):
                    if (year, month, day) < today:
                        continue
                    if (year, month, day) == today:
                        clock = self._time_from(moment.hour, moment.minute)
                    else:
                        clock = (self.hours[0], self.minutes[0])
                    if clock is not None:
                        return float(calendar.timegm((year, month, day, *clock, 0)))
        return None

    def _time_from(self, hour: int, minute: int) -> tuple[int, int] | None:
        """The first (hour, minute) of the day at or after the given one."""
        if hour in self.hours:
            later = self.minutes[bisect_left(self.minutes, minute) :]
            if later:
                return hour, later[0]
        later_hours = self.hours[bisect_left(self.hours, hour + 1) :]
        return (later_hours[0], self.minutes[0]) if later_hours else None


def parse_cron(body: str) -> CronSchedule:
    """The schedule for the text between `cron(` and `)`: six fields, one space apart."""
    fields = body.split(" ")
    if len(fields) != _FIELD_COUNT:
        raise invalid()
    minutes, hours, day_of_month, month, day_of_week, year = fields
    # exactly one of the day fields is `?`: AWS has no "both" (nor "neither") form
    if (day_of_month == "?") == (day_of_week == "?"):
        raise invalid()
    if day_of_month == "?":
        days = parse_day_of_week(day_of_week)
    else:
        days = parse_day_of_month(day_of_month)
    return CronSchedule(
        minutes=parse_values(minutes, MINUTES),
        hours=parse_values(hours, HOURS),
        days=days,
        months=parse_values(month, MONTHS),
        years=parse_values(year, YEARS),
    )
