"""Range headers against a reference, and the conditional request precedence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.objects import Conditions, ObjectAttributes, ObjectInfo
from nimbus.objects.conditions import check, etag_matches
from nimbus.objects.errors import InvalidRange, NotModified, PreconditionFailed
from nimbus.objects.ranges import parse_range

SIZES = st.integers(0, 200)
POSITIONS = st.integers(0, 300)


@given(SIZES, POSITIONS, POSITIONS)
def test_first_last(size: int, first: int, last: int) -> None:
    header = f"bytes={first}-{last}"
    if last < first:
        assert parse_range(header, size) is None  # invalid: ignored
    elif first >= size:
        with pytest.raises(InvalidRange):
            parse_range(header, size)
    else:
        served = parse_range(header, size)
        assert served is not None
        assert (served.start, served.end) == (first, min(last, size - 1))
        assert (
            bytes(range(size))[served.start : served.end + 1]
            == bytes(range(size))[first : last + 1]
        )
        assert served.content_range == f"bytes {first}-{served.end}/{size}"


@given(SIZES, POSITIONS)
def test_open_range(size: int, first: int) -> None:
    if first >= size:
        with pytest.raises(InvalidRange):
            parse_range(f"bytes={first}-", size)
        return
    served = parse_range(f"bytes={first}-", size)
    assert served is not None and (served.start, served.end, served.length) == (
        first,
        size - 1,
        size - first,
    )


@given(SIZES, POSITIONS)
def test_suffix_range(size: int, suffix: int) -> None:
    if suffix == 0 or size == 0:
        with pytest.raises(InvalidRange):
            parse_range(f"bytes=-{suffix}", size)
        return
    served = parse_range(f"bytes=-{suffix}", size)
    data = bytes(range(size))
    assert served is not None
    assert data[served.start : served.end + 1] == data[-suffix:]


@pytest.mark.parametrize("header", ["bytes=", "bytes=-", "items=0-1", "bytes=0-1,3-4", "bytes=a-b"])
def test_unparseable_headers_are_ignored(header: str) -> None:
    assert parse_range(header, 10) is None


def test_invalid_range_fields() -> None:
    with pytest.raises(InvalidRange) as caught:
        parse_range("bytes=20-", 10)
    assert caught.value.extra_fields() == {"RangeRequested": "bytes=20-", "ActualObjectSize": "10"}


INFO = ObjectInfo("bkt", "k", 1, '"abc"', 1000.75, ObjectAttributes())


def test_etag_lists_weak_tags_and_star() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches("abc", '"abc"')
    assert etag_matches('"x", W/"abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abcd"', '"abc"')


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        (Conditions(if_match='"abc"'), None),
        (Conditions(if_match='"no"'), PreconditionFailed),
        (Conditions(if_unmodified_since=1000), None),  # whole seconds: 1000.75 is 1000
        (Conditions(if_unmodified_since=999), PreconditionFailed),
        (Conditions(if_match='"abc"', if_unmodified_since=999), None),
        (Conditions(if_none_match='"abc"'), NotModified),
        (Conditions(if_none_match='"no"'), None),
        (Conditions(if_modified_since=1000), NotModified),
        (Conditions(if_modified_since=999), None),
        (Conditions(if_none_match='"no"', if_modified_since=1000), None),
        (Conditions(if_none_match='"abc"', if_modified_since=999), NotModified),
        (Conditions(if_match='"no"', if_none_match='"abc"'), PreconditionFailed),
        (Conditions(if_unmodified_since=999, if_modified_since=1000), PreconditionFailed),
    ],
)
def test_precedence(conditions: Conditions, outcome: type[Exception] | None) -> None:
    if outcome is None:
        check(conditions, INFO)
    else:
        with pytest.raises(outcome):
            check(conditions, INFO)


def test_copy_source_conditions_never_answer_304() -> None:
    with pytest.raises(PreconditionFailed) as caught:
        check(Conditions(if_none_match="*"), INFO, copy_source=True)
    assert caught.value.extra_fields() == {"Condition": "If-None-Match"}
