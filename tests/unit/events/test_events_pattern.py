"""EventBridge event patterns: matching examples, invalid-pattern reasons, properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nimbus.events.pattern import (
    MAX_PATTERN_LENGTH,
    PatternError,
    PatternTooLong,
    compile_pattern,
)

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 300.0,
        "source-ip": "10.0.0.123",
        "ipv6": "2001:db8::1",
        "FileName": "image.png",
        "service": "EventBridge",
        "empty": "",
        "nothing": None,
        "flag": True,
        "tags": ["blue", "green"],
        "numbers": [1, 7, 20],
        "nested": {"status": {"code": "ok"}},
        "automations": [{"key1": "v"}, {"id": "x"}],
        "employees": [
            {"firstName": "John", "lastName": "Doe"},
            {"firstName": "Anna", "lastName": "Smith"},
            {"firstName": "Peter", "lastName": "Jones"},
        ],
        "no-items": [],
        "payload": '{"my-key": "v"}',
    },
}


def detail(field: str, *matchers: Any) -> str:
    return json.dumps({"detail": {field: list(matchers)}})


MATCHING = [
    # exact values, types and null
    ('{"source": ["aws.ec2"]}', True),
    ('{"source": ["aws.s3", "aws.ec2"]}', True),
    ('{"source": ["AWS.EC2"]}', False),
    (detail("d-count", 300), True),
    (detail("c-count", 5.0), True),
    (detail("c-count", "5"), False),
    (detail("state", 5), False),
    (detail("nothing", None), True),
    (detail("nothing", ""), False),
    (detail("empty", ""), True),
    (detail("empty", None), False),
    (detail("flag", True), True),
    (detail("flag", 1), False),
    (detail("c-count", True), False),
    ('{"source": ["aws.ec2"], "detail": {"state": ["running"]}}', False),
    ('{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}', True),
    ('{"source": ["aws.ec2"], "unknown": ["x"]}', False),
    # prefix and suffix
    ('{"time": [{"prefix": "2017-12-22"}]}', True),
    ('{"time": [{"prefix": "2018"}]}', False),
    (detail("state", {"prefix": ""}), True),
    (detail("c-count", {"prefix": ""}), False),
    (detail("service", {"prefix": {"equals-ignore-case": "EvEnTb"}}), True),
    (detail("FileName", {"suffix": ".png"}), True),
    (detail("FileName", {"suffix": ".PNG"}), False),
    (detail("FileName", {"suffix": {"equals-ignore-case": ".PNG"}}), True),
    # equals-ignore-case
    (detail("service", {"equals-ignore-case": "eventbridge"}), True),
    (detail("service", {"equals-ignore-case": "eventbus"}), False),
    (detail("empty", {"equals-ignore-case": ""}), True),
    (detail("state", {"equals-ignore-case": ""}), False),
    # wildcard
    ('{"resources": [{"wildcard": "arn:aws:ec2:us-west-1:*:instance/*"}]}', True),
    ('{"resources": [{"wildcard": "arn:aws:ec2:us-east-1:*"}]}', False),
    (detail("FileName", {"wildcard": "*"}), True),
    (detail("empty", {"wildcard": ""}), True),
    (detail("state", {"wildcard": ""}), False),
    (detail("FileName", {"wildcard": "image\\\\*png"}), False),
    (detail("c-count", {"wildcard": "*"}), False),
    # anything-but
    (detail("state", {"anything-but": "initializing"}), True),
    (detail("state", {"anything-but": "terminated"}), False),
    (detail("state", {"anything-but": ["stopped", "terminated"]}), False),
    (detail("c-count", {"anything-but": [100, 200]}), True),
    (detail("c-count", {"anything-but": 5.0}), False),
    (detail("nothing", {"anything-but": "x"}), True),
    (detail("missing", {"anything-but": "x"}), False),
    (detail("state", {"anything-but": {"prefix": "term"}}), False),
    (detail("state", {"anything-but": {"prefix": ["init", "run"]}}), True),
    (detail("c-count", {"anything-but": {"prefix": "5"}}), True),
    (detail("FileName", {"anything-but": {"suffix": ".png"}}), False),
    (detail("FileName", {"anything-but": {"suffix": [".txt"]}}), True),
    (detail("state", {"anything-but": {"equals-ignore-case": "TERMINATED"}}), False),
    (detail("state", {"anything-but": {"equals-ignore-case": ["x", "Y"]}}), True),
    (detail("FileName", {"anything-but": {"wildcard": "*.png"}}), False),
    (detail("FileName", {"anything-but": {"wildcard": "*/lib/*"}}), True),
    (detail("FileName", {"anything-but": {"wildcard": ""}}), True),
    (detail("c-count", {"anything-but": {"wildcard": "*"}}), True),
    # numeric
    (detail("c-count", {"numeric": [">", 0, "<=", 5]}), True),
    (detail("c-count", {"numeric": [">", 0, "<", 5]}), False),
    (detail("c-count", {"numeric": [">=", 5]}), True),
    (detail("c-count", {"numeric": ["<", 5]}), False),
    (detail("d-count", {"numeric": ["=", 300]}), True),
    (detail("d-count", {"numeric": ["=", 3.0e2]}), True),
    (detail("state", {"numeric": [">", 0]}), False),
    (detail("nothing", {"numeric": [">", 0]}), False),
    # cidr
    (detail("source-ip", {"cidr": "10.0.0.0/24"}), True),
    (detail("source-ip", {"cidr": "10.0.1.0/24"}), False),
    (detail("source-ip", {"cidr": "10.0.0.124/30"}), False),
    (detail("ipv6", {"cidr": "2001:db8::/64"}), True),
    (detail("ipv6", {"cidr": "10.0.0.0/8"}), False),
    (detail("c-count", {"cidr": "10.0.0.0/8"}), False),
    # exists
    (detail("state", {"exists": True}), True),
    (detail("missing", {"exists": True}), False),
    (detail("missing", {"exists": False}), True),
    (detail("state", {"exists": False}), False),
    (detail("nothing", {"exists": True}), True),
    (detail("nested", {"exists": True}), False),
    (detail("nested", {"exists": False}), True),
    (detail("no-items", {"exists": True}), False),
    (detail("missing", {"exists": True}, {"prefix": "x"}), False),
    (detail("state", {"exists": False}, {"prefix": "term"}), True),
    # arrays in events
    (detail("tags", "green"), True),
    (detail("tags", "red", "blue"), True),
    (detail("tags", "red"), False),
    (detail("numbers", {"numeric": [">", 10]}), True),
    (detail("tags", {"anything-but": "blue"}), True),
    ('{"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}', True),
    ('{"detail": {"automations": {"id": [{"exists": true}]}}}', True),
    ('{"detail": {"employees": {"firstName": ["Anna"]}}}', True),
    ('{"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}}', True),
    ('{"detail": {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}}', False),
    (
        '{"detail": {"employees": {"firstName": ["Anna", "Peter"], "lastName": ["Jones"]}}}',
        True,
    ),
    # nesting, dot-joined keys, JSON strings are not parsed
    ('{"detail": {"nested": {"status": {"code": ["ok"]}}}}', True),
    ('{"detail": {"nested.status": {"code": ["ok"]}}}', True),
    ('{"detail": {"nested": {"status.code": ["ok"]}}}', True),
    ('{"detail": {"payload": {"my-key": ["v"]}}}', False),
    ('{"Detail": {"state": ["terminated"]}}', False),
    # $or at any level, and $or as a legacy field name
    ('{"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["terminated"]}}]}', True),
    ('{"$or": [{"source": ["aws.s3"]}, {"detail": {"state": ["running"]}}]}', False),
    (
        '{"source": ["aws.ec2"], "detail": {"$or": [{"c-count": [{"numeric": [">", 9]}]}, '
        '{"d-count": [{"numeric": ["<", 301]}]}]}}',
        True,
    ),
    (
        '{"detail": {"$or": [{"$or": [{"state": ["x"]}, {"flag": [false]}]}, {"tags": ["red"]}]}}',
        False,
    ),
    ('{"$or": [{"cidr": "10.0.0.0/24"}]}', False),
    # duplicate keys: the last one wins
    ('{"source": ["nope"], "source": ["aws.ec2"]}', True),
]


@pytest.mark.parametrize(("pattern", "expected"), MATCHING)
def test_matching_examples(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(EVENT) is expected


def test_text_is_kept() -> None:
    text = '{"source": ["aws.ec2"]}'
    assert compile_pattern(text).text == text


def test_legacy_or_field_name_matches_a_field_called_or() -> None:
    pattern = compile_pattern('{"detail": {"$or": [{"prefix": "a"}]}}')
    assert pattern.matches({"detail": {"$or": "abc"}})
    assert not pattern.matches({"detail": {"$or": "xyz"}})


def test_numbers_compare_numerically_at_any_precision() -> None:
    pattern = compile_pattern('{"n": [{"numeric": [">", 9007199254740992]}]}')
    assert pattern.matches({"n": 9007199254740993})
    assert not pattern.matches({"n": 9007199254740992.0})


REASONS = [
    (
        "this is valid json but not a dict",
        "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
    ),
    (
        "{'bad': 'quotation'}",
        "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
    ),
    ('["not","a","dict"]', "Filter is not an object"),
    ('{"int": 42}', '"int" must be an object or an array'),
    ('{"string": "my-value"}', '"string" must be an object or an array'),
    ('{"detail": {"x": null}}', '"x" must be an object or an array'),
    ('{"resources": []}', "Empty arrays are not allowed"),
    ('{"source":["x"],"detail":{}}', "Empty objects are not allowed"),
    ("{}", "Empty objects are not allowed"),
    ('{"my_key":[{"EXISTS":true}]}', "Unrecognized match type EXISTS"),
    ('{"detail":{"equal":[{"NUMERIC":["=",5]}]}}', "Unrecognized match type NUMERIC"),
    ('{"detail":{"c-count":[{"numeric":[">",0,">",0]}]}}', "Bad numeric range operator: >"),
    ('{"detail":{"c-count":[{"numeric":[">",0,"<"]}]}}', "Value of < must be numeric"),
    ('{"detail":{"c-count":[{"numeric":10}]}}', "Value of numeric must be an array."),
    ('{"a":[{"numeric":["=",5,"<",6]}]}', "Too many elements in numeric expression"),
    ('{"a":[{"numeric":[">",0,"<",5,6]}]}', "Too many terms in numeric range expression"),
    ('{"a":[{"numeric":[5]}]}', "Invalid member in numeric match: 5"),
    ('{"a":[{"numeric":[]}]}', "Invalid member in numeric match: ]"),
    ('{"a":[{"numeric":["!=",5]}]}', "Unrecognized numeric range operator: !="),
    ('{"a":[{"numeric":["=","5"]}]}', "Value of equals must be numeric"),
    ('{"a":[{"numeric":[">",0,5,6]}]}', "Bad value in numeric range: 5"),
    ('{"time":[{"prefix":123}]}', "prefix match pattern must be a string"),
    ('{"time":[{"prefix":["x"]}]}', "prefix match pattern must be a string"),
    ('{"FileName":[{"suffix":123}]}', "suffix match pattern must be a string"),
    ('{"FileName":[{"suffix":[".png"]}]}', "suffix match pattern must be a string"),
    (
        '{"detail-type":[{"equals-ignore-case":["x"]}]}',
        "equals-ignore-case match pattern must be a string",
    ),
    (
        '{"a":[{"equals-ignore-case":{"prefix":"x"}}]}',
        "equals-ignore-case match pattern must be a string",
    ),
    (
        '{"a":[{"prefix":{"equals-ignore-case":5}}]}',
        "equals-ignore-case match pattern must be a string",
    ),
    ('{"EventBusArn":[{"wildcard":123}]}', "wildcard match pattern must be a string"),
    ('{"EventBusArn":[{"wildcard":["*"]}]}', "wildcard match pattern must be a string"),
    (
        '{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:**:event-bus/*"}]}',
        "Consecutive wildcard characters at pos 26",
    ),
    ('{"a":[{"wildcard":"a\\\\b"}]}', "Invalid escape character at pos 2"),
    (
        '{"EventBusArn":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}',
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
    ),
    (
        '{"k":[{"wildcard":"*.bif"},{"wildcard":"*.tiff"},{"wildcard":"*.tif"},{"wildcard":"*.svs"}]}',
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
    ),
    (
        '{"detail":{"state":[{"anything-but":null}]}}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        '{"detail":{"state":[{"anything-but":["stopped",null]}]}}',
        "Inside anything but list, start|null|boolean is not supported.",
    ),
    (
        '{"a":[{"anything-but":["x",1]}]}',
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    (
        '{"a":[{"anything-but":{"prefix":{"equals-ignore-case":"file"}}}]}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        '{"a":[{"anything-but":{"suffix":{"equals-ignore-case":"file"}}}]}',
        "Value of anything-but must be an array or single string/number value.",
    ),
    ('{"a":[{"anything-but":{"prefix":""}}]}', "Null prefix/suffix not allowed"),
    ('{"a":[{"anything-but":{"suffix":""}}]}', "Null prefix/suffix not allowed"),
    ('{"a":[{"anything-but":{"prefix":123}}]}', "prefix/suffix match pattern must be a string"),
    (
        '{"a":[{"anything-but":{"prefix":[123,"x"]}}]}',
        "prefix/suffix match pattern must be a string",
    ),
    (
        '{"a":[{"anything-but":{"suffix":[null,"x"]}}]}',
        "prefix/suffix match pattern must be a string",
    ),
    (
        '{"a":[{"anything-but":{"equals-ignore-case":123}}]}',
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    ),
    (
        '{"a":[{"anything-but":{"equals-ignore-case":["x",1]}}]}',
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    ),
    ('{"a":[{"anything-but":{"wildcard":123}}]}', "wildcard match pattern must be a string"),
    (
        '{"a":[{"anything-but":{"wildcard":[123,"*/dir/*"]}}]}',
        "wildcard match pattern must be a string",
    ),
    ('{"a":[{"anything-but":{"exists":true}}]}', "Unsupported anything-but pattern: exists"),
    ('{"a":[{"cidr":"bad-filter"}]}', "Malformed CIDR, one '/' required"),
    ('{"a":[{"cidr":"bad-/64filter"}]}', "Malformed CIDR, mask bits must be an integer"),
    ('{"a":[{"cidr":"xx.11.xx/24"}]}', "Nonstandard IP address: xx.11.xx"),
    ('{"a":[{"cidr":["bad-type"]}]}', "prefix match pattern must be a string"),
    ('{"a":[{"cidr":"10.0.0.0/32"}]}', "IPv4 mask bits must be < 32"),
    ('{"$or":[{"a":["b"]}]}', "There must have at least 2 Objects in $or relationship."),
    ('{"a":[{"prefix":"x","suffix":"y"}]}', "Only one key allowed in match expression"),
    ('{"a":[["x"]]}', "Match value must be String, number, true, false, or null"),
    ('{"a":[{"exists":"true"}]}', "exists match pattern must be either true or false."),
    ('{"a":[{"anything-but":"x","prefix":"y"}]}', "Too many elements in numeric expression"),
    ('{"a":[{}]}', "Match expression name not found"),
]


@pytest.mark.parametrize(("pattern", "reason"), REASONS)
def test_invalid_pattern_reasons(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern(pattern)
    assert raised.value.reason == reason


def test_or_combinations_are_capped_at_1000() -> None:
    def alternatives(count: int) -> dict[str, Any]:
        return {"$or": [{f"k{i}": ["v"]} for i in range(count)]}

    thousand = {"a": alternatives(10), "b": alternatives(10), "c": alternatives(10)}
    assert len(compile_pattern(json.dumps(thousand)).branches) == 1000
    with pytest.raises(PatternError, match="too complex"):
        compile_pattern(json.dumps({**thousand, "d": alternatives(2)}))


def test_length_limit() -> None:
    padding = " " * (MAX_PATTERN_LENGTH - len('{"a":["b"]}'))
    compile_pattern('{"a":["b"]}' + padding)
    with pytest.raises(PatternTooLong):
        compile_pattern('{"a":["b"]}' + padding + " ")


def test_deep_nesting_is_a_pattern_error() -> None:
    with pytest.raises(PatternError):
        compile_pattern('{"a":' * 2000 + '["b"]' + "}" * 2000)


# --- properties -----------------------------------------------------------------------

keys = st.text(st.characters(codec="utf-8", exclude_characters="."), min_size=1, max_size=6)
scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
json_values = st.recursive(
    scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
operators = st.sampled_from(
    [
        "prefix",
        "suffix",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
        "equals-ignore-case",
        "wildcard",
        "$or",
    ]
)
pattern_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(operators | st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=15,
)


@settings(max_examples=300)
@given(document=json_values | pattern_like)
def test_compile_raises_only_pattern_error(document: object) -> None:
    try:
        compile_pattern(json.dumps(document))
    except PatternError as error:
        assert error.reason


@given(text=st.text(max_size=30))
def test_compile_raises_only_pattern_error_on_any_text(text: str) -> None:
    try:
        compile_pattern(text)
    except PatternError as error:
        assert error.reason


events = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda children: st.dictionaries(
        keys, children | scalars | st.lists(scalars, min_size=1, max_size=3), min_size=1, max_size=4
    ),
    max_leaves=12,
)


def leaf_pattern(event: dict[str, Any]) -> dict[str, Any]:
    """A pattern naming every leaf of the event with its own value (arrays: any element)."""
    pattern: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            pattern[key] = leaf_pattern(value)
        else:
            pattern[key] = value if isinstance(value, list) else [value]
    return pattern


@given(event=events)
def test_pattern_of_an_events_own_leaves_matches_it(event: dict[str, Any]) -> None:
    assert compile_pattern(json.dumps(leaf_pattern(event))).matches(event)


@given(value=st.text(max_size=8) | st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_anything_but_never_matches_its_value(value: str | float) -> None:
    single = compile_pattern(json.dumps({"f": [{"anything-but": value}]}))
    listed = compile_pattern(json.dumps({"f": [{"anything-but": [value]}]}))
    assert not single.matches({"f": value})
    assert not listed.matches({"f": value})


bounds = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)


@given(
    low=bounds,
    high=bounds,
    value=bounds,
    low_op=st.sampled_from([">", ">="]),
    high_op=st.sampled_from(["<", "<="]),
)
def test_numeric_ranges_agree_with_python(
    low: float, high: float, value: float, low_op: str, high_op: str
) -> None:
    pattern = compile_pattern(json.dumps({"n": [{"numeric": [low_op, low, high_op, high]}]}))
    above = value > low if low_op == ">" else value >= low
    below = value < high if high_op == "<" else value <= high
    assert pattern.matches({"n": value}) is (above and below)
    assert compile_pattern(json.dumps({"n": [{"numeric": ["=", low]}]})).matches({"n": value}) is (
        value == low
    )
