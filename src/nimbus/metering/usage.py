"""What one invocation used, and the per-function sums a bill is computed from.

Lambda bills every invocation that ran: its duration including INIT (since 2025-08-01),
rounded up to the next whole millisecond, times the configured memory. GB-seconds are kept
as the exact integer MB x billed ms and turned into a `Decimal` only when asked, so summing
millions of records never loses a fraction of a cent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

ARCHITECTURES = ("x86_64", "arm64")
# 1 GB-s = 1024 MB x 1000 ms; 1_024_000 = 2**13 * 5**3, so x / 1_024_000 = x * 5**10 / 10**13.
_MB_MS_SCALE = 5**10
_MB_MS_EXPONENT = -13


def billed_milliseconds(duration_ms: float, init_ms: float | None) -> int:
    """Whole milliseconds billed: ceil(duration + init), at least 1.

    The sum is taken on the exact values of the two floats (as fractions), so a duration a
    hair above a whole millisecond is billed the next one, however small the excess.
    """
    total = Fraction(_measured(duration_ms, "duration_ms"))
    if init_ms is not None:
        total += Fraction(_measured(init_ms, "init_ms"))
    return max(1, math.ceil(total))


def gb_seconds_of(mb_ms: int) -> Decimal:
    """The exact GB-seconds of `mb_ms` (MB x billed ms), without trailing zeros."""
    if mb_ms < 0:
        raise ValueError(f"mb_ms must not be negative, got {mb_ms}")
    scaled, exponent = mb_ms * _MB_MS_SCALE, _MB_MS_EXPONENT
    while exponent < 0 and scaled % 10 == 0:
        scaled, exponent = scaled // 10, exponent + 1
    return Decimal(f"{scaled}E{exponent}")


@dataclass(frozen=True)
class UsageRecord:
    """One invocation that ran (not throttled, not DryRun); `request_id` makes it unique."""

    request_id: str
    function: str
    version: str
    architecture: str
    memory_mb: int
    duration_ms: float
    init_ms: float
    billed_ms: int
    timestamp_ms: int

    def __post_init__(self) -> None:
        if not self.request_id or not self.function:
            raise ValueError("a usage record needs a request id and a function name")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}")
        _measured(self.duration_ms, "duration_ms")
        _measured(self.init_ms, "init_ms")
        for name in ("memory_mb", "billed_ms"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.timestamp_ms < 0:
            raise ValueError(f"timestamp_ms must not be negative, got {self.timestamp_ms}")

    @property
    def mb_ms(self) -> int:
        return self.memory_mb * self.billed_ms

    @property
    def gb_seconds(self) -> Decimal:
        return gb_seconds_of(self.mb_ms)


@dataclass(frozen=True)
class FunctionUsage:
    """One function's usage on one architecture over a period, as the ledger sums it.

    `mb_ms` (sum of memory_mb x billed_ms) is what is billed; the duration and init totals
    are measured floats, for display only.
    """

    function: str
    architecture: str
    requests: int
    billed_ms: int
    mb_ms: int
    duration_ms: float = 0.0
    init_ms: float = 0.0

    @property
    def gb_seconds(self) -> Decimal:
        return gb_seconds_of(self.mb_ms)


def _measured(value: float, name: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite, non-negative number of ms, got {value!r}")
    return value
