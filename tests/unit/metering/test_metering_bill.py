"""Months, bills worked out by hand, the free tier across the account, the JSON form."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.errors import ServiceError, ValidationError
from nimbus.metering.bill import Month, compare_instance, compute_bill
from nimbus.metering.prices import PriceList
from nimbus.metering.usage import ARCHITECTURES, FunctionUsage
from nimbus.settings import Settings

PRICES = PriceList.from_settings(Settings())
# The tests' own arithmetic must be exact too: the default 28 digits would round it.
EXACT = Context(prec=200, traps=[Inexact])
NOVEMBER = Month(2026, 11)
X86 = Decimal("0.0000166667")
ARM = Decimal("0.0000133334")


def usage(function: str, arch: str, requests: int, memory_mb: int, billed_ms: int) -> FunctionUsage:
    """`requests` invocations, each of `memory_mb` billed for `billed_ms`."""
    return FunctionUsage(
        function, arch, requests, requests * billed_ms, requests * memory_mb * billed_ms
    )


# ------------------------------------------------------------------ Month


def test_month_parse_and_str() -> None:
    month = Month.parse("2026-11")
    assert (month.year, month.month) == (2026, 11)
    assert str(month) == "2026-11"
    assert str(Month(7, 3)) == "0007-03"


@pytest.mark.parametrize(
    "text",
    ["2026-13", "2026-00", "2026-1", "26-11", "2026-11-01", "2026/11", "", " 2026-11",
     "0000-01", "\uff12\uff10\uff12\uff16-11", "2026-1\u0661"],
)  # fmt: skip
def test_month_parse_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Month.parse(text)
    assert caught.value.message == f"Invalid month '{text}': expected YYYY-MM"


def test_month_bounds_are_utc_milliseconds() -> None:
    assert NOVEMBER.start_ms == int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 1000
    assert NOVEMBER.end_ms == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp()) * 1000
    assert Month(2026, 12).end_ms == Month(2027, 1).start_ms
    assert NOVEMBER.hours == 720
    assert Month(2028, 2).hours == 29 * 24
    assert Month(2026, 2).hours == 28 * 24


def test_month_current_is_the_utc_month() -> None:
    last_second_of_october = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    assert Month.current(last_second_of_october) == Month(2026, 10)
    assert Month.current(last_second_of_october + 1) == NOVEMBER


@given(st.integers(1, 9999), st.integers(1, 12))
def test_month_round_trips(year: int, month: int) -> None:
    text = f"{year:04d}-{month:02d}"
    parsed = Month.parse(text)
    assert str(parsed) == text
    assert parsed.end_ms - parsed.start_ms == parsed.hours * 3_600_000
    assert parsed.hours == calendar.monthrange(year, month)[1] * 24


@given(st.text(max_size=12))
def test_month_parse_accepts_only_yyyy_mm(text: str) -> None:
    try:
        parsed = Month.parse(text)
    except ValidationError:
        return
    assert str(parsed) == text


# ------------------------------------------------------------------ bills by hand


def test_under_the_free_compute_tier_only_requests_are_paid() -> None:
    # 3,000,000 x 512 MB x 100 ms = 3e6 * 0.5 GB * 0.1 s = 150,000 GB-s, all free.
    # Requests: 3,000,000 - 1,000,000 free = 2,000,000 x $0.20/M = $0.40.
    bill = compute_bill(NOVEMBER, [usage("thumbs", "x86_64", 3_000_000, 512, 100)], PRICES)
    assert bill.requests == 3_000_000
    assert bill.gb_seconds == Decimal(150_000)
    (line,) = bill.lines
    assert line.request_cost == Decimal("0.60")
    assert line.duration_cost == Decimal("2.500005")  # 150,000 x 0.0000166667
    assert bill.free_tier.requests == 1_000_000
    assert bill.free_tier.gb_seconds == Decimal(150_000)
    assert bill.request_cost == Decimal("0.40")
    assert bill.compute_cost == 0
    assert bill.total == Decimal("0.40")
    assert bill.total_rounded == Decimal("0.40")


def test_crossing_the_free_tier() -> None:
    # 12,000,000 x 1536 MB x 250 ms = 12e6 * 1.5 * 0.25 = 4,500,000 GB-s.
    # Compute: (4,500,000 - 400,000) x 0.0000166667 = 68.33347
    # Requests: 11,000,000 x 0.20 / 1e6 = 2.20 -> total 70.53347 -> $70.53
    bill = compute_bill(NOVEMBER, [usage("api", "x86_64", 12_000_000, 1536, 250)], PRICES)
    assert bill.gb_seconds == Decimal(4_500_000)
    assert bill.free_tier.gb_seconds == Decimal(400_000)
    assert bill.compute_cost == Decimal("68.33347")
    assert bill.request_cost == Decimal("2.20")
    assert bill.total == Decimal("70.53347")
    assert bill.total_rounded == Decimal("70.53")


def test_free_gb_seconds_go_to_the_dearer_architecture_first() -> None:
    # x86: 2,000,000 x 512 MB x 200 ms = 200,000 GB-s; arm64: 1,000,000 x 2048 MB x 150 ms
    # = 300,000 GB-s. Free 400,000: all 200,000 x86 first, then 200,000 of arm64.
    # Billed: 100,000 arm64 GB-s x 0.0000133334 = 1.33334; requests 2,000,000 x 0.2/M = 0.40.
    lines = [
        usage("resize", "arm64", 1_000_000, 2048, 150),
        usage("upload", "x86_64", 2_000_000, 512, 200),
    ]
    bill = compute_bill(NOVEMBER, lines, PRICES)
    assert bill.gb_seconds == Decimal(500_000)
    assert dict(bill.free_tier.gb_seconds_by_architecture) == {
        "x86_64": Decimal(200_000),
        "arm64": Decimal(200_000),
    }
    assert bill.compute_cost == Decimal("1.33334")  # not 100,000 x x86 = 1.66667
    assert bill.total == Decimal("1.73334")
    assert bill.total_rounded == Decimal("1.73")
    assert [line.function for line in bill.lines] == ["resize", "upload"]


def test_an_empty_month_costs_nothing() -> None:
    bill = compute_bill(NOVEMBER, [], PRICES)
    assert bill.total == bill.total_rounded == bill.gb_seconds == Decimal(0)
    assert bill.requests == 0
    assert bill.to_json()["totalRounded"] == "0.00"


def test_rounding_is_half_up_to_the_cent() -> None:
    # 100,000 requests x $0.05/M = $0.005 exactly: half up gives 0.01 (half even would give 0.00)
    prices = PriceList(Decimal("0.05"), {"x86_64": X86}, 0, Decimal(0), {})
    bill = compute_bill(NOVEMBER, [usage("f", "x86_64", 100_000, 128, 0)], prices)
    assert bill.total == Decimal("0.005")
    assert bill.total_rounded == Decimal("0.01")


def test_exact_beyond_the_default_decimal_precision() -> None:
    # 28 significant digits would round this product; the bill must not.
    big = 10**17 + 1
    bill = compute_bill(NOVEMBER, [FunctionUsage("f", "x86_64", 0, big, big)], PRICES)
    gbs = Fraction(big, 1_024_000)
    assert Fraction(bill.gb_seconds) == gbs
    assert Fraction(bill.total) == (gbs - 400_000) * Fraction(X86)
    assert len(bill.total.as_tuple().digits) > 28


def test_an_unpriced_architecture_is_a_platform_error() -> None:
    prices = PriceList(Decimal("0.2"), {"x86_64": X86}, 0, Decimal(0), {})
    with pytest.raises(ServiceError, match="'arm64'"):
        compute_bill(NOVEMBER, [usage("f", "arm64", 1, 128, 1)], prices)


def test_price_list_refuses_negative_prices() -> None:
    with pytest.raises(ValueError, match="not negative"):
        PriceList(Decimal("-0.2"), {"x86_64": X86}, 0, Decimal(0), {})


def test_price_list_from_settings() -> None:
    settings = Settings(price_per_gb_second_arm64=Decimal("0.00001"), free_tier_requests=5)
    prices = PriceList.from_settings(settings)
    assert prices.per_gb_second == {"x86_64": X86, "arm64": Decimal("0.00001")}
    assert prices.free_requests == 5
    assert prices.instance_hourly["2vCPU-4GB"] == Decimal("0.0416")
    with pytest.raises(TypeError):
        prices.instance_hourly["new"] = Decimal(1)  # type: ignore[index]


# ------------------------------------------------------------------ JSON


def test_bill_json_has_exact_decimal_strings() -> None:
    lines = [
        usage("resize", "arm64", 1_000_000, 2048, 150),
        usage("up", "x86_64", 2_000_000, 512, 200),
    ]
    body = compute_bill(NOVEMBER, lines, PRICES).to_json()
    assert body == {
        "month": "2026-11",
        "currency": "USD",
        "functions": [
            {"function": "resize", "architecture": "arm64", "requests": 1_000_000,
             "gbSeconds": "300000", "requestCost": "0.2", "durationCost": "4.00002"},
            {"function": "up", "architecture": "x86_64", "requests": 2_000_000,
             "gbSeconds": "200000", "requestCost": "0.4", "durationCost": "3.33334"},
        ],
        "usage": {"requests": 3_000_000, "gbSeconds": "500000"},
        "gross": {"requestCost": "0.6", "computeCost": "7.33336"},
        "freeTier": {
            "requests": 1_000_000,
            "gbSeconds": "400000",
            "gbSecondsByArchitecture": {"x86_64": "200000", "arm64": "200000"},
            "requestCredit": "0.2",
            "computeCredit": "6.00002",
        },
        "net": {"requestCost": "0.4", "computeCost": "1.33334"},
        "total": "1.73334",
        "totalRounded": "1.73",
    }  # fmt: skip


# ------------------------------------------------------------------ an always-on server


def test_compare_instance_costs_every_hour_of_the_month() -> None:
    # November: 30 days x 24 = 720 h x $0.0416 = $29.952 -> $29.95
    comparison = compare_instance(NOVEMBER, "2vCPU-4GB", PRICES)
    assert comparison.hours == 720
    assert comparison.cost == Decimal("29.952")
    assert comparison.to_json() == {
        "month": "2026-11",
        "currency": "USD",
        "instance": "2vCPU-4GB",
        "hourlyPrice": "0.0416",
        "hours": 720,
        "cost": "29.952",
        "costRounded": "29.95",
    }
    # A leap February: 696 h x $0.384 = $267.264
    assert compare_instance(Month(2028, 2), "8vCPU-32GB", PRICES).cost == Decimal("267.264")


def test_compare_instance_lists_the_known_types() -> None:
    with pytest.raises(ValidationError) as caught:
        compare_instance(NOVEMBER, "t2.nano", PRICES)
    assert caught.value.message == (
        "Invalid instance 't2.nano': expected one of 2vCPU-4GB, 2vCPU-8GB, 4vCPU-16GB, 8vCPU-32GB"
    )


# ------------------------------------------------------------------ properties

decimals = st.decimals(min_value=0, max_value=Decimal("0.01"), places=10)
price_lists = st.builds(
    lambda per_million, x86, arm, free_requests, free_gbs: PriceList(
        per_million, {"x86_64": x86, "arm64": arm}, free_requests, free_gbs, {}
    ),
    st.decimals(min_value=0, max_value=5, places=4),
    decimals,
    decimals,
    st.integers(0, 5_000_000),
    st.decimals(min_value=0, max_value=1_000_000, places=3),
)
usages = st.lists(
    st.builds(
        usage,
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(ARCHITECTURES),
        st.integers(0, 10_000_000),
        st.integers(128, 10_240),
        st.integers(1, 900_000),
    ),
    max_size=6,
)


@given(usages, price_lists)
def test_bill_totals_are_lines_minus_free_tier(
    items: list[FunctionUsage], prices: PriceList
) -> None:
    bill = compute_bill(NOVEMBER, items, prices)
    with localcontext(EXACT):
        gross = sum((line.request_cost + line.duration_cost for line in bill.lines), Decimal(0))
        credits = bill.free_tier.request_credit + bill.free_tier.compute_credit
        assert bill.total == gross - credits == bill.request_cost + bill.compute_cost
        total_gbs = sum((line.gb_seconds for line in bill.lines), Decimal(0))
    assert min(bill.total, bill.request_cost, bill.compute_cost) >= 0
    assert bill.gb_seconds == total_gbs
    assert bill.free_tier.requests == min(bill.requests, prices.free_requests)
    assert bill.free_tier.gb_seconds == min(total_gbs, prices.free_gb_seconds)


@given(usages, price_lists)
def test_bill_rounding_is_consistent(items: list[FunctionUsage], prices: PriceList) -> None:
    bill = compute_bill(NOVEMBER, items, prices)
    with localcontext(Context(prec=200)):
        expected = bill.total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert abs(bill.total_rounded - bill.total) <= Decimal("0.005")
    assert bill.total_rounded == expected
    assert bill.total_rounded.as_tuple().exponent == -2
    assert Decimal(bill.to_json()["total"]) == bill.total
    assert bill.to_json()["totalRounded"] == format(expected, "f")


@given(usages, price_lists)
def test_free_tier_takes_the_order_worth_most_to_the_customer(
    items: list[FunctionUsage], prices: PriceList
) -> None:
    bill = compute_bill(NOVEMBER, items, prices)
    with localcontext(EXACT):
        by_arch = {arch: Decimal(0) for arch in ARCHITECTURES}
        for line in bill.lines:
            by_arch[line.architecture] += line.gb_seconds
        credits = []
        for order in (ARCHITECTURES, ARCHITECTURES[::-1]):
            remaining, credit = prices.free_gb_seconds, Decimal(0)
            for arch in order:
                used = min(remaining, by_arch[arch])
                remaining -= used
                credit += used * prices.per_gb_second[arch]
            credits.append(credit)
    assert bill.free_tier.compute_credit == max(credits)
