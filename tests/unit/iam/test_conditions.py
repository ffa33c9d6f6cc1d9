"""Condition operators one by one; dates and times are always explicit (no clock, no zone)."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.iam.conditions import compile_clause


def holds(operator: str, wanted: Any, have: Any, key: str = "k:key") -> bool:
    values = tuple(wanted) if isinstance(wanted, list) else (wanted,)
    context = {} if have is None else {key.lower(): have}
    return compile_clause(operator, key, values).matches(context)


@pytest.mark.parametrize(
    ("operator", "wanted", "have", "expected"),
    [
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "ABC", False),
        ("StringEquals", ["x", "abc"], "abc", True),
        ("StringNotEquals", "abc", "abd", True),
        ("StringNotEquals", ["abc", "abd"], "abd", False),
        ("StringEqualsIgnoreCase", "abc", "ABC", True),
        ("StringNotEqualsIgnoreCase", "abc", "ABC", False),
        ("StringLike", "home/*", "home/a/b", True),
        ("StringLike", "a?c", "abc", True),
        ("StringLike", "a?c", "ac", False),
        ("StringLike", "A*", "abc", False),
        ("StringNotLike", "a*", "bcd", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "11", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("NumericEquals", "10", "ten", False),
        ("DateEquals", "2020-01-01T00:00:00Z", "1577836800", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+02:00", True),
        ("DateLessThanEquals", "2020-01-01", "2020-01-01T00:00:00Z", True),
        ("DateGreaterThan", "1577836800", "2020-01-01T00:00:01Z", True),
        ("DateGreaterThanEquals", "2020-01-02T00:00:00Z", "2020-01-01T00:00:00Z", False),
        ("DateEquals", "2020-01-01T00:00:00Z", "not a date", False),
        ("Bool", "true", "true", True),
        ("Bool", "true", "false", False),
        ("Bool", "false", "FALSE", True),
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.7", False),
        ("IpAddress", "2001:db8::/32", "2001:db8:1::5", True),
        ("IpAddress", "2001:db8::/32", "203.0.113.7", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("NotIpAddress", "10.0.0.0/8", "203.0.113.7", True),
        ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
        ("ArnEquals", "arn:aws:sqs:us-east-1:1:q", "arn:aws:sqs:us-east-1:1:q", True),
        ("ArnLike", "arn:aws:sqs:*:1:q", "arn:aws:sqs:eu-west-1:1:q", True),
        ("ArnLike", "arn:aws:sqs:*", "arn:aws:sqs:eu-west-1:1:q", False),
        ("ArnLike", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k/l", True),
        ("ArnNotEquals", "arn:aws:sqs:us-east-1:1:q", "arn:aws:sqs:us-east-1:1:r", True),
        ("ArnNotLike", "arn:aws:sqs:*:1:*", "arn:aws:sqs:us-east-1:1:r", False),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
    ],
)
def test_operator_on_a_present_key(operator: str, wanted: Any, have: str, expected: bool) -> None:
    assert holds(operator, wanted, have) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("NumericLessThan", False),
        ("DateGreaterThan", False),
        ("Bool", False),
        ("IpAddress", False),
        ("ArnLike", False),
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("NotIpAddress", True),
        ("ArnNotLike", True),
        ("StringEqualsIfExists", True),
        ("NumericLessThanIfExists", True),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringNotEquals", False),
    ],
)
def test_operator_on_a_missing_key(operator: str, expected: bool) -> None:
    assert holds(operator, "1", None) is expected


def test_if_exists_still_tests_a_present_key() -> None:
    assert holds("StringEqualsIfExists", "a", "a")
    assert not holds("StringEqualsIfExists", "a", "b")


@pytest.mark.parametrize(
    ("wanted", "have", "expected"),
    [("true", None, True), ("true", "x", False), ("false", "x", True), ("false", None, False)],
)
def test_null_tests_presence(wanted: str, have: str | None, expected: bool) -> None:
    assert holds("Null", wanted, have) is expected


@pytest.mark.parametrize(
    ("operator", "have", "expected"),
    [
        ("ForAllValues:StringEquals", ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "z"], False),
        ("ForAllValues:StringEquals", [], True),
        ("ForAnyValue:StringEquals", ["z", "b"], True),
        ("ForAnyValue:StringEquals", ["z"], False),
        ("ForAnyValue:StringEquals", [], False),
        ("ForAnyValue:StringLike", ["xa"], True),
    ],
)
def test_set_qualifiers(operator: str, have: list[str], expected: bool) -> None:
    wanted = ["a", "b", "x*"] if operator.endswith("Like") else ["a", "b"]
    assert holds(operator, wanted, have) is expected


def test_keys_are_case_insensitive() -> None:
    clause = compile_clause("StringEquals", "AWS:UserName", ("alice",))
    assert clause.matches({"aws:username": "alice"})
