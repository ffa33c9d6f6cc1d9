"""JSON filter patterns (`{ $.level = "ERROR" && $.latency > 100 }`), once parsed.

The message must be a JSON object; selectors, comparisons and `&&`/`||` are evaluated
in Python only (`JsonCondition.sql` is None). The parser is `filter_json_parser`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final, Protocol

Path = tuple[str | int, ...]


class _Absent(Enum):
    """The value of a selector that does not exist in the document."""

    ABSENT = auto()


_ABSENT: Final = _Absent.ABSENT


def _resolve(document: object, path: Path) -> object:
    node = document
    for step in path:
        node = _child(node, step)
        if node is _ABSENT:
            break
    return node


def _child(node: object, step: str | int) -> object:
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and step < len(node) else _ABSENT
    return node.get(step, _ABSENT) if isinstance(node, dict) else _ABSENT


def _as_number(value: object) -> int | float | None:
    """JSON numbers only: `True` is an int to Python but not a number to CloudWatch.

    Integers stay integers: a huge one does not fit a float, and Python compares int to
    float exactly.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


class Expression(Protocol):
    """A node of a JSON pattern, evaluated against one decoded JSON object."""

    def evaluate(self, document: dict[str, object]) -> bool: ...


@dataclass(frozen=True)
class Glob:
    """A string with `*` wildcards; literal pieces are matched with `str.find`.

    Greedy leftmost search is exact for `*`-only globs and stays linear, where a regex
    with many `.*` would backtrack on long messages.
    """

    pieces: tuple[str, ...]  # the literal text between wildcards; one piece = no wildcard

    def matches(self, value: str) -> bool:
        first, last = self.pieces[0], self.pieces[-1]
        if len(self.pieces) == 1:
            return value == first
        end = len(value) - len(last)
        if end < len(first) or not value.startswith(first) or not value.endswith(last):
            return False
        position = len(first)
        for piece in self.pieces[1:-1]:
            found = value.find(piece, position, end)
            if found < 0:
                return False
            position = found + len(piece)
        return True


@dataclass(frozen=True)
class TextComparison:
    """`selector = "glob"` or `!=`: the field must exist; `=` needs a matching string."""

    path: Path
    glob: Glob
    negated: bool

    def evaluate(self, document: dict[str, object]) -> bool:
        value = _resolve(document, self.path)
        if value is _ABSENT:
            return False
        return (isinstance(value, str) and self.glob.matches(value)) != self.negated


class Comparator(Enum):
    EQ = "="
    NE = "!="
    LT = "<"
    GT = ">"
    LE = "<="
    GE = ">="


@dataclass(frozen=True)
class NumberComparison:
    """Numeric comparison; only JSON numbers compare (booleans and strings do not)."""

    path: Path
    comparator: Comparator
    number: float

    def evaluate(self, document: dict[str, object]) -> bool:
        value = _resolve(document, self.path)
        if value is _ABSENT:
            return False
        number = _as_number(value)
        if self.comparator is Comparator.NE:
            return number is None or number != self.number
        return number is not None and self._holds(number)

    def _holds(self, value: int | float) -> bool:
        match self.comparator:
            case Comparator.EQ:
                return value == self.number
            case Comparator.LT:
                return value < self.number
            case Comparator.GT:
                return value > self.number
            case Comparator.LE:
                return value <= self.number
            case _:
                return value >= self.number


class Check(Enum):
    IS_NULL = auto()
    NOT_EXISTS = auto()
    IS_TRUE = auto()
    IS_FALSE = auto()


@dataclass(frozen=True)
class FieldCheck:
    path: Path
    check: Check

    def evaluate(self, document: dict[str, object]) -> bool:
        value = _resolve(document, self.path)
        match self.check:
            case Check.NOT_EXISTS:
                return value is _ABSENT
            case Check.IS_NULL:
                return value is None
            case Check.IS_TRUE:
                return value is True
            case _:
                return value is False


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Expression, ...]

    def evaluate(self, document: dict[str, object]) -> bool:
        return all(part.evaluate(document) for part in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Expression, ...]

    def evaluate(self, document: dict[str, object]) -> bool:
        return any(part.evaluate(document) for part in self.parts)


def _load_object(message: str) -> dict[str, object] | None:
    if not message.lstrip().startswith("{"):
        return None  # most lines are plain text: skip the decoder's exception path
    try:
        document = json.loads(message)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


@dataclass(frozen=True)
class JsonCondition:
    """A JSON pattern; matches only messages that are JSON objects."""

    expression: Expression

    def matches(self, message: str) -> bool:
        document = _load_object(message)
        return document is not None and self.expression.evaluate(document)

    def sql(self, column: str) -> None:
        """JSON selectors are evaluated in Python; the caller filters with `matches`."""
        return None
