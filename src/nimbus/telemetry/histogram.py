"""Histograms cheap enough for the invoke hot path.

`LogHistogram` answers percentiles with a bounded relative error without keeping samples:
every positive value lands in the bucket `ceil(log_gamma(value))` and is read back as the
bucket's midpoint in relative terms, so each reported order statistic is within
`RELATIVE_ERROR` of the true one. Memory is one dict entry per occupied bucket: at most
`ln(max / min) / ln(gamma) + 1` entries, about 520 for everything from 1 µs to 15 minutes.

`FixedHistogram` counts into fixed upper bounds, the shape Prometheus scrapes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

RELATIVE_ERROR = 0.02
_GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_INV_LOG_GAMMA = 1 / math.log(_GAMMA)
# A bucket `k` covers (gamma**(k-1), gamma**k]; this point is within RELATIVE_ERROR of both.
_MIDPOINT = 2 / (_GAMMA + 1)
# Below this a value is counted as zero: timers cannot measure it, and tinier values would
# need representatives in the subnormal range, where the error bound no longer holds.
ZERO_THRESHOLD = 1e-9


class LogHistogram:
    """Count, sum, exact min and max, and log-bucketed counts of non-negative samples."""

    __slots__ = ("_buckets", "_zeros", "count", "maximum", "minimum", "total")

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self._zeros = 0
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if value > ZERO_THRESHOLD:
            key = math.ceil(math.log(value) * _INV_LOG_GAMMA)
            self._buckets[key] = self._buckets.get(key, 0) + 1
        else:
            self._zeros += 1

    def merge(self, other: LogHistogram) -> None:
        """Fold `other` in, so a window of minutes reads like one histogram."""
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        self._zeros += other._zeros
        for key, count in other._buckets.items():
            self._buckets[key] = self._buckets.get(key, 0) + count

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile interpolated between order statistics like
        `statistics.quantiles(method="inclusive")`, so both agree within RELATIVE_ERROR."""
        if not self.count:
            return None
        position = q * (self.count - 1)
        lower = math.floor(position)
        fraction = position - lower
        low_value = self._order_statistic(lower)
        if fraction == 0:
            return low_value
        high_value = self._order_statistic(lower + 1)
        return low_value + fraction * (high_value - low_value)

    def _order_statistic(self, rank: int) -> float:
        """Estimate of the `rank`-th smallest sample (0-based); the ends are exact."""
        if rank == 0:
            return self.minimum
        if rank == self.count - 1:
            return self.maximum
        seen = self._zeros
        if rank < seen:
            return 0.0
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if rank < seen:
                estimate = math.exp(key / _INV_LOG_GAMMA) * _MIDPOINT
                return min(max(estimate, self.minimum), self.maximum)
        return self.maximum


class FixedHistogram:
    """Counts per fixed upper bound (`le`), plus +Inf, sum and count."""

    __slots__ = ("_counts", "bounds", "count", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self._counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.total = 0.0

    def add(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.total += value

    def cumulative(self) -> Iterable[tuple[float, int]]:
        """(upper bound, samples at or below it) pairs ending with (inf, count)."""
        running = 0
        for bound, count in zip((*self.bounds, math.inf), self._counts, strict=True):
            running += count
            yield bound, running
