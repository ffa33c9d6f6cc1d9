"""Per-function metrics: figures, percentiles, minutes, retention, JSON and Prometheus text."""

from __future__ import annotations

import json
import math
import re
import statistics
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nimbus.errors import ValidationError
from nimbus.telemetry.histogram import RELATIVE_ERROR, LogHistogram
from nimbus.telemetry.metrics import Gauge, MetricsRecorder, MinuteStats

T0 = 1_795_892_700.0  # 2026-11-28T19:05:00Z, a minute boundary


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def finish(
    recorder: MetricsRecorder,
    function: str = "fn",
    duration_ms: float = 10.0,
    *,
    init_ms: float | None = None,
    error: bool = False,
    gb_seconds: Decimal = Decimal("0.00125"),
) -> None:
    recorder.finished(
        function, duration_ms=duration_ms, init_ms=init_ms, error=error, gb_seconds=gb_seconds
    )


def only_minute(recorder: MetricsRecorder, function: str = "fn") -> MinuteStats:
    [minute] = recorder.minutes(function)
    return minute


def close_to(estimate: float | None, exact: float) -> bool:
    """Within the histogram's stated relative error (plus float rounding)."""
    assert estimate is not None
    return abs(estimate - exact) <= RELATIVE_ERROR * abs(exact) * (1 + 1e-9) + 1e-12


durations = st.one_of(
    st.just(0.0), st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False)
)


# --- figures of one minute ------------------------------------------------------------------


def test_counts_and_durations_of_known_samples() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    for ms in range(1, 101):
        finish(recorder, duration_ms=float(ms), error=ms % 10 == 0)
    stats = only_minute(recorder)
    assert (stats.invocations, stats.errors, stats.throttles) == (100, 10, 0)
    assert stats.duration_ms.avg == pytest.approx(50.5)
    assert stats.duration_ms.max == 100.0
    assert close_to(stats.duration_ms.p50, 50.5)
    assert close_to(stats.duration_ms.p99, 99.01)


def test_cold_starts_give_init_duration_and_warm_ones_do_not() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    finish(recorder, init_ms=200.0)
    finish(recorder, init_ms=100.0)
    finish(recorder)
    stats = only_minute(recorder)
    assert stats.cold_starts == 2
    assert (stats.init_duration_ms.avg, stats.init_duration_ms.max) == (150.0, 200.0)


def test_billed_gb_seconds_are_summed_exactly() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    many_digits = Decimal("0.1234567890123456789012345678901")  # beyond the default precision
    for _ in range(3):
        finish(recorder, gb_seconds=Decimal("0.1"))
    finish(recorder, gb_seconds=many_digits)
    finish(recorder, gb_seconds=Decimal(1000000))
    total = only_minute(recorder).billed_gb_seconds
    assert str(total) == "1000000.4234567890123456789012345678901"


def test_concurrency_max_follows_started_counts() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    for concurrent in (1, 2, 3):
        recorder.started("fn", concurrent)
    for _ in range(3):
        finish(recorder)
    recorder.started("fn", 1)
    assert only_minute(recorder).concurrent_executions_max == 3


def test_invocations_running_across_a_minute_count_in_the_next_one() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    recorder.started("fn", 1)
    recorder.started("fn", 2)
    clock.now += 60
    finish(recorder)
    assert [m.concurrent_executions_max for m in recorder.minutes("fn")] == [2, 2]


def test_throttles_count_without_durations() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    recorder.throttled("fn")
    recorder.throttled("fn")
    stats = only_minute(recorder)
    assert (stats.throttles, stats.invocations) == (2, 0)
    assert stats.duration_ms.avg is stats.duration_ms.p99 is None


# --- percentiles against exact quantiles ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(durations, min_size=2, max_size=300))
def test_percentiles_within_relative_error_of_exact_quantiles(samples: list[float]) -> None:
    recorder = MetricsRecorder(60, FakeClock())
    for ms in samples:
        finish(recorder, duration_ms=ms)
    exact = statistics.quantiles(samples, n=100, method="inclusive")
    stats = only_minute(recorder).duration_ms
    assert close_to(stats.p50, exact[49])
    assert close_to(stats.p99, exact[98])
    assert stats.max == max(samples)
    assert stats.avg == pytest.approx(statistics.fmean(samples))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), durations), min_size=2, max_size=200))
def test_totals_merge_minutes_like_one_histogram(timed: list[tuple[int, float]]) -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    for minute, ms in sorted(timed):
        clock.now = T0 + minute * 60
        finish(recorder, duration_ms=ms)
    [totals] = recorder.totals(last=5)
    samples = [ms for _, ms in timed]
    exact = statistics.quantiles(samples, n=100, method="inclusive")
    assert totals.invocations == len(samples)
    assert close_to(totals.duration_ms.p50, exact[49])
    assert close_to(totals.duration_ms.p99, exact[98])


def test_histogram_of_one_sample_reports_it_exactly() -> None:
    histogram = LogHistogram()
    histogram.add(1.7)
    assert histogram.quantile(0.5) == histogram.quantile(0.99) == 1.7


def test_empty_histogram_has_no_percentiles() -> None:
    histogram = LogHistogram()
    assert histogram.quantile(0.5) is None
    assert histogram.mean() is None


# --- minutes, retention, windows ------------------------------------------------------------


def test_events_roll_over_into_a_new_minute() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    finish(recorder)
    clock.now = T0 + 59.999
    finish(recorder)
    clock.now = T0 + 60
    finish(recorder, error=True)
    minutes = recorder.minutes("fn")
    assert [(m.minute.isoformat(), m.invocations, m.errors) for m in minutes] == [
        ("2026-11-28T19:05:00+00:00", 2, 0),
        ("2026-11-28T19:06:00+00:00", 1, 1),
    ]


def test_retention_drops_minutes_older_than_the_window() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(3, clock)
    for minute in range(6):
        clock.now = T0 + minute * 60
        finish(recorder, duration_ms=float(minute))
    kept = recorder.minutes("fn", last=1000)
    assert [m.duration_ms.max for m in kept] == [3.0, 4.0, 5.0]


def test_minutes_outside_the_asked_window_are_left_out() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    finish(recorder)
    clock.now = T0 + 10 * 60
    finish(recorder)
    assert len(recorder.minutes("fn", last=10)) == 1
    assert len(recorder.minutes("fn", last=11)) == 2


def test_a_clock_stepping_back_counts_in_the_latest_minute() -> None:
    clock = FakeClock(T0 + 60)
    recorder = MetricsRecorder(60, clock)
    finish(recorder)
    clock.now = T0
    finish(recorder)
    assert only_minute(recorder).invocations == 2


def test_minutes_of_all_functions_are_grouped_by_name_oldest_first() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    finish(recorder, "b")
    finish(recorder, "a")
    clock.now += 60
    finish(recorder, "a")
    order = [(m.function, m.minute.minute) for m in recorder.minutes()]
    assert order == [("a", 5), ("a", 6), ("b", 5)]


def test_totals_give_invocations_per_second_since_start() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    for second in range(60):
        clock.now = T0 + second
        finish(recorder, "busy")
        finish(recorder, "busy")
    recorder.throttled("refused")
    clock.now = T0 + 60
    busy, refused = recorder.totals(last=5)
    assert (busy.function, busy.invocations, busy.invocations_per_second) == ("busy", 120, 2.0)
    assert (refused.function, refused.throttles, refused.invocations) == ("refused", 1, 0)


def test_totals_leave_out_functions_idle_in_the_window() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(60, clock)
    finish(recorder)
    clock.now += 5 * 60
    assert recorder.totals(last=5) == []
    assert len(recorder.totals(last=6)) == 1


def test_forget_drops_everything_of_a_function() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    finish(recorder, "gone")
    finish(recorder, "kept")
    recorder.forget("gone")
    assert [m.function for m in recorder.minutes()] == ["kept"]
    assert 'function="gone"' not in recorder.prometheus()


def test_a_window_of_no_minutes_is_rejected() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        recorder.minutes("fn", last=0)


def test_retention_must_keep_a_minute() -> None:
    with pytest.raises(ValueError, match="retention_minutes"):
        MetricsRecorder(0)


# --- JSON -----------------------------------------------------------------------------------


def test_json_shape_of_a_minute() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    recorder.started("fn", 1)
    finish(recorder, duration_ms=4.0, init_ms=120.0, gb_seconds=Decimal("0.000125"))
    recorder.throttled("fn")
    body = json.loads(json.dumps(recorder.to_json("fn", 60)))
    assert body == {
        "functions": {
            "fn": [
                {
                    "minute": "2026-11-28T19:05:00Z",
                    "invocations": 1,
                    "errors": 0,
                    "throttles": 1,
                    "duration_ms": {"avg": 4.0, "p50": 4.0, "p99": 4.0, "max": 4.0},
                    "concurrent_executions_max": 1,
                    "cold_starts": 1,
                    "init_duration_ms": {"avg": 120.0, "max": 120.0},
                    "billed_gb_seconds": "0.000125",
                }
            ]
        }
    }


def test_json_nulls_when_a_minute_has_no_samples() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    recorder.throttled("fn")
    [minute] = recorder.to_json(None, 5)["functions"]["fn"]
    assert minute["duration_ms"] == {"avg": None, "p50": None, "p99": None, "max": None}
    assert minute["init_duration_ms"] == {"avg": None, "max": None}
    assert minute["billed_gb_seconds"] == "0"


def test_json_names_an_idle_function_with_no_minutes() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    finish(recorder, "other")
    assert recorder.to_json("idle", 60) == {"functions": {"idle": []}}


# --- Prometheus -----------------------------------------------------------------------------

LABEL = r'[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"(?P<name>[a-zA-Z_:][\w:]*)(?:\{{(?P<labels>{LABEL}(?:,{LABEL})*)\}})? (?P<value>\S+)"
)


def parse_exposition(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Check the line format and return the samples of every family by sample name."""
    assert text.endswith("\n")
    declared: dict[str, str] = {}
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in declared, f"{name} declared twice"
            declared[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.fullmatch(line)
        assert match, f"malformed line: {line!r}"
        name = match["name"]
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in declared or declared.get(family) == "histogram", f"undeclared: {name}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match["labels"] or ""))
        samples.setdefault(name, []).append((labels, float(match["value"])))
    return samples


def check_histogram(samples: dict[str, list[tuple[dict[str, str], float]]], name: str) -> None:
    counts = {labels["function"]: value for labels, value in samples[f"{name}_count"]}
    buckets: dict[str, list[tuple[str, float]]] = {}
    for labels, value in samples[f"{name}_bucket"]:
        buckets.setdefault(labels["function"], []).append((labels["le"], value))
    assert buckets.keys() == counts.keys()
    for function, series in buckets.items():
        bounds = [float(le) for le, _ in series]
        values = [value for _, value in series]
        assert bounds == sorted(bounds) and series[-1][0] == "+Inf"
        assert values == sorted(values), "buckets must be cumulative"
        assert values[-1] == counts[function]


def busy_recorder() -> MetricsRecorder:
    recorder = MetricsRecorder(60, FakeClock())
    for ms, init in ((0.5, 80.0), (3.0, None), (120.0, None), (2000.0, 1500.0), (10**6, None)):
        recorder.started("fn", 1)
        finish(recorder, duration_ms=ms, init_ms=init, error=ms > 1000)
    recorder.started("fn", 1)
    recorder.throttled("other")
    return recorder


def test_prometheus_text_parses_and_histograms_are_cumulative() -> None:
    samples = parse_exposition(busy_recorder().prometheus())
    check_histogram(samples, "nimbus_function_duration_seconds")
    check_histogram(samples, "nimbus_function_init_duration_seconds")
    values = {
        name: {labels["function"]: value for labels, value in series}
        for name, series in samples.items()
        if not name.endswith("_bucket")
    }
    assert values["nimbus_function_invocations_total"] == {"fn": 5, "other": 0}
    assert values["nimbus_function_errors_total"]["fn"] == 2
    assert values["nimbus_function_throttles_total"]["other"] == 1
    assert values["nimbus_function_cold_starts_total"]["fn"] == 2
    assert values["nimbus_function_billed_gb_seconds_total"]["fn"] == pytest.approx(0.00625)
    assert values["nimbus_function_duration_seconds_sum"]["fn"] == pytest.approx(1002.1235)
    assert values["nimbus_function_concurrent_executions"]["fn"] == 1
    assert values["nimbus_function_concurrent_executions_max"]["fn"] == 1


def test_prometheus_duration_buckets_place_samples_by_upper_bound() -> None:
    samples = parse_exposition(busy_recorder().prometheus())
    le = {
        labels["le"]: value
        for labels, value in samples["nimbus_function_duration_seconds_bucket"]
        if labels["function"] == "fn"
    }
    assert (le["0.001"], le["0.005"], le["0.25"], le["2.5"], le["900.0"], le["+Inf"]) == (
        1,
        2,
        3,
        4,
        4,
        5,
    )


def test_prometheus_counters_are_cumulative_beyond_retention() -> None:
    clock = FakeClock()
    recorder = MetricsRecorder(1, clock)
    for minute in range(3):
        clock.now = T0 + minute * 60
        finish(recorder)
    samples = parse_exposition(recorder.prometheus())
    assert samples["nimbus_function_invocations_total"] == [({"function": "fn"}, 3.0)]
    assert len(recorder.minutes("fn")) == 1


def test_prometheus_escapes_label_values() -> None:
    recorder = MetricsRecorder(60, FakeClock())
    finish(recorder, 'we"ird\\name\nx')
    text = recorder.prometheus()
    assert 'nimbus_function_invocations_total{function="we\\"ird\\\\name\\nx"} 1\n' in text
    parse_exposition(text)


def test_prometheus_appends_extra_gauges_one_family_per_name() -> None:
    extra = [
        Gauge("nimbus_environments_warm", "Warm environments.", 3, {"runtime": "python3.12"}),
        Gauge("nimbus_environments_warm", "Warm environments.", 1, {"runtime": "python3.11"}),
        Gauge("nimbus_zygotes", "Zygotes.\nOne per runtime.", 2),
    ]
    text = MetricsRecorder(60, FakeClock()).prometheus(extra)
    samples = parse_exposition(text)
    assert samples["nimbus_environments_warm"] == [
        ({"runtime": "python3.12"}, 3.0),
        ({"runtime": "python3.11"}, 1.0),
    ]
    assert samples["nimbus_zygotes"] == [({}, 2.0)]
    assert "# HELP nimbus_zygotes Zygotes.\\nOne per runtime.\n" in text


def test_prometheus_spells_special_floats_as_go_does() -> None:
    text = MetricsRecorder(60, FakeClock()).prometheus(
        [Gauge("a", "a", math.inf), Gauge("b", "b", math.nan)]
    )
    assert "a +Inf\n" in text and "b NaN\n" in text


@pytest.mark.parametrize(
    ("name", "labels"), [("1bad", {}), ("bad-name", {}), ("ok", {"bad-label": "x"})]
)
def test_gauges_with_invalid_names_are_refused(name: str, labels: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="invalid Prometheus"):
        Gauge(name, "help", 1.0, labels)
