"""The parser of JSON filter patterns: tokens, then recursive descent into expressions."""

from __future__ import annotations

import re
from typing import Final

from nimbus.errors import InvalidParameter
from nimbus.telemetry.filter_errors import UNCLOSED_JSON_PATTERN, invalid_pattern
from nimbus.telemetry.filter_json import (
    AllOf,
    AnyOf,
    Check,
    Comparator,
    Expression,
    FieldCheck,
    Glob,
    JsonCondition,
    NumberComparison,
    Path,
    TextComparison,
)

_JSON_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|&&|\|\||!=|<=|>=|[=<>()]|[^\s"()=!<>&|]+)', re.S)
_SELECTOR = re.compile(r"\$(?:\.[\w@-]+|\[[0-9]+\])+")
_SELECTOR_STEP = re.compile(r"\.([\w@-]+)|\[([0-9]+)\]")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GLOB_PIECE = re.compile(r"\\(.)|(\*)|(\\|[^\\*]+)", re.S)
_CONNECTIVES = frozenset({"&&", "||", "(", ")"})

_CHECK_WORDS: Final = {
    ("IS", "NULL"): Check.IS_NULL,
    ("NOT", "EXISTS"): Check.NOT_EXISTS,
    ("IS", "TRUE"): Check.IS_TRUE,
    ("IS", "FALSE"): Check.IS_FALSE,
}


def _glob(source: str) -> Glob:
    """`\\x` is a literal x (so `\\*` is a literal star); a bare `*` is a wildcard."""
    pieces: list[str] = []
    current: list[str] = []
    for escaped, star, plain in _GLOB_PIECE.findall(source):
        if star:
            pieces.append("".join(current))
            current = []
        else:
            current.append(escaped or plain)
    return Glob((*pieces, "".join(current)))


class _JsonParser:
    """Recursive descent: `||` binds loosest, then `&&`, then parentheses/comparisons."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._next = 0

    def parse(self) -> Expression:
        expression = self._either()
        if self._next != len(self._tokens):
            raise invalid_pattern()
        return expression

    def _peek(self) -> str | None:
        return self._tokens[self._next] if self._next < len(self._tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise invalid_pattern()
        self._next += 1
        return token

    def _either(self) -> Expression:
        parts = [self._both()]
        while self._peek() == "||":
            self._take()
            parts.append(self._both())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _both(self) -> Expression:
        parts = [self._operand()]
        while self._peek() == "&&":
            self._take()
            parts.append(self._operand())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _operand(self) -> Expression:
        if self._peek() != "(":
            return self._comparison()
        self._take()
        expression = self._either()
        if self._take() != ")":
            raise invalid_pattern()
        return expression

    def _comparison(self) -> Expression:
        path = _selector_path(self._take())
        operator = self._take()
        if operator.upper() in ("IS", "NOT"):
            check = _CHECK_WORDS.get((operator.upper(), self._take().upper()))
            if check is None:
                raise invalid_pattern()
            return FieldCheck(path, check)
        try:
            comparator = Comparator(operator)
        except ValueError:
            raise invalid_pattern() from None
        return _compare(path, comparator, self._take())


def _compare(path: Path, comparator: Comparator, value: str) -> Expression:
    if _NUMBER.fullmatch(value):
        return NumberComparison(path, comparator, float(value))
    if value in _CONNECTIVES or value.startswith("$"):
        raise invalid_pattern()
    if comparator not in (Comparator.EQ, Comparator.NE):
        raise invalid_pattern()  # ordering is defined for numbers only
    source = value[1:-1] if value.startswith('"') else value
    return TextComparison(path, _glob(source), negated=comparator is Comparator.NE)


def _selector_path(token: str) -> Path:
    if not _SELECTOR.fullmatch(token):
        raise invalid_pattern()
    return tuple(int(index) if index else key for key, index in _SELECTOR_STEP.findall(token))


def _json_tokens(source: str) -> list[str]:
    tokens: list[str] = []
    position, end = 0, len(source.rstrip())
    while position < end:
        match = _JSON_TOKEN.match(source, position)
        if match is None:
            raise invalid_pattern()
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def parse_json_condition(body: str) -> JsonCondition:
    if not body.endswith("}"):
        raise InvalidParameter(UNCLOSED_JSON_PATTERN)
    return JsonCondition(_JsonParser(_json_tokens(body[1:-1])).parse())
