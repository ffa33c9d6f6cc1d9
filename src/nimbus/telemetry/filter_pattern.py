"""CloudWatch Logs filter patterns: parsed once, matched in Python or inside SQLite.

FilterLogEvents scans many stored lines per request, so a pattern is parsed into an
immutable `FilterPattern` up front and then either evaluated per message (`matches`) or
turned into an SQLite expression (`sql`) so the scan happens in C next to the data.

Two pattern families exist, told apart by their first character:

* term patterns (`ERROR -Retry`, `?WARN ?"Task timed out"`): case-sensitive substrings,
  all required (plain terms), any one of them (`?` terms) or none of them (`-` terms);
  expressible in SQL with `instr`, which is case-sensitive and has no wildcard characters.
* JSON patterns (`{ $.level = "ERROR" && $.latency > 100 }`): the message must be a JSON
  object; selectors, comparisons and `&&`/`||` are evaluated in Python only.

Space-delimited patterns (`[ip, user, ...]`) and `%regex%` terms are not supported: they
are rejected as invalid rather than silently matched as literal text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Final, Protocol

from nimbus.errors import InvalidParameter

MAX_PATTERN_LENGTH: Final = 1024
INVALID_PATTERN: Final = "Invalid filter pattern"
UNCLOSED_JSON_PATTERN: Final = "If a filter pattern starts with '{' it must end with '}'"


def _invalid() -> InvalidParameter:
    return InvalidParameter(INVALID_PATTERN)


# ---------------------------------------------------------------------------- term patterns

# One term: an optional role prefix, then a quoted phrase or a bare word, then a separator.
_TERM = re.compile(
    r'(?P<role>[?-]?)(?:"(?P<phrase>(?:[^"\\]|\\.)*)"|(?P<word>[^\s"]+))(?:\s+|\Z)', re.S
)
# Inside a phrase only `\"` and `\\` are escapes, so Windows paths keep their backslashes.
_PHRASE_ESCAPE = re.compile(r'\\(["\\])')
# Characters CloudWatch gives a meaning to; a bare word containing them is a syntax error.
_RESERVED_IN_WORD = frozenset("{}[]?")


class TermRole(Enum):
    """How one term takes part in the match."""

    REQUIRED = auto()  # plain term: must occur
    OPTIONAL = auto()  # `?term`: at least one of these must occur
    EXCLUDED = auto()  # `-term`: must not occur


_ROLE_PREFIXES: Final = {"": TermRole.REQUIRED, "?": TermRole.OPTIONAL, "-": TermRole.EXCLUDED}


@dataclass(frozen=True)
class TermCondition:
    """Substring conditions; the empty condition matches every message."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        if self.optional and not any(term in message for term in self.optional):
            return False
        return all(term in message for term in self.required) and not any(
            term in message for term in self.excluded
        )

    def sql(self, column: str) -> tuple[str, list[str]]:
        found = f"instr({column}, ?) > 0"
        clauses = [found] * len(self.required) + [f"instr({column}, ?) = 0"] * len(self.excluded)
        if self.optional:
            clauses.append("(" + " OR ".join([found] * len(self.optional)) + ")")
        if not clauses:
            return "1", []
        return "(" + " AND ".join(clauses) + ")", [*self.required, *self.excluded, *self.optional]


def _parse_terms(body: str) -> TermCondition:
    terms: dict[TermRole, list[str]] = {role: [] for role in TermRole}
    for role, term in _scan_terms(body):
        terms[role].append(term)
    # CloudWatch: a pattern is either all `?` terms or plain/exclusion terms, never both.
    if terms[TermRole.OPTIONAL] and (terms[TermRole.REQUIRED] or terms[TermRole.EXCLUDED]):
        raise _invalid()
    return TermCondition(
        required=tuple(terms[TermRole.REQUIRED]),
        optional=tuple(terms[TermRole.OPTIONAL]),
        excluded=tuple(terms[TermRole.EXCLUDED]),
    )


def _scan_terms(body: str) -> Iterator[tuple[TermRole, str]]:
    position = 0
    while position < len(body):
        match = _TERM.match(body, position)
        if match is None:
            raise _invalid()
        phrase, word = match.group("phrase"), match.group("word")
        term = _PHRASE_ESCAPE.sub(r"\1", phrase) if phrase is not None else _check_word(word)
        yield _ROLE_PREFIXES[match.group("role")], term
        position = match.end()


def _check_word(word: str) -> str:
    """Accept unquoted punctuation (lenient), but not the characters with a meaning."""
    if word.startswith("-") or not _RESERVED_IN_WORD.isdisjoint(word):
        raise _invalid()
    if len(word) > 1 and word.startswith("%") and word.endswith("%"):
        raise _invalid()  # a CloudWatch regex term; matching it literally would be wrong
    return word


# ---------------------------------------------------------------------------- JSON patterns

_JSON_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|&&|\|\||!=|<=|>=|[=<>()]|[^\s"()=!<>&|]+)', re.S)
_SELECTOR = re.compile(r"\$(?:\.[\w@-]+|\[[0-9]+\])+")
_SELECTOR_STEP = re.compile(r"\.([\w@-]+)|\[([0-9]+)\]")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GLOB_PIECE = re.compile(r"\\(.)|(\*)|(\\|[^\\*]+)", re.S)
_CONNECTIVES = frozenset({"&&", "||", "(", ")"})

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


_CHECK_WORDS: Final = {
    ("IS", "NULL"): Check.IS_NULL,
    ("NOT", "EXISTS"): Check.NOT_EXISTS,
    ("IS", "TRUE"): Check.IS_TRUE,
    ("IS", "FALSE"): Check.IS_FALSE,
}


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


class _JsonParser:
    """Recursive descent: `||` binds loosest, then `&&`, then parentheses/comparisons."""

    def __init__(self, tokens: list[str]) -> None:
        self._tokens = tokens
        self._next = 0

    def parse(self) -> Expression:
        expression = self._either()
        if self._next != len(self._tokens):
            raise _invalid()
        return expression

    def _peek(self) -> str | None:
        return self._tokens[self._next] if self._next < len(self._tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise _invalid()
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
            raise _invalid()
        return expression

    def _comparison(self) -> Expression:
        path = _selector_path(self._take())
        operator = self._take()
        if operator.upper() in ("IS", "NOT"):
            check = _CHECK_WORDS.get((operator.upper(), self._take().upper()))
            if check is None:
                raise _invalid()
            return FieldCheck(path, check)
        try:
            comparator = Comparator(operator)
        except ValueError:
            raise _invalid() from None
        return _compare(path, comparator, self._take())


def _compare(path: Path, comparator: Comparator, value: str) -> Expression:
    if _NUMBER.fullmatch(value):
        return NumberComparison(path, comparator, float(value))
    if value in _CONNECTIVES or value.startswith("$"):
        raise _invalid()
    if comparator not in (Comparator.EQ, Comparator.NE):
        raise _invalid()  # ordering is defined for numbers only
    source = value[1:-1] if value.startswith('"') else value
    return TextComparison(path, _glob(source), negated=comparator is Comparator.NE)


def _selector_path(token: str) -> Path:
    if not _SELECTOR.fullmatch(token):
        raise _invalid()
    return tuple(int(index) if index else key for key, index in _SELECTOR_STEP.findall(token))


def _json_tokens(source: str) -> list[str]:
    tokens: list[str] = []
    position, end = 0, len(source.rstrip())
    while position < end:
        match = _JSON_TOKEN.match(source, position)
        if match is None:
            raise _invalid()
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _parse_json(body: str) -> JsonCondition:
    if not body.endswith("}"):
        raise InvalidParameter(UNCLOSED_JSON_PATTERN)
    return JsonCondition(_JsonParser(_json_tokens(body[1:-1])).parse())


# ---------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class FilterPattern:
    """A parsed filter pattern; `text` is the pattern exactly as the caller sent it."""

    text: str
    condition: TermCondition | JsonCondition = field(repr=False)

    def matches(self, message: str) -> bool:
        """Whether CloudWatch would return a log event with this message."""
        return self.condition.matches(message)

    def sql(self, column: str) -> tuple[str, list[str]] | None:
        """An SQLite boolean expression selecting exactly the rows `matches` accepts.

        `column` is inserted verbatim (it comes from code, never from a request); the
        pattern's terms travel as `?` parameters. None means: filter with `matches`.
        """
        return self.condition.sql(column)


def parse_filter_pattern(text: str) -> FilterPattern:
    """Parse a FilterLogEvents `filterPattern`; raises `InvalidParameter` with AWS's text."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise _invalid()
    body = text.strip()
    if body.startswith("{"):
        return FilterPattern(text, _parse_json(body))
    if body.startswith("["):
        raise _invalid()  # space-delimited patterns are not supported
    return FilterPattern(text, _parse_terms(body))
