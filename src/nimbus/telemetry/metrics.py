"""Per-function metrics by minute, as Lambda reports them to CloudWatch, plus Prometheus.

Recording sits on the warm-invoke hot path, so every call is O(1): counters, a log-bucketed
histogram for duration percentiles (`histogram.LogHistogram`, no samples kept) and a fixed
Prometheus histogram. Each function keeps at most `retention_minutes` minute buckets; the
oldest is dropped when a new minute opens. Minutes without any event have no bucket.

Time only moves forward here: if the clock steps back, events count in the latest minute.
The recorder is not thread-safe; the platform calls it from its event loop.
"""

from __future__ import annotations

import decimal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nimbus.errors import ValidationError
from nimbus.telemetry import prometheus
from nimbus.telemetry.histogram import LogHistogram
from nimbus.telemetry.prometheus import FunctionCounters, FunctionSeries, Gauge

__all__ = [
    "DurationStats",
    "FunctionTotals",
    "Gauge",
    "InitDurationStats",
    "MetricsRecorder",
    "MinuteStats",
    "Stats",
]

# Additions in this context never round, so billed GB-seconds stay exact however many add up.
_EXACT = decimal.Context(prec=decimal.MAX_PREC)


@dataclass(frozen=True)
class DurationStats:
    """Milliseconds; None when the period has no invocation."""

    avg: float | None
    p50: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class InitDurationStats:
    """Milliseconds over the period's cold starts; None when there was none."""

    avg: float | None
    max: float | None


@dataclass(frozen=True)
class Stats:
    """The figures users read for one function over a period."""

    function: str
    invocations: int
    errors: int
    throttles: int
    duration_ms: DurationStats
    concurrent_executions_max: int
    cold_starts: int
    init_duration_ms: InitDurationStats
    billed_gb_seconds: Decimal

    def to_json(self) -> dict[str, Any]:
        """The HTTP JSON figures: milliseconds, null without samples, exact GB-s as a string."""
        duration, init = self.duration_ms, self.init_duration_ms
        return {
            "invocations": self.invocations,
            "errors": self.errors,
            "throttles": self.throttles,
            "duration_ms": {
                "avg": duration.avg,
                "p50": duration.p50,
                "p99": duration.p99,
                "max": duration.max,
            },
            "concurrent_executions_max": self.concurrent_executions_max,
            "cold_starts": self.cold_starts,
            "init_duration_ms": {"avg": init.avg, "max": init.max},
            "billed_gb_seconds": str(self.billed_gb_seconds),
        }


@dataclass(frozen=True)
class MinuteStats(Stats):
    minute: datetime

    def to_json(self) -> dict[str, Any]:
        return {"minute": self.minute.strftime("%Y-%m-%dT%H:%M:%SZ"), **super().to_json()}


@dataclass(frozen=True)
class FunctionTotals(Stats):
    """A window of recent minutes, for `nimbus top`."""

    invocations_per_second: float

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "invocations_per_second": self.invocations_per_second,
            **super().to_json(),
        }


class _Period:
    """Mutable figures of one minute, or of a window merged from several."""

    __slots__ = (
        "concurrent_max",
        "durations",
        "errors",
        "gb_seconds",
        "init_max",
        "init_total",
        "inits",
        "throttles",
    )

    def __init__(self, concurrent: int = 0) -> None:
        self.durations = LogHistogram()
        self.errors = 0
        self.throttles = 0
        self.concurrent_max = concurrent
        self.inits = 0
        self.init_total = 0.0
        self.init_max = 0.0
        self.gb_seconds = Decimal(0)

    def finish(
        self, duration_ms: float, init_ms: float | None, error: bool, gb_seconds: Decimal
    ) -> None:
        self.durations.add(duration_ms)
        if error:
            self.errors += 1
        if init_ms is not None:
            self.inits += 1
            self.init_total += init_ms
            self.init_max = max(self.init_max, init_ms)
        self.gb_seconds = _EXACT.add(self.gb_seconds, gb_seconds)

    def merge(self, other: _Period) -> None:
        self.durations.merge(other.durations)
        self.errors += other.errors
        self.throttles += other.throttles
        self.concurrent_max = max(self.concurrent_max, other.concurrent_max)
        self.inits += other.inits
        self.init_total += other.init_total
        self.init_max = max(self.init_max, other.init_max)
        self.gb_seconds = _EXACT.add(self.gb_seconds, other.gb_seconds)

    def figures(self, function: str) -> dict[str, Any]:
        """The `Stats` fields of this period, as keyword arguments for any `Stats` class."""
        durations = self.durations
        has_init = self.inits > 0
        stats = Stats(
            function=function,
            invocations=durations.count,
            errors=self.errors,
            throttles=self.throttles,
            duration_ms=DurationStats(
                avg=durations.mean(),
                p50=durations.quantile(0.5),
                p99=durations.quantile(0.99),
                max=durations.maximum if durations.count else None,
            ),
            concurrent_executions_max=self.concurrent_max,
            cold_starts=self.inits,
            init_duration_ms=InitDurationStats(
                avg=self.init_total / self.inits if has_init else None,
                max=self.init_max if has_init else None,
            ),
            billed_gb_seconds=self.gb_seconds,
        )
        return vars(stats)


class _Minute(_Period):
    __slots__ = ("minute",)

    def __init__(self, minute: int, concurrent: int) -> None:
        super().__init__(concurrent)
        self.minute = minute


class _FunctionMetrics:
    __slots__ = ("counters", "in_flight", "minutes")

    def __init__(self) -> None:
        self.minutes: deque[_Minute] = deque()
        self.counters = FunctionCounters()
        self.in_flight = 0

    def bucket(self, minute: int, retention: int) -> _Minute:
        """The bucket of `minute` (never older than the newest), opening it if needed."""
        minutes = self.minutes
        if minutes and minutes[-1].minute == minute:
            return minutes[-1]
        # Invocations still running were running in this minute too.
        opened = _Minute(minute, self.in_flight)
        minutes.append(opened)
        while minutes[0].minute <= minute - retention:
            minutes.popleft()
        return opened

    def window(self, first: int) -> Iterator[_Minute]:
        return (bucket for bucket in self.minutes if bucket.minute >= first)

    def peak_now(self, minute: int) -> int:
        newest = self.minutes[-1] if self.minutes else None
        peak = newest.concurrent_max if newest is not None and newest.minute == minute else 0
        return max(peak, self.in_flight)


class MetricsRecorder:
    """Records invocation events per function; answers by minute, by window, or cumulated."""

    def __init__(self, retention_minutes: int, clock: Callable[[], float] = time.time) -> None:
        if retention_minutes < 1:
            raise ValueError("retention_minutes must be at least 1")
        self._retention = retention_minutes
        self._clock = clock
        self._started_at = clock()
        self._latest_minute = int(self._started_at // 60)
        self._functions: dict[str, _FunctionMetrics] = {}

    def started(self, function: str, concurrent: int) -> None:
        """An invocation began; `concurrent` is the function's in-flight count, this one too."""
        metrics = self._metrics(function)
        metrics.in_flight += 1
        bucket = metrics.bucket(self._minute(), self._retention)
        bucket.concurrent_max = max(bucket.concurrent_max, concurrent)

    def throttled(self, function: str) -> None:
        metrics = self._metrics(function)
        metrics.bucket(self._minute(), self._retention).throttles += 1
        metrics.counters.throttles += 1

    def finished(
        self,
        function: str,
        *,
        duration_ms: float,
        init_ms: float | None,
        error: bool,
        gb_seconds: Decimal,
    ) -> None:
        """An invocation ended; `init_ms` is set on cold starts only."""
        metrics = self._metrics(function)
        metrics.bucket(self._minute(), self._retention).finish(
            duration_ms, init_ms, error, gb_seconds
        )
        metrics.counters.finish(duration_ms, init_ms, error, gb_seconds)
        if metrics.in_flight:
            metrics.in_flight -= 1

    def forget(self, function: str) -> None:
        """The function was deleted: a new one of that name starts from nothing."""
        self._functions.pop(function, None)

    def minutes(self, function: str | None = None, last: int = 60) -> list[MinuteStats]:
        """Buckets of the last `last` minutes (the current one included), oldest first,
        grouped by function in name order."""
        first = self._first_minute(last)
        return [
            MinuteStats(
                minute=datetime.fromtimestamp(bucket.minute * 60, UTC), **bucket.figures(name)
            )
            for name in self._names(function)
            for bucket in self._functions[name].window(first)
        ]

    def totals(self, last: int = 5) -> list[FunctionTotals]:
        """Each function active in the last `last` minutes, its figures merged over them."""
        first = self._first_minute(last)
        seconds = self._clock() - max(first * 60, self._started_at)
        result = []
        for name in sorted(self._functions):
            merged = _Period()
            for bucket in self._functions[name].window(first):
                merged.merge(bucket)
            figures = merged.figures(name)
            if figures["invocations"] or merged.throttles or merged.concurrent_max:
                rate = figures["invocations"] / max(seconds, 1.0)
                result.append(FunctionTotals(invocations_per_second=rate, **figures))
        return result

    def to_json(self, function: str | None, last: int) -> dict[str, Any]:
        """{"functions": {name: [minute, ...]}}; a named function is present even if idle."""
        by_function: dict[str, list[dict[str, Any]]] = {}
        if function is not None:
            by_function[function] = []
        for stats in self.minutes(function, last):
            by_function.setdefault(stats.function, []).append(stats.to_json())
        return {"functions": by_function}

    def prometheus(self, extra: Iterable[Gauge] = ()) -> str:
        """Text exposition 0.0.4 of every function's cumulative figures, then `extra`."""
        minute = self._minute()
        series = [
            FunctionSeries(name, metrics.counters, metrics.in_flight, metrics.peak_now(minute))
            for name, metrics in sorted(self._functions.items())
        ]
        return prometheus.exposition(
            [*prometheus.function_families(series), *prometheus.gauge_families(extra)]
        )

    def _metrics(self, function: str) -> _FunctionMetrics:
        metrics = self._functions.get(function)
        if metrics is None:
            metrics = self._functions[function] = _FunctionMetrics()
        return metrics

    def _minute(self) -> int:
        minute = int(self._clock() // 60)
        self._latest_minute = max(self._latest_minute, minute)
        return self._latest_minute

    def _first_minute(self, last: int) -> int:
        if last < 1:
            raise ValidationError(
                f"1 validation error detected: Value '{last}' at 'last' failed to satisfy "
                "constraint: Member must have value greater than or equal to 1"
            )
        return self._minute() - min(last, self._retention) + 1

    def _names(self, function: str | None) -> list[str]:
        if function is None:
            return sorted(self._functions)
        return [function] if function in self._functions else []
