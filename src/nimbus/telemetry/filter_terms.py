"""Term filter patterns (`ERROR -Retry`, `?WARN ?"Task timed out"`): substring conditions.

Terms are case-sensitive substrings, all required (plain terms), any one of them (`?`
terms) or none of them (`-` terms); expressible in SQL with `instr`, which is
case-sensitive and has no wildcard characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, auto
from typing import Final

from nimbus.telemetry.filter_errors import invalid_pattern

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


def parse_term_condition(body: str) -> TermCondition:
    terms: dict[TermRole, list[str]] = {role: [] for role in TermRole}
    for role, term in _scan_terms(body):
        terms[role].append(term)
    # CloudWatch: a pattern is either all `?` terms or plain/exclusion terms, never both.
    if terms[TermRole.OPTIONAL] and (terms[TermRole.REQUIRED] or terms[TermRole.EXCLUDED]):
        raise invalid_pattern()
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
            raise invalid_pattern()
        phrase, word = match.group("phrase"), match.group("word")
        term = _PHRASE_ESCAPE.sub(r"\1", phrase) if phrase is not None else _check_word(word)
        yield _ROLE_PREFIXES[match.group("role")], term
        position = match.end()


def _check_word(word: str) -> str:
    """Accept unquoted punctuation (lenient), but not the characters with a meaning."""
    if word.startswith("-") or not _RESERVED_IN_WORD.isdisjoint(word):
        raise invalid_pattern()
    if len(word) > 1 and word.startswith("%") and word.endswith("%"):
        raise invalid_pattern()  # a CloudWatch regex term; matching it literally would be wrong
    return word
