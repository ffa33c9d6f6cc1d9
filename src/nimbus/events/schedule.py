"""EventBridge schedule expressions: `rate(5 minutes)` and `cron(0 12 * * ? *)`.

`parse_schedule` validates a rule's `ScheduleExpression` once, as PutRule does, and gives
a `Schedule` whose `next_after` the scheduler asks for the next firing. Times are epoch
seconds in UTC, the only zone AWS schedules in. The cron grammar lives in
`schedule_cron` (fields, search), `schedule_days` (the day rules) and `schedule_fields`
(lists, ranges, steps, names).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nimbus.events.schedule_cron import CronSchedule, parse_cron
from nimbus.events.schedule_fields import invalid

__all__ = ["CronSchedule", "RateSchedule", "Schedule", "parse_schedule"]

_MAX_LENGTH = 256
# units are case-sensitive and take no spaces beyond the one separator, as AWS records
_RATE = re.compile(r"rate\(([1-9][0-9]*) (minute|hour|day)(s?)\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RateSchedule:
    """`rate(n unit)`: every `period_s` seconds, counted from the rule's anchor."""

    period_s: int

    def next_after(self, after: float, anchor: float) -> float | None:
        """The first `anchor + k * period_s` (k >= 1) strictly after `after`."""
        k = max(1, math.floor((after - anchor) / self.period_s) + 1)
        # the division can round either way; settle k on the exact comparisons
        while k > 1 and anchor + (k - 1) * self.period_s > after:
            k -= 1
        while anchor + k * self.period_s <= after:
            k += 1
        return anchor + k * self.period_s


Schedule = RateSchedule | CronSchedule


def parse_schedule(text: str) -> Schedule:
    """The schedule `text` describes; raises ValidationError as PutRule does if invalid."""
    if len(text) > _MAX_LENGTH:
        raise invalid()
    rate = _RATE.fullmatch(text)
    if rate:
        return _rate(int(rate.group(1)), rate.group(2), plural=bool(rate.group(3)))
    cron = _CRON.fullmatch(text)
    if cron:
        return parse_cron(cron.group(1))
    raise invalid()


def _rate(value: int, unit: str, *, plural: bool) -> RateSchedule:
    if plural != (value != 1):
        raise invalid()
    return RateSchedule(value * _UNIT_SECONDS[unit])
