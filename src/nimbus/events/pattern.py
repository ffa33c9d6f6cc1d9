"""EventBridge event patterns: compile once, match per event.

    pattern = compile_pattern('{"detail": {"state": [{"anything-but": "stopped"}]}}')
    pattern.matches(event)  # -> bool

`compile_pattern` raises `PatternError`, whose `reason` is the text AWS shows after
"Reason: "; each caller wraps it in its own service's error (Lambda's
InvalidParameterValueException, EventBridge's InvalidEventPatternException). A pattern
longer than AWS's 4096-character limit raises the subclass `PatternTooLong`, which AWS
reports as a request validation failure rather than an invalid pattern.

JSON syntax errors carry the Jackson parser's wording, since that is what AWS returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.events.errors import PatternError
from nimbus.events.pattern_compile import compile_document
from nimbus.events.pattern_match import (
    Branch,
    NoneOf,
    Wildcard,
    branch_matches,
    collect_leaves,
)

__all__ = [
    "MAX_PATTERN_LENGTH",
    "EventPattern",
    "PatternError",
    "PatternTooLong",
    "compile_pattern",
]

MAX_PATTERN_LENGTH = 4096
# Most glob states one value may keep alive at once on one field, all its wildcards counted;
# calibrated on the patterns AWS is recorded accepting and rejecting
MAX_WILDCARD_STATES = 11
_MAX_EXPLORED_STATE_SETS = 10_000
TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
    "sequences after a wildcard character"
)
_EXPECTING_VALUE = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


class PatternTooLong(PatternError):
    """The pattern exceeds `MAX_PATTERN_LENGTH` characters (a model constraint at AWS)."""

    def __init__(self) -> None:
        super().__init__(f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}")


@dataclass(frozen=True, slots=True)
class EventPattern:
    """A compiled pattern; `text` is the JSON it was compiled from."""

    text: str
    branches: tuple[Branch, ...]
    # every dot-joined path the pattern names, with all of its leading segments
    relevant_paths: frozenset[str]

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether `event` (a decoded JSON object) satisfies the pattern."""
        leaves = collect_leaves(event, self.relevant_paths)
        return any(branch_matches(branch, leaves) for branch in self.branches)


def compile_pattern(text: str) -> EventPattern:
    """Parse and validate a pattern's JSON text; raises `PatternError`."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternTooLong
    try:
        branches = compile_document(_parse_json(text))
    except RecursionError:
        # only reachable with hundreds of nested objects, far beyond any real pattern
        raise PatternError("Document nesting depth exceeds the maximum allowed") from None
    _check_wildcard_complexity(branches)
    paths = {test.path for branch in branches for test in branch}
    return EventPattern(text, tuple(branches), frozenset(_leading_paths(paths)))


def _leading_paths(paths: set[str]) -> Iterator[str]:
    for path in paths:
        segments = path.split(".")
        for end in range(1, len(segments) + 1):
            yield ".".join(segments[:end])


def _parse_json(text: str) -> object:
    """Decode like Jackson: the first value counts, trailing text is ignored, no NaN."""
    try:
        value, _ = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(
            text, _skip_whitespace(text, 0)
        )
    except json.JSONDecodeError as error:
        raise PatternError(_jackson_reason(error)) from None
    return value


def _reject_constant(token: str) -> object:
    raise PatternError(
        f"Non-standard token '{token}': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"
    )


def _skip_whitespace(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _jackson_reason(error: json.JSONDecodeError) -> str:
    """Jackson's wording for the syntax errors patterns actually contain."""
    text, position = error.doc, error.pos
    if position >= len(text):
        return (
            "Unexpected end-of-input" if text.strip() else "No content to map due to end-of-input"
        )
    token = re.match(r"[\w$]+", text[position:])
    if error.msg == "Expecting value" and token:
        return f"Unrecognized token '{token.group()}': was expecting {_EXPECTING_VALUE}"
    char = text[position]
    expectation = _JACKSON_EXPECTATIONS.get(error.msg, error.msg)
    return f"Unexpected character ('{char}' (code {ord(char)})): {expectation}"


_JACKSON_EXPECTATIONS = {
    "Expecting value": f"expected a valid value {_EXPECTING_VALUE}",
    "Expecting property name enclosed in double quotes": (
        "was expecting double-quote to start field name"
    ),
    "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
    "Expecting ',' delimiter": "was expecting comma to separate entries",
}


def _check_wildcard_complexity(branches: Sequence[Branch]) -> None:
    """Reject globs whose matching could keep too many states alive on one field.

    Event Ruler bounds how many wildcard states one value can have active at once; this
    measures the same thing on each field's combined glob automaton (quotes included, as
    Ruler matches the quoted value), exploring every reachable set of active states.
    """
    globs: dict[str, set[tuple[str | None, ...]]] = {}
    for branch in branches:
        for test in branch:
            for matcher in test.matchers:
                inner = matcher.tests if isinstance(matcher, NoneOf) else (matcher,)
                for glob in inner:
                    if isinstance(glob, Wildcard):
                        globs.setdefault(test.path, set()).add(('"', *glob.tokens, '"'))
    for patterns in globs.values():
        if _most_active_states(sorted(patterns, key=repr)) > MAX_WILDCARD_STATES:
            raise PatternError(TOO_COMPLEX)


State = tuple[int, int]  # (glob index, tokens consumed)


def _most_active_states(globs: Sequence[tuple[str | None, ...]]) -> int:
    """Largest reachable set of live glob states, stopping once it passes the limit."""
    named = sorted({token for glob in globs for token in glob if token is not None})
    symbols: list[str | None] = [*named, None]  # None: every character no glob names
    start = _closure(globs, {(index, 0) for index in range(len(globs))})
    seen = {start}
    pending = [start]
    most = len(start)
    while pending and most <= MAX_WILDCARD_STATES:
        if len(seen) > _MAX_EXPLORED_STATE_SETS:
            return MAX_WILDCARD_STATES + 1
        active = pending.pop()
        for symbol in symbols:
            following = _step(globs, active, symbol)
            if following and following not in seen:
                seen.add(following)
                pending.append(following)
                most = max(most, len(following))
    return most


def _step(
    globs: Sequence[tuple[str | None, ...]], active: frozenset[State], symbol: str | None
) -> frozenset[State]:
    moved: set[State] = set()
    for index, consumed in active:
        tokens = globs[index]
        if consumed < len(tokens):
            token = tokens[consumed]
            if token is None:
                moved.add((index, consumed))
            elif symbol is not None and token == symbol:
                moved.add((index, consumed + 1))
    return _closure(globs, moved)


def _closure(globs: Sequence[tuple[str | None, ...]], states: set[State]) -> frozenset[State]:
    """Add the states reached by letting each `*` match nothing."""
    result = set(states)
    for index, consumed in states:
        tokens = globs[index]
        position = consumed
        while position < len(tokens) and tokens[position] is None:
            position += 1
            result.add((index, position))
    return frozenset(result)
