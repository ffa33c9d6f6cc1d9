"""What Prometheus scrapes: per-function counters since process start, and their text.

The text is exposition format 0.0.4: every family is headed by # HELP and # TYPE, then its
samples. Counters never reset while the process lives, as Prometheus expects; the minute
buckets users read elsewhere are `metrics.py`'s.
"""

from __future__ import annotations

import decimal
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from nimbus.telemetry.histogram import FixedHistogram

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

# Upper bounds (seconds) of the duration histograms; Lambda's timeout caps at 900.
DURATION_BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0,
)  # fmt: skip
# Additions in this context never round, so billed GB-seconds stay exact however many add up.
_EXACT = decimal.Context(prec=decimal.MAX_PREC)

Labels = Mapping[str, str]
Number = int | float | Decimal


class MetricType(Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Gauge:
    """One gauge sample another component contributes (executor pools and the like).

    Names are checked here because one bad name would make the whole scrape unreadable.
    """

    name: str
    help: str
    value: float
    labels: Labels = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _METRIC_NAME.fullmatch(self.name):
            raise ValueError(f"invalid Prometheus metric name {self.name!r}")
        for label in self.labels:
            if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid Prometheus label name {label!r}")


class FunctionCounters:
    """One function's figures since the process started."""

    __slots__ = ("durations", "errors", "gb_seconds", "inits", "throttles")

    def __init__(self) -> None:
        self.durations = FixedHistogram(DURATION_BUCKETS_S)
        self.inits = FixedHistogram(DURATION_BUCKETS_S)
        self.errors = 0
        self.throttles = 0
        self.gb_seconds = Decimal(0)

    def finish(
        self, duration_ms: float, init_ms: float | None, error: bool, gb_seconds: Decimal
    ) -> None:
        self.durations.add(duration_ms / 1000)
        if init_ms is not None:
            self.inits.add(init_ms / 1000)
        if error:
            self.errors += 1
        self.gb_seconds = _EXACT.add(self.gb_seconds, gb_seconds)


@dataclass(frozen=True)
class FunctionSeries:
    """What one scrape shows of a function: its counters and its concurrency now."""

    function: str
    counters: FunctionCounters
    in_flight: int
    peak_this_minute: int


_COUNTERS: tuple[tuple[str, str, Callable[[FunctionCounters], int | Decimal]], ...] = (
    ("invocations", "Invocations finished.", lambda c: c.durations.count),
    ("errors", "Invocations that ended in a function error.", lambda c: c.errors),
    ("throttles", "Invocations refused for lack of concurrency.", lambda c: c.throttles),
    ("cold_starts", "Invocations that began with init.", lambda c: c.inits.count),
    ("billed_gb_seconds", "Billed GB-seconds.", lambda c: c.gb_seconds),
)


def function_families(series: list[FunctionSeries]) -> Iterator[str]:
    """Every nimbus_function_* family, one sample (or histogram) per function in each."""
    for noun, help_text, read in _COUNTERS:
        yield from scalar_family(
            f"nimbus_function_{noun}_total",
            help_text,
            MetricType.COUNTER,
            (({"function": s.function}, read(s.counters)) for s in series),
        )
    yield from histogram_family(
        "nimbus_function_duration_seconds",
        "Invocation duration.",
        (({"function": s.function}, s.counters.durations) for s in series),
    )
    yield from histogram_family(
        "nimbus_function_init_duration_seconds",
        "Init duration of cold starts.",
        (({"function": s.function}, s.counters.inits) for s in series),
    )
    yield from scalar_family(
        "nimbus_function_concurrent_executions",
        "Invocations in flight now.",
        MetricType.GAUGE,
        (({"function": s.function}, s.in_flight) for s in series),
    )
    yield from scalar_family(
        "nimbus_function_concurrent_executions_max",
        "Highest number of invocations in flight during the current minute.",
        MetricType.GAUGE,
        (({"function": s.function}, s.peak_this_minute) for s in series),
    )


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_number(value: Number) -> str:
    """Go's ParseFloat spellings: +Inf, -Inf, NaN; Decimals keep every digit."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


def header(name: str, help_text: str, kind: MetricType) -> Iterator[str]:
    yield f"# HELP {name} {escape_help(help_text)}"
    yield f"# TYPE {name} {kind.value}"


def sample(name: str, labels: Labels, value: Number) -> str:
    if not labels:
        return f"{name} {format_number(value)}"
    pairs = ",".join(f'{key}="{escape_label_value(val)}"' for key, val in labels.items())
    return f"{name}{{{pairs}}} {format_number(value)}"


def scalar_family(
    name: str, help_text: str, kind: MetricType, values: Iterable[tuple[Labels, Number]]
) -> Iterator[str]:
    yield from header(name, help_text, kind)
    for labels, value in values:
        yield sample(name, labels, value)


def histogram_family(
    name: str, help_text: str, histograms: Iterable[tuple[Labels, FixedHistogram]]
) -> Iterator[str]:
    yield from header(name, help_text, MetricType.HISTOGRAM)
    for labels, histogram in histograms:
        for bound, count in histogram.cumulative():
            yield sample(f"{name}_bucket", {**labels, "le": format_number(bound)}, count)
        yield sample(f"{name}_sum", labels, histogram.total)
        yield sample(f"{name}_count", labels, histogram.count)


def gauge_families(gauges: Iterable[Gauge]) -> Iterator[str]:
    """Gauges sharing a name become one family, headed by the first one's help text."""
    by_name: dict[str, list[Gauge]] = {}
    for gauge in gauges:
        by_name.setdefault(gauge.name, []).append(gauge)
    for name, members in by_name.items():
        yield from scalar_family(
            name, members[0].help, MetricType.GAUGE, ((g.labels, g.value) for g in members)
        )


def exposition(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"
