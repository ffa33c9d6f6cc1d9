"""IAM condition operators compiled into matchers over a request context.

A `ConditionClause` is one operator/key pair with its values. The values of a clause
are OR'ed; clauses are AND'ed by the statement. Keys are case-insensitive, so the
context is looked up by lower-cased key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from nimbus.errors import MalformedPolicyDocument

ContextValue = str | Sequence[str]
Context = Mapping[str, ContextValue]
Compare = Callable[[str, str], bool]


def glob_regex(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """`*` any run, `?` one character, everything else literal (IAM's only wildcards)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(value: str, pattern: str) -> bool:
    return glob_regex(pattern, ignore_case=False).fullmatch(value) is not None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(test: Callable[[float, float], bool]) -> Compare:
    def compare(value: str, wanted: str) -> bool:
        a, b = _number(value), _number(wanted)
        return a is not None and b is not None and test(a, b)

    return compare


def parse_date(text: str) -> datetime | None:
    """ISO 8601 or epoch seconds; a date without zone is taken as UTC (never local time)."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _date(test: Callable[[datetime, datetime], bool]) -> Compare:
    def compare(value: str, wanted: str) -> bool:
        a, b = parse_date(value), parse_date(wanted)
        return a is not None and b is not None and test(a, b)

    return compare


def _ip(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _arn_like(value: str, pattern: str) -> bool:
    # Each of the six colon-separated parts is matched on its own, so `*` never
    # crosses a colon before the resource part (which may itself hold colons).
    got, want = value.split(":", 5), pattern.split(":", 5)
    if len(got) != 6 or len(want) != 6:
        return False
    return all(_like(g, w) for g, w in zip(got, want, strict=True))


# Positive operators; each negated one is the negation of its positive twin.
_POSITIVE: dict[str, Compare] = {
    "StringEquals": lambda v, w: v == w,
    "StringEqualsIgnoreCase": lambda v, w: v.casefold() == w.casefold(),
    "StringLike": _like,
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "DateEquals": _date(lambda a, b: a == b),
    "DateLessThan": _date(lambda a, b: a < b),
    "DateLessThanEquals": _date(lambda a, b: a <= b),
    "DateGreaterThan": _date(lambda a, b: a > b),
    "DateGreaterThanEquals": _date(lambda a, b: a >= b),
    "Bool": lambda v, w: v.lower() == w.lower(),
    "BinaryEquals": lambda v, w: v == w,
    "IpAddress": _ip,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
}
_NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")


@dataclass(frozen=True)
class ConditionClause:
    """One `operator: {key: values}` pair, compiled; `matches` answers for a context."""

    operator: str
    key: str
    values: tuple[str, ...]
    qualifier: str
    base: str
    negated: bool
    if_exists: bool

    def matches(self, context: Context) -> bool:
        present = context.get(self.key.lower())
        if self.base == "Null":
            want_null = self.values[0].lower() == "true"
            return (present is None) == want_null
        if present is None:
            return self._absent()
        items = [present] if isinstance(present, str) else list(present)
        return self._match_items(items)

    def _absent(self) -> bool:
        # §5.1: IfExists and negated operators hold on an absent key, the rest fail;
        # ForAllValues over no values is vacuously true, ForAnyValue has nothing to match.
        if self.if_exists or self.qualifier == "ForAllValues:":
            return True
        if self.qualifier == "ForAnyValue:":
            return False
        return self.negated

    def _match_items(self, items: list[str]) -> bool:
        compare = _POSITIVE[self.base]

        def one(item: str) -> bool:
            hit = any(compare(item, wanted) for wanted in self.values)
            return not hit if self.negated else hit

        if self.qualifier == "ForAllValues:":
            return all(one(item) for item in items)
        if self.qualifier == "ForAnyValue:":
            return any(one(item) for item in items)
        # Unqualified on a multi-valued key: treat like ForAnyValue.
        return any(one(item) for item in items)


def compile_clause(operator: str, key: str, values: tuple[str, ...]) -> ConditionClause:
    qualifier = next((q for q in _QUALIFIERS if operator.startswith(q)), "")
    name = operator[len(qualifier) :]
    if_exists = name.endswith("IfExists") and name != "IfExists"
    base = name[: -len("IfExists")] if if_exists else name
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    if (positive != "Null" and positive not in _POSITIVE) or (if_exists and base == "Null"):
        # Our text; IAM's for this case was not found in the sources.
        raise MalformedPolicyDocument(f"Invalid Condition type : {operator}")
    return ConditionClause(operator, key, values, qualifier, positive, negated, if_exists)
