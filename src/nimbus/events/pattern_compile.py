"""Validation and compilation of a parsed event pattern into matcher branches.

Reasons are Event Ruler's texts, which AWS returns after "Reason: "; the checks run in the
order Ruler's streaming compiler meets them, so the same pattern yields the same reason.
`$or` is expanded into disjunctive branches; when a `$or` value cannot be an OR (not an
array of at least two objects free of operator names) it is an ordinary field name, as
Ruler's legacy compiler treats it.
"""

from __future__ import annotations

from typing import Any

from nimbus.events.errors import PatternError
from nimbus.events.pattern_match import Branch, ExactValues, FieldTest, Matcher
from nimbus.events.pattern_operators import compile_expression

OR_KEY = "$or"
MAX_BRANCHES = 1000
TOO_MANY_BRANCHES = f"Rule is too complex - the $or expansion exceeds {MAX_BRANCHES} combinations"
_RESERVED_IN_OR = frozenset(
    {"anything-but", "cidr", "equals-ignore-case", "exists", "numeric", "prefix", "suffix",
     "wildcard"}
)  # fmt: skip

Fields = dict[str, FieldTest]


def compile_document(document: object) -> list[Branch]:
    """The branches of a parsed pattern; the pattern matches when any branch does."""
    if not isinstance(document, dict):
        raise PatternError("Filter is not an object")
    return [tuple(fields.values()) for fields in _object(document, "", inside_or=False)]


def _object(obj: dict[str, Any], prefix: str, *, inside_or: bool) -> list[Fields]:
    if not obj:
        raise PatternError("Empty objects are not allowed")
    branches: list[Fields] = [{}]
    for key, value in obj.items():
        if key == OR_KEY:
            alternatives = _or_or_field(value, prefix, inside_or=inside_or)
        else:
            if inside_or and key in _RESERVED_IN_OR:
                raise PatternError(
                    f"{key} is Ruler reserved fieldName which cannot be used inside $or."
                )
            alternatives = _member(key, value, prefix, inside_or=inside_or)
        branches = _product(branches, alternatives)
    return branches


def _member(key: str, value: object, prefix: str, *, inside_or: bool) -> list[Fields]:
    path = f"{prefix}.{key}" if prefix else key
    if isinstance(value, dict):
        return _object(value, path, inside_or=inside_or)
    if isinstance(value, list):
        return [{path: _field(path, value)}]
    raise PatternError(f'"{key}" must be an object or an array')


def _or_or_field(value: object, prefix: str, *, inside_or: bool) -> list[Fields]:
    """`$or` as an OR relationship, else as a plain field; the OR reason wins if both fail."""
    try:
        return _or(value, prefix)
    except PatternError as or_error:
        try:
            return _member(OR_KEY, value, prefix, inside_or=inside_or)
        except PatternError:
            raise or_error from None


def _or(value: object, prefix: str) -> list[Fields]:
    if not isinstance(value, list):
        raise PatternError("It must be an Array followed with $or.")
    branches: list[Fields] = []
    for item in value:
        if not isinstance(item, dict):
            raise PatternError("Only JSON object is allowed in array of $or relationship.")
        branches.extend(_object(item, prefix, inside_or=True))
        if len(branches) > MAX_BRANCHES:
            raise PatternError(TOO_MANY_BRANCHES)
    if len(value) < 2:
        raise PatternError("There must have at least 2 Objects in $or relationship.")
    return branches


def _product(left: list[Fields], right: list[Fields]) -> list[Fields]:
    """Every combination; a later definition of a path replaces an earlier one, as in Ruler."""
    if len(left) * len(right) > MAX_BRANCHES:
        raise PatternError(TOO_MANY_BRANCHES)
    return [{**a, **b} for a in left for b in right]


def _field(path: str, elements: list[Any]) -> FieldTest:
    strings: set[str] = set()
    numbers: set[int | float] = set()
    booleans: set[bool] = set()
    null = absent_ok = False
    matchers: list[Matcher] = []
    for element in elements:
        if isinstance(element, dict):
            matcher = compile_expression(element)
            if matcher is None:
                absent_ok = True
            else:
                matchers.append(matcher)
        elif isinstance(element, list):
            raise PatternError("Match value must be String, number, true, false, or null")
        elif element is None:
            null = True
        elif isinstance(element, bool):
            booleans.add(element)
        elif isinstance(element, str):
            strings.add(element)
        else:
            numbers.add(element)
    if not elements:
        raise PatternError("Empty arrays are not allowed")
    if strings or numbers or booleans or null:
        exact = ExactValues(frozenset(strings), frozenset(numbers), frozenset(booleans), null)
        matchers.insert(0, exact)
    return FieldTest(path, tuple(matchers), absent_ok)
