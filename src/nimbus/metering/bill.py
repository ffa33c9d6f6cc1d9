"""The monthly Lambda bill, and what an always-on server would have cost instead.

Every amount is an exact `Decimal` in USD: the arithmetic runs in a context that traps any
rounding, so a bill is either exact or an error, never silently off. Only `total_rounded`
is rounded, to the cent, half up.

The free tier is the account's, not a function's: requests and GB-seconds are summed over
every function first, and free GB-seconds go to the most expensive architecture first,
which is the reading most favourable to the customer.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from nimbus.errors import ServiceError, ValidationError
from nimbus.metering.prices import PriceList
from nimbus.metering.usage import FunctionUsage, gb_seconds_of

CURRENCY = "USD"
CENT = Decimal("0.01")
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_MS_PER_DAY = 86_400_000


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC, the period a bill covers."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.year <= 9999 and 1 <= self.month <= 12):
            raise ValidationError(_invalid_month(f"{self.year:04d}-{self.month:02d}"))

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.fullmatch(text)
        if match is None:
            raise ValidationError(_invalid_month(text))
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def current(cls, now: float) -> Month:
        """The UTC month of `now`, in epoch seconds (`time.time()`): no time zone to guess."""
        utc = datetime.fromtimestamp(now, UTC)
        return cls(utc.year, utc.month)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def start_ms(self) -> int:
        """Epoch milliseconds of the first instant of the month (inclusive)."""
        return calendar.timegm((self.year, self.month, 1, 0, 0, 0)) * 1000

    @property
    def end_ms(self) -> int:
        """Epoch milliseconds of the first instant of the next month (exclusive)."""
        return self.start_ms + self.days * _MS_PER_DAY

    @property
    def hours(self) -> int:
        return self.days * 24

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class BillLine:
    """One function on one architecture; the costs are gross (before the free tier)."""

    function: str
    architecture: str
    requests: int
    gb_seconds: Decimal
    request_cost: Decimal
    duration_cost: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "architecture": self.architecture,
            "requests": self.requests,
            "gbSeconds": amount(self.gb_seconds),
            "requestCost": amount(self.request_cost),
            "durationCost": amount(self.duration_cost),
        }


@dataclass(frozen=True)
class FreeTier:
    """The part of the account's usage the free tier covered, and what that was worth."""

    requests: int
    gb_seconds: Decimal
    gb_seconds_by_architecture: Mapping[str, Decimal]
    request_credit: Decimal
    compute_credit: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "gbSeconds": amount(self.gb_seconds),
            "gbSecondsByArchitecture": {
                arch: amount(gbs) for arch, gbs in self.gb_seconds_by_architecture.items()
            },
            "requestCredit": amount(self.request_credit),
            "computeCredit": amount(self.compute_credit),
        }


@dataclass(frozen=True)
class Bill:
    """A month's bill: gross lines, account totals, the free tier, net costs and total."""

    month: Month
    lines: tuple[BillLine, ...]
    requests: int
    gb_seconds: Decimal
    free_tier: FreeTier
    request_cost: Decimal  # net of the free tier
    compute_cost: Decimal  # net of the free tier
    total: Decimal
    total_rounded: Decimal

    @property
    def gross_request_cost(self) -> Decimal:
        return _exact_sum(line.request_cost for line in self.lines)

    @property
    def gross_compute_cost(self) -> Decimal:
        return _exact_sum(line.duration_cost for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        """The HTTP JSON form: amounts are exact decimal strings, counts are integers.

        Every amount is USD and exact ("1.73334"); only `totalRounded` is to the cent.
        """
        return {
            "month": str(self.month),
            "currency": CURRENCY,
            "functions": [line.to_json() for line in self.lines],
            "usage": {"requests": self.requests, "gbSeconds": amount(self.gb_seconds)},
            "gross": {
                "requestCost": amount(self.gross_request_cost),
                "computeCost": amount(self.gross_compute_cost),
            },
            "freeTier": self.free_tier.to_json(),
            "net": {
                "requestCost": amount(self.request_cost),
                "computeCost": amount(self.compute_cost),
            },
            "total": amount(self.total),
            "totalRounded": format(self.total_rounded, "f"),
        }


@dataclass(frozen=True)
class InstanceComparison:
    """What one always-on server of a given type costs for a whole month."""

    month: Month
    instance: str
    hourly_price: Decimal
    hours: int
    cost: Decimal
    cost_rounded: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "month": str(self.month),
            "currency": CURRENCY,
            "instance": self.instance,
            "hourlyPrice": amount(self.hourly_price),
            "hours": self.hours,
            "cost": amount(self.cost),
            "costRounded": format(self.cost_rounded, "f"),
        }


def compute_bill(month: Month, usage: Sequence[FunctionUsage], prices: PriceList) -> Bill:
    """Price `usage` (one month of the ledger) with `prices`, free tier included."""
    with localcontext(_EXACT):
        ordered = sorted(usage, key=lambda u: (u.function, u.architecture))
        lines = tuple(_line(item, prices) for item in ordered)
        requests = sum(item.requests for item in usage)
        free = _free_tier(requests, _mb_ms_by_architecture(usage), prices)
        request_cost = _exact_sum(line.request_cost for line in lines) - free.request_credit
        compute_cost = _exact_sum(line.duration_cost for line in lines) - free.compute_credit
        total = request_cost + compute_cost
    return Bill(
        month=month,
        lines=lines,
        requests=requests,
        gb_seconds=gb_seconds_of(sum(item.mb_ms for item in usage)),
        free_tier=free,
        request_cost=request_cost,
        compute_cost=compute_cost,
        total=total,
        total_rounded=to_cent(total),
    )


def compare_instance(month: Month, instance: str, prices: PriceList) -> InstanceComparison:
    hourly = prices.instance_hourly.get(instance)
    if hourly is None:
        known = ", ".join(sorted(prices.instance_hourly)) or "none configured"
        raise ValidationError(f"Invalid instance '{instance}': expected one of {known}")
    with localcontext(_EXACT):
        cost = hourly * month.hours
    return InstanceComparison(month, instance, hourly, month.hours, cost, to_cent(cost))


def amount(value: Decimal) -> str:
    """An exact decimal string without exponent or trailing zeros ("2.500005", "150000")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=Context(prec=200))


def _line(usage: FunctionUsage, prices: PriceList) -> BillLine:
    return BillLine(
        function=usage.function,
        architecture=usage.architecture,
        requests=usage.requests,
        gb_seconds=usage.gb_seconds,
        request_cost=_request_cost(usage.requests, prices),
        duration_cost=usage.gb_seconds * _gb_second_price(usage.architecture, prices),
    )


def _free_tier(requests: int, mb_ms: Mapping[str, int], prices: PriceList) -> FreeTier:
    free_requests = min(requests, prices.free_requests)
    remaining = prices.free_gb_seconds
    applied: dict[str, Decimal] = {}
    credit = Decimal(0)
    for arch in sorted(mb_ms, key=lambda a: (-_gb_second_price(a, prices), a)):
        applied[arch] = min(remaining, gb_seconds_of(mb_ms[arch]))
        remaining -= applied[arch]
        credit += applied[arch] * _gb_second_price(arch, prices)
    return FreeTier(
        requests=free_requests,
        gb_seconds=_exact_sum(applied.values()),
        gb_seconds_by_architecture=applied,
        request_credit=_request_cost(free_requests, prices),
        compute_credit=credit,
    )


def _mb_ms_by_architecture(usage: Sequence[FunctionUsage]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in usage:
        totals[item.architecture] = totals.get(item.architecture, 0) + item.mb_ms
    return totals


def _request_cost(requests: int, prices: PriceList) -> Decimal:
    return prices.per_million_requests * requests / 1_000_000


def _gb_second_price(architecture: str, prices: PriceList) -> Decimal:
    price = prices.per_gb_second.get(architecture)
    if price is None:
        raise ServiceError(f"No price per GB-second is configured for '{architecture}'")
    return price


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    with localcontext(_EXACT):
        return sum(values, Decimal(0))


def _invalid_month(text: str) -> str:
    return f"Invalid month '{text}': expected YYYY-MM"
