"""Compiling one match expression (`{"operator": operand}`) into its matcher.

The operators are prefix, suffix, equals-ignore-case, wildcard, exists, anything-but (of
values or of other matches), numeric (single bounds and ranges) and cidr. Each operand
is checked with Event Ruler's reasons, in the order Ruler meets the problems, so the
same expression yields the same reason.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from nimbus.events.errors import PatternError
from nimbus.events.pattern_match import (
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    Exists,
    Matcher,
    NoneOf,
    Numeric,
    Prefix,
    Suffix,
    Wildcard,
    is_number,
)

_ONE_KEY = "Only one key allowed in match expression"
_TOO_MANY_ELEMENTS = "Too many elements in numeric expression"
_ANYTHING_BUT_OPERAND = "Value of anything-but must be an array or single string/number value."
_INT32 = range(-(2**31), 2**31)


def compile_expression(expression: dict[str, Any]) -> Matcher | None:
    """The matcher for one `{"operator": operand}` element; None stands for `exists: false`."""
    if not expression:
        raise PatternError("Match expression name not found")
    name, operand = next(iter(expression.items()))
    compiler = _OPERATORS.get(name)
    if compiler is None:
        raise PatternError(f"Unrecognized match type {name}")
    matcher = compiler(operand)
    if len(expression) > 1:
        # Ruler reports numeric's message for extra keys after anything-but too
        raise PatternError(_TOO_MANY_ELEMENTS if name in ("numeric", "anything-but") else _ONE_KEY)
    return matcher


def _prefix(operand: object) -> Matcher:
    if isinstance(operand, dict):
        return Prefix(_ignore_case_affix(operand, "prefix"), ignore_case=True)
    if not isinstance(operand, str):
        raise PatternError("prefix match pattern must be a string")
    return Prefix(operand)


def _suffix(operand: object) -> Matcher:
    if isinstance(operand, dict):
        return Suffix(_ignore_case_affix(operand, "suffix"), ignore_case=True)
    if not isinstance(operand, str):
        raise PatternError("suffix match pattern must be a string")
    return Suffix(operand)


def _ignore_case_affix(operand: dict[str, Any], kind: str) -> str:
    """The lower-cased text of `{"prefix"|"suffix": {"equals-ignore-case": text}}`."""
    if not operand:
        raise PatternError(f"{kind.capitalize()} expression name not found")
    name, text = next(iter(operand.items()))
    if name != "equals-ignore-case":
        raise PatternError(f"Unsupported {kind} pattern: {name}")
    if not isinstance(text, str):
        raise PatternError("equals-ignore-case match pattern must be a string")
    if len(operand) > 1:
        raise PatternError(_ONE_KEY)
    return text.lower()


def _equals_ignore_case(operand: object) -> Matcher:
    if not isinstance(operand, str):
        raise PatternError("equals-ignore-case match pattern must be a string")
    return EqualsIgnoreCase(operand.lower())


def _wildcard(operand: object) -> Matcher:
    if not isinstance(operand, str):
        raise PatternError("wildcard match pattern must be a string")
    return wildcard(operand)


def wildcard(text: str) -> Wildcard:
    """Parse a glob: `*` any run, `\\*` and `\\\\` literals; positions are Ruler's.

    Ruler parses the UTF-8 bytes of the value wrapped in quotes, so a reported position is
    the byte offset within `"text"`; a trailing backslash escapes that closing quote.
    """
    tokens: list[str | None] = []
    position = 1
    index = 0
    while index < len(text):
        char = text[index]
        if char == "*":
            if text.startswith("*", index + 1):
                raise PatternError(f"Consecutive wildcard characters at pos {position}")
            tokens.append(None)
        elif char == "\\":
            escaped = text[index + 1 : index + 2]
            if escaped not in ("*", "\\"):
                raise PatternError(f"Invalid escape character at pos {position}")
            tokens.append(escaped)
            index += 1
            position += 1
        else:
            tokens.append(char)
        position += len(char.encode("utf-8", "surrogatepass"))
        index += 1
    regex = "".join(".*" if token is None else re.escape(token) for token in tokens)
    return Wildcard(re.compile(regex, re.DOTALL), tuple(tokens))


def _exists(operand: object) -> Matcher | None:
    if operand is True:
        return Exists()
    if operand is False:
        return None
    raise PatternError("exists match pattern must be either true or false.")


def _anything_but(operand: object) -> Matcher:
    if isinstance(operand, dict):
        return _anything_but_of(operand)
    if isinstance(operand, list):
        return _anything_but_list(operand)
    if isinstance(operand, str):
        return AnythingBut(strings=frozenset([operand]))
    if is_number(operand):
        return AnythingBut(numbers=frozenset([operand]))  # type: ignore[list-item]
    raise PatternError(_ANYTHING_BUT_OPERAND)


def _anything_but_list(values: list[Any]) -> Matcher:
    for value in values:
        if not isinstance(value, str) and not is_number(value):
            raise PatternError("Inside anything but list, start|null|boolean is not supported.")
    strings = frozenset(v for v in values if isinstance(v, str))
    numbers = frozenset(v for v in values if is_number(v))
    if bool(strings) == bool(numbers):
        raise PatternError(
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported"
        )
    return AnythingBut(strings=strings, numbers=numbers)


_NOT_A_STRING = {
    "equals-ignore-case": (
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
    ),
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
    "wildcard": "wildcard match pattern must be a string",
}


def _anything_but_of(operand: dict[str, Any]) -> Matcher:
    """`anything-but` over prefix/suffix/equals-ignore-case/wildcard, one value or a list."""
    if not operand:
        raise PatternError("Anything-But expression name not found")
    kind, inner = next(iter(operand.items()))
    if kind not in _NOT_A_STRING:
        raise PatternError(f"Unsupported anything-but pattern: {kind}")
    if not isinstance(inner, list | str) and not is_number(inner):
        raise PatternError(_ANYTHING_BUT_OPERAND)
    tests: list[Matcher] = []
    for value in inner if isinstance(inner, list) else [inner]:
        if not isinstance(value, str):
            raise PatternError(_NOT_A_STRING[kind])
        if kind in ("prefix", "suffix") and not value:
            raise PatternError("Null prefix/suffix not allowed")
        tests.append(_NEGATED_TEST[kind](value))
    if len(operand) > 1:
        raise PatternError(_TOO_MANY_ELEMENTS)
    return NoneOf(tuple(tests))


_NEGATED_TEST: dict[str, Callable[[str], Matcher]] = {
    "equals-ignore-case": lambda value: EqualsIgnoreCase(value.lower()),
    "prefix": Prefix,
    "suffix": Suffix,
    "wildcard": wildcard,
}


def _numeric(operand: object) -> Matcher:
    if not isinstance(operand, list):
        raise PatternError("Value of numeric must be an array.")
    terms = [*operand, _END]
    operator = terms[0]
    if not isinstance(operator, str):
        raise PatternError(f"Invalid member in numeric match: {_token_text(operator)}")
    if operator not in ("=", "<", "<=", ">", ">="):
        raise PatternError(f"Unrecognized numeric range operator: {operator}")
    bound = _numeric_value("equals" if operator == "=" else operator, terms[1])
    if operator in (">", ">=") and terms[2] is not _END:
        return _numeric_range(bound, operator == ">", terms[2:])
    if terms[2] is not _END:
        raise PatternError(_TOO_MANY_ELEMENTS)
    if operator == "=":
        return Numeric(bound, False, bound, False)
    if operator in (">", ">="):
        return Numeric(low=bound, low_open=operator == ">")
    return Numeric(high=bound, high_open=operator == "<")


def _numeric_range(low: int | float, low_open: bool, terms: list[Any]) -> Matcher:
    operator = terms[0]
    if not isinstance(operator, str):
        raise PatternError(f"Bad value in numeric range: {_token_text(operator)}")
    if operator not in ("<", "<="):
        raise PatternError(f"Bad numeric range operator: {operator}")
    high = _numeric_value(operator, terms[1])
    if terms[2] is not _END:
        raise PatternError("Too many terms in numeric range expression")
    return Numeric(low, low_open, high, operator == "<")


def _numeric_value(operator: str, value: object) -> int | float:
    if not is_number(value):
        raise PatternError(f"Value of {operator} must be numeric")
    return value  # type: ignore[return-value]


class _EndOfArray:
    """Marks the end of a numeric array, like the `]` token Ruler's parser reaches."""


_END = _EndOfArray()


def _token_text(value: object) -> str:
    """What Jackson's `getText()` shows for the token that starts `value`."""
    if value is _END:
        return "]"
    if isinstance(value, dict | list):
        return "{" if isinstance(value, dict) else "["
    return value if isinstance(value, str) else json.dumps(value)


def _cidr(operand: object) -> Matcher:
    if not isinstance(operand, str):
        raise PatternError("prefix match pattern must be a string")  # sic: AWS's text
    parts = operand.split("/")
    while parts and not parts[-1]:
        parts.pop()  # Java's String.split drops trailing empty strings
    if len(parts) != 2:
        raise PatternError("Malformed CIDR, one '/' required")
    if not re.fullmatch(r"[+-]?[0-9]+", parts[1]) or int(parts[1]) not in _INT32:
        raise PatternError("Malformed CIDR, mask bits must be an integer")
    bits = int(parts[1])
    if bits < 0:
        raise PatternError("Malformed CIDR, mask bits must not be negative")
    try:
        address = ipaddress.ip_address(parts[0])
    except ValueError:
        raise PatternError(f"Nonstandard IP address: {parts[0]}") from None
    width = address.max_prefixlen
    if bits >= width:
        raise PatternError(f"IPv{address.version} mask bits must be < {width}")
    base = int(address)
    return Cidr(address.version, base, base | ((1 << (width - bits)) - 1))


_OPERATORS: dict[str, Callable[[Any], Matcher | None]] = {
    "anything-but": _anything_but,
    "cidr": _cidr,
    "equals-ignore-case": _equals_ignore_case,
    "exists": _exists,
    "numeric": _numeric,
    "prefix": _prefix,
    "suffix": _suffix,
    "wildcard": _wildcard,
}
