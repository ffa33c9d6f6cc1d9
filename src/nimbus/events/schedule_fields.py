"""The value grammar shared by the cron fields: lists, ranges, steps and names.

A field such as `0/15`, `MON-FRI` or `20-2,5` becomes the sorted tuple of the values it
selects. Ranges whose start is above their end wrap around the field (`20-2` in hours is
20..23 and 0..2), except in the year field, which has no cycle to wrap around.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nimbus.errors import ValidationError

INVALID = "Parameter ScheduleExpression is not valid."

# ASCII digits only: `\d` and `int` would also take other scripts' digits
_NUMBER = re.compile(r"[0-9]+")

MONTH_NAMES: Mapping[str, int] = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
WEEKDAY_NAMES: Mapping[str, int] = {
    name: number
    for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)
}


def invalid() -> ValidationError:
    """The one error AWS gives for any malformed expression, whatever the fault."""
    return ValidationError(INVALID)


@dataclass(frozen=True)
class FieldSpec:
    """One cron field's bounds and the wildcards AWS documents for it."""

    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)
    steps: bool = True
    wraps: bool = True

    def value(self, token: str) -> int:
        """A single number or name, which must lie within the field's bounds."""
        # The EventBridge console takes `mon` and `Wed` as well as `MON` (reported in
        # grumBit/aws_cron_expression_validator#18 and beemhq/aws-cron-parser#7).
        number = self.names.get(token.upper()) if token.isascii() else None
        if number is None and _NUMBER.fullmatch(token):
            number = int(token)
        if number is None or not self.low <= number <= self.high:
            raise invalid()
        return number


MINUTES = FieldSpec(0, 59)
HOURS = FieldSpec(0, 23)
DAYS_OF_MONTH = FieldSpec(1, 31)
MONTHS = FieldSpec(1, 12, MONTH_NAMES)
# The documented wildcards for day-of-week exclude `/`.
DAYS_OF_WEEK = FieldSpec(1, 7, WEEKDAY_NAMES, steps=False)
YEARS = FieldSpec(1970, 2199, wraps=False)


def parse_values(text: str, spec: FieldSpec) -> tuple[int, ...]:
    """The sorted values a comma-separated field selects."""
    items = text.split(",")
    if len(items) > 1 and "*" in items:
        raise invalid()
    selected: set[int] = set()
    for item in items:
        selected.update(_item_values(item, spec))
    return tuple(sorted(selected))


def _item_values(item: str, spec: FieldSpec) -> list[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not spec.steps or not _NUMBER.fullmatch(step_text) or int(step_text) == 0:
            raise invalid()
        # a step beyond the field (`15/65`) leaves just the start, which AWS accepts as
        # far as third-party validators tried; we take it rather than guess a limit
        step = int(step_text)
    if base == "*":
        first, last = spec.low, spec.high
    elif "-" in base:
        start, _, end = base.partition("-")
        first, last = spec.value(start), spec.value(end)
    else:
        first = spec.value(base)
        # `a/b` runs from a to the field's end; a lone `a` is just itself
        last = spec.high if slash else first
    return _cycle(first, last, spec)[::step]


def _cycle(first: int, last: int, spec: FieldSpec) -> list[int]:
    """The values from `first` to `last`, wrapping past the field's end when needed."""
    if first <= last:
        return list(range(first, last + 1))
    if not spec.wraps:
        raise invalid()
    return list(range(first, spec.high + 1)) + list(range(spec.low, last + 1))
