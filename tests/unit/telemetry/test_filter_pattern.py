"""CloudWatch Logs filter patterns: every form, AWS's errors, and SQL that agrees with Python."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import sqlite3

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from nimbus.errors import InvalidParameter
from nimbus.telemetry.filter_errors import INVALID_PATTERN, UNCLOSED_JSON_PATTERN
from nimbus.telemetry.filter_json import Glob
from nimbus.telemetry.filter_pattern import MAX_PATTERN_LENGTH, parse_filter_pattern
from nimbus.telemetry.filter_terms import TermCondition

START = "START RequestId: 8f5c Version: $LATEST"
REPORT = "REPORT RequestId: 8f5c\tDuration: 3.01 ms\tBilled Duration: 4 ms"
APP = "2024-05-01T10:00:00Z 8f5c ERROR Unhandled Exception: Task timed out after 3.00 seconds"


def matches(pattern: str, message: str) -> bool:
    return parse_filter_pattern(pattern).matches(message)


# ---------------------------------------------------------------------------- term patterns


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", APP, True),
        ("   \t ", "", True),
        ("ERROR", APP, True),
        ("ERROR", "error in lower case", False),
        ("ERROR Exception", APP, True),
        ("ERROR Exception", "ERROR only", False),
        ("Exception ERROR", "Exception then ERROR", True),
        ('"Task timed out"', APP, True),
        ('"Task timed out"', "Task was timed out", False),
        ('"RequestId:"', START, True),
        ("RequestId: Duration:", REPORT, True),
        ("RequestId: Duration:", START, False),
        ('"say \\"hi\\""', 'they say "hi" twice', True),
        ('"say \\"hi\\""', "they say hi twice", False),
        ('"C:\\temp"', "wrote C:\\temp\\x", True),
        ('"back\\\\"', "a back\\ slash", True),
        ('"?-{}[]"', "odd ?-{}[] chars", True),
        ("?ERROR ?WARN", "WARN: disk", True),
        ("?ERROR ?WARN", "INFO: fine", False),
        ('?"timed out" ?Killed', APP, True),
        ("ERROR -Retry", APP, True),
        ("ERROR -Retry", "ERROR will Retry", False),
        ('ERROR -"timed out"', APP, False),
        ("-START -END", REPORT, True),
        ("-START -END", START, False),
        ("foo-bar", "x foo-bar y", True),
        ("a_c", "abc", False),
        ("100%", "at 100% load", True),
        ("100%", "at 1000 load", False),
        ('""', "anything", True),
        ("ERROR  \t Exception\n", APP, True),
    ],
)
def test_term_pattern_examples(pattern: str, message: str, expected: bool) -> None:
    assert matches(pattern, message) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        '"unterminated',
        '"escaped quote at end\\"',
        "?ERROR WARN",
        "ERROR ?WARN",
        "?ERROR -WARN",
        '"joined"word',
        'word"joined"',
        "-",
        "?",
        "--double",
        "?-both",
        "??twice",
        "a?b",
        "a{b",
        "a}b",
        "a[b",
        "a]b",
        "}",
        "%ERROR|WARN%",
        "[ip, user, status=404]",
        "[]",
        "x" * (MAX_PATTERN_LENGTH + 1),
    ],
)
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter_pattern(pattern)
    assert caught.value.message == INVALID_PATTERN


@pytest.mark.parametrize("pattern", ["{", '{ $.a = "x"', "  { $.a = 1 ) ", "{}x"])
def test_open_brace_must_close(pattern: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter_pattern(pattern)
    assert caught.value.message == UNCLOSED_JSON_PATTERN


def test_length_limit_is_inclusive() -> None:
    assert parse_filter_pattern("x" * MAX_PATTERN_LENGTH).matches("x" * MAX_PATTERN_LENGTH)


def test_text_is_the_original_and_the_pattern_is_immutable() -> None:
    original = "  ERROR   -Retry "
    pattern = parse_filter_pattern(original)
    assert pattern.text == original
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern.text = "other"  # type: ignore[misc]


# ---------------------------------------------------------------------------- JSON patterns

EVENT = json.dumps(
    {
        "level": "ERROR",
        "latency": 250,
        "ratio": 0.5,
        "ok": False,
        "cached": True,
        "parent": None,
        "ip": "123.123.4.5",
        "user": {"name": "ana", "roles": ["admin", "dev"]},
        "items": [{"id": 7}, {"id": 8}],
        "key-with_dash": "k",
        "star": "a*b",
        "code": "404",
        "one": 1,
        "zero": 0,
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.level = "ERROR" }', True),
        ('{ $.level = "error" }', False),
        ('{$.level="ERROR"}', True),
        ('{ $.level != "ERROR" }', False),
        ('{ $.level != "INFO" }', True),
        ('{ $.missing != "INFO" }', False),
        ('{ $.level = "ERR*" }', True),
        ('{ $.level = "*RO*" }', True),
        ('{ $.level = "*X*" }', False),
        ('{ $.level = "E*R*R" }', True),
        ('{ $.level = "*RR*RR*" }', False),
        ('{ $.level = "ERR*RROR" }', False),
        ('{ $.level = "*" }', True),
        ('{ $.star = "a\\*b" }', True),
        ('{ $.level = "a\\*b" }', False),
        ("{ $.ip = 123.123.* }", True),
        ("{ $.ip != 123.123.* }", False),
        ("{ $.latency = 250 }", True),
        ("{ $.latency = 250.0 }", True),
        ("{ $.latency > 100 }", True),
        ("{ $.latency < 100 }", False),
        ("{ $.latency >= 250 }", True),
        ("{ $.latency <= 249.9 }", False),
        ("{ $.latency != 250 }", False),
        ("{ $.latency != 1 }", True),
        ("{ $.ratio < 1e0 }", True),
        ("{ $.ratio > -.5 }", True),
        ("{ $.code = 404 }", False),
        ('{ $.code = "404" }', True),
        ("{ $.cached = 1 }", False),
        ("{ $.level > 1 }", False),
        ("{ $.parent IS NULL }", True),
        ("{ $.level IS NULL }", False),
        ("{ $.missing IS NULL }", False),
        ("{ $.missing NOT EXISTS }", True),
        ("{ $.parent NOT EXISTS }", False),
        ("{ $.user.nope NOT EXISTS }", True),
        ("{ $.cached IS TRUE }", True),
        ("{ $.ok IS FALSE }", True),
        ("{ $.ok IS TRUE }", False),
        ("{ $.one IS TRUE }", False),
        ("{ $.zero IS FALSE }", False),
        ("{ $.zero IS NULL }", False),
        ("{ $.user.roles[2] NOT EXISTS }", True),
        ("{ $.user.roles[2] IS NULL }", False),
        ("{ $.user.roles.x NOT EXISTS }", True),
        ("{ $.latency is not_a_check }", None),
        ("{ $.cached is true }", True),
        ('{ $.user.name = "ana" }', True),
        ('{ $.user.roles[1] = "dev" }', True),
        ('{ $.user.roles[2] = "dev" }', False),
        ("{ $.items[1].id = 8 }", True),
        ("{ $.items.id = 8 }", False),
        ('{ $.key-with_dash = "k" }', True),
        ('{ $.level = "ERROR" && $.latency > 100 }', True),
        ('{ $.level = "ERROR" && $.latency > 300 }', False),
        ('{ $.level = "INFO" || $.latency > 100 }', True),
        ('{ $.level = "INFO" || $.latency > 300 }', False),
        ('{ $.level = "INFO" && $.ok IS TRUE || $.cached IS TRUE }', True),
        ('{ $.level = "INFO" && ($.ok IS TRUE || $.cached IS TRUE) }', False),
        ('{ (($.level = "ERROR") && ($.user.name = "ana" || $.x NOT EXISTS)) }', True),
    ],
)
def test_json_pattern_examples(pattern: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(InvalidParameter, match=INVALID_PATTERN):
            parse_filter_pattern(pattern)
    else:
        assert matches(pattern, EVENT) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "{ }",
        "{ $.a }",
        "{ $.a = }",
        "{ $.a == 1 }",
        "{ $.a =! 1 }",
        '{ $.a < "x" }',
        "{ $.a >= abc }",
        "{ a = 1 }",
        "{ $ = 1 }",
        "{ $.a = $.b }",
        "{ $.a..b = 1 }",
        "{ $.a[x] = 1 }",
        "{ $.a = 1 && }",
        "{ $.a = 1 || || $.b = 2 }",
        "{ ($.a = 1 }",
        "{ ($.a = 1 $.b }",
        "{ $.a = 1) }",
        "{ $.a = 1 $.b = 2 }",
        "{ $.a IS }",
        "{ $.a NOT NULL }",
        "{ $.a = (1) }",
        '{ $.a = "open }',
        "{ $.a = 1 & $.b = 2 }",
        "{ $.a ! 1 }",
    ],
)
def test_invalid_json_patterns(pattern: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter_pattern(pattern)
    assert caught.value.message == INVALID_PATTERN


@pytest.mark.parametrize(
    "message",
    [
        APP,
        "",
        "{",
        "[1, 2]",
        '"ERROR"',
        '{"level": "ERROR"',
        '{"level": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_json_patterns_need_a_json_object(message: str) -> None:
    assert not matches('{ $.level = "ERROR" || $.level NOT EXISTS }', message)


def test_json_pattern_sees_huge_integers_exactly() -> None:
    assert matches("{ $.n > 1e300 }", '{"n": ' + "9" * 400 + "}")
    assert not matches("{ $.n < 1 }", '{"n": ' + "9" * 400 + "}")


def test_json_patterns_are_not_expressed_in_sql() -> None:
    assert parse_filter_pattern('{ $.level = "ERROR" }').sql("message") is None


# ---------------------------------------------------------------------------- SQL


def test_empty_pattern_sql_selects_everything() -> None:
    assert parse_filter_pattern("  ").sql("message") == ("1", [])


def test_sql_uses_instr_with_parameters() -> None:
    expression, parameters = parse_filter_pattern("ERROR -'x'").sql("m") or ("", [])
    assert "instr(m, ?)" in expression
    assert "LIKE" not in expression.upper()
    assert parameters == ["ERROR", "'x'"]


def select(pattern: str, messages: list[str]) -> set[int]:
    """The row ids SQLite selects with the pattern's expression."""
    translated = parse_filter_pattern(pattern).sql("message")
    assert translated is not None
    expression, parameters = translated
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, message TEXT NOT NULL)")
        db.executemany("INSERT INTO t VALUES (?, ?)", enumerate(messages))
        rows = db.execute(f"SELECT id FROM t WHERE {expression}", parameters).fetchall()
    return {row[0] for row in rows}


def accepted(pattern: str, messages: list[str]) -> set[int]:
    found = parse_filter_pattern(pattern)
    return {index for index, message in enumerate(messages) if found.matches(message)}


@pytest.mark.parametrize(
    "pattern", ["a_c", "100%", "ERROR", "?ERROR ?'quoted'", "-START", '"a b" -"c d"', ""]
)
def test_sql_treats_like_wildcards_and_case_literally(pattern: str) -> None:
    messages = ["abc", "a_c", "1000", "100%", "error", "ERROR", "'quoted'", "a b c d", START]
    assert select(pattern, messages) == accepted(pattern, messages)


# ---------------------------------------------------------------------------- properties

PATTERN_PIECE = st.sampled_from([*'{}[]()$.&|=!<>"\\?-* aAzZ019_%', " IS ", " NOT ", "NULL"])
PATTERN_TEXT = st.lists(PATTERN_PIECE, max_size=30).map("".join)
ANY_PATTERN = st.text() | PATTERN_TEXT | st.text(max_size=2000)
JSON_PATTERN = PATTERN_TEXT.map(lambda inner: "{ $.a" + inner + " }")


@given(ANY_PATTERN | JSON_PATTERN, st.text() | st.just(EVENT) | st.just('{"a": [1]}'))
def test_parse_raises_only_invalid_parameter(pattern: str, message: str) -> None:
    try:
        parsed = parse_filter_pattern(pattern)
    except InvalidParameter as error:
        assert error.message in (INVALID_PATTERN, UNCLOSED_JSON_PATTERN)
        return
    assert isinstance(parsed.matches(message), bool)


WORD = st.text("abAB_.:/", min_size=1, max_size=3)
PHRASE = st.text('ab "\\?-{}\x00é', max_size=4)
MESSAGE = st.text('abAB_.:/ "\\?-{}\x00é', max_size=24)


def spell(term: str, quoted: bool) -> str:
    if not quoted:
        return term
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def term_patterns(draw: st.DrawFn) -> tuple[str, list[str], list[str], list[str]]:
    """A pattern text and the required, optional and excluded terms it was built from."""
    terms = draw(
        st.lists(
            st.one_of(WORD.map(lambda w: (w, False)), PHRASE.map(lambda p: (p, True))),
            max_size=5,
        )
    )
    if draw(st.booleans()) and terms:
        optional = [term for term, _ in terms]
        spelled = ["?" + spell(term, quoted) for term, quoted in terms]
        return " ".join(spelled), [], optional, []
    excluding = draw(st.lists(st.booleans(), min_size=len(terms), max_size=len(terms)))
    required = [term for (term, _), out in zip(terms, excluding, strict=True) if not out]
    excluded = [term for (term, _), out in zip(terms, excluding, strict=True) if out]
    spelled = [
        ("-" if out else "") + spell(term, quoted)
        for (term, quoted), out in zip(terms, excluding, strict=True)
    ]
    separator = draw(st.sampled_from([" ", "  ", "\t", " \n "]))
    return separator.join(spelled), required, [], excluded


@given(term_patterns(), st.lists(MESSAGE, max_size=8))
def test_terms_agree_with_a_reference(
    built: tuple[str, list[str], list[str], list[str]], messages: list[str]
) -> None:
    text, required, optional, excluded = built
    pattern = parse_filter_pattern(text)
    for message in messages:
        if optional:
            expected = any(term in message for term in optional)
        else:
            expected = all(term in message for term in required) and not any(
                term in message for term in excluded
            )
        assert pattern.matches(message) is expected


@given(term_patterns(), st.lists(MESSAGE | st.text(), max_size=12))
def test_sql_agrees_with_matches(
    built: tuple[str, list[str], list[str], list[str]], messages: list[str]
) -> None:
    assert select(built[0], messages) == accepted(built[0], messages)


TERMS = st.lists(MESSAGE, max_size=3).map(tuple)


@given(TERMS, TERMS, TERMS, st.lists(MESSAGE, max_size=8))
def test_sql_agrees_with_any_term_condition(
    required: tuple[str, ...],
    optional: tuple[str, ...],
    excluded: tuple[str, ...],
    messages: list[str],
) -> None:
    """The parser never mixes `?` terms with others, but the condition's SQL must not care."""
    condition = TermCondition(required, optional, excluded)
    expression, parameters = condition.sql("message")
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, message TEXT NOT NULL)")
        db.executemany("INSERT INTO t VALUES (?, ?)", enumerate(messages))
        query = f"SELECT id FROM t WHERE 0 OR {expression} AND 1"
        selected = {row[0] for row in db.execute(query, parameters)}
    assert selected == {i for i, message in enumerate(messages) if condition.matches(message)}


@given(PATTERN_TEXT, st.lists(MESSAGE | st.text(), max_size=8))
def test_sql_agrees_with_matches_for_any_term_pattern(pattern: str, messages: list[str]) -> None:
    try:
        parsed = parse_filter_pattern(pattern)
    except InvalidParameter:
        return
    if parsed.sql("message") is not None:
        assert select(pattern, messages) == accepted(pattern, messages)


@given(st.lists(st.text("ab", max_size=2), min_size=1, max_size=4), st.text("ab*", max_size=10))
@example(["", "aa", "aa", ""], "aaa")
def test_glob_agrees_with_a_regex(pieces: list[str], value: str) -> None:
    reference = re.compile(".*".join(re.escape(piece) for piece in pieces), re.S)
    assert Glob(tuple(pieces)).matches(value) is (reference.fullmatch(value) is not None)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3) | st.text("ab*", max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner),
    max_leaves=8,
)
DOCUMENTS = st.dictionaries(st.sampled_from("ab"), JSON_VALUES).map(json.dumps)
SELECTORS = st.lists(st.sampled_from([".a", ".b", "[0]", "[1]"]), min_size=1, max_size=3).map(
    lambda steps: "$" + "".join(steps)
)
VALUES = (
    st.text("ab*", max_size=3).map(lambda text: f'"{text}"')
    | st.integers(-3, 3).map(str)
    | st.sampled_from(["a*", "b", "0.5", "-1e0"])
)
LEAVES = (
    st.tuples(SELECTORS, st.sampled_from(["=", "!="]), VALUES).map(" ".join)
    | st.tuples(
        SELECTORS, st.sampled_from(["<", ">", "<=", ">="]), st.integers(-3, 3).map(str)
    ).map(" ".join)
    | st.tuples(SELECTORS, st.sampled_from(["IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE"])).map(
        " ".join
    )
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(
        lambda parts: f"({' '.join(parts)})"
    ),
    max_leaves=6,
)


@given(CONDITIONS, CONDITIONS, DOCUMENTS)
def test_json_connectives_compose(left: str, right: str, document: str) -> None:
    """Well-formed JSON patterns parse, and `&&`/`||` mean what they say on any object."""
    left_hit, right_hit = matches(f"{{ {left} }}", document), matches(f"{{{right}}}", document)
    assert matches(f"{{ {left} && {right} }}", document) is (left_hit and right_hit)
    assert matches(f"{{ {left} || {right} }}", document) is (left_hit or right_hit)
    assert matches(f"{{ (({left})) }}", document) is left_hit


COMPARATORS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


@given(
    st.sampled_from(sorted(COMPARATORS)),
    st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False),
    st.integers(-5, 5),
)
def test_numeric_comparisons_agree_with_python(comparator: str, field: float, limit: int) -> None:
    message = json.dumps({"m": {"v": field}})
    expected = COMPARATORS[comparator](field, limit)
    assert matches(f"{{ $.m.v {comparator} {limit} }}", message) is expected
