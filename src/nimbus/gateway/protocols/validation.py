"""Validate decoded request parameters against the service model's constraints.

AWS checks every input member against its shape before the operation runs and
reports all failures at once, as a 400 ``ValidationException``::

    2 validation errors detected: Value '129000' at 'memorySize' failed to satisfy
    constraint: Member must have value less than or equal to 32768; Value null at
    'role' failed to satisfy constraint: Member must not be null

Member paths are lowerCamelCase (``environment.variables``); list items are
``<list>.<n>.member`` counted from 1. Sensitive values are left out of the
message (``Value at 'x' ...``), as AWS does. Patterns in botocore models are
Java regular expressions: the few Python cannot read are translated when the
translation only widens what matches, and skipped otherwise, so a valid request
is never rejected because of a regex dialect.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.errors import ValidationError
from nimbus.gateway.protocols.wire_values import lower_camel

Shape = Any  # botocore.model.Shape; botocore ships no type hints

_MAX_PATTERN_INPUT = 65536  # longer values are not run through a regex (ReDoS guard)
_SIZED = frozenset({"string", "blob", "list", "map"})
_NUMERIC = frozenset({"integer", "long", "float", "double"})
_CONTAINERS = frozenset({"structure", "list", "map"})
# Java Unicode classes, widened to the nearest Python class that contains them.
_JAVA_CLASSES = {"L": r"\w", "N": r"\w", "Nd": r"\d", "Z": r"\s", "Alnum": r"\w", "Space": r"\s"}


@dataclass(frozen=True)
class Violation:
    """One failed constraint; `shown` is the quoted value or None to hide it."""

    path: str
    shown: str | None
    constraint: str

    def __str__(self) -> str:
        value = "Value" if self.shown is None else f"Value {self.shown}"
        return f"{value} at '{self.path}' failed to satisfy constraint: {self.constraint}"


Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Rules:
    """The constraints of one shape, read once from the model."""

    type_name: str
    checks: tuple[Check, ...]  # each returns the broken constraint's text, or None
    sensitive: bool
    required: tuple[str, ...]
    members: Mapping[str, tuple[Shape, str]]  # structure member -> (shape, message name)


def compile_java_pattern(text: str) -> re.Pattern[str] | None:
    """A Python regex accepting at least what Java's `text` accepts, or None."""
    unknown: list[str] = []

    def widen(match: re.Match[str]) -> str:
        replacement = _JAVA_CLASSES.get(match.group(1))
        if replacement is None:
            unknown.append(match.group(1))
            return ""
        return replacement

    translated = re.sub(r"\\p\{(\w+)\}", widen, text)
    if unknown or r"\P{" in translated:
        return None
    with warnings.catch_warnings():
        # Java's set syntax ("[a&&[b]]") makes Python warn of a future change.
        warnings.simplefilter("error", FutureWarning)
        try:
            return re.compile(translated)
        except (re.error, FutureWarning):
            return None


class ShapeValidator:
    """Checks values against shapes; caches each shape's rules on first use.

    `unchecked_enums` names shapes whose enum the service checks itself because
    AWS reports it differently (Lambda's ``Runtime`` gives an
    InvalidParameterValueException rather than a ValidationException).
    """

    def __init__(self, unchecked_enums: Collection[str] = ()) -> None:
        self._unchecked_enums = frozenset(unchecked_enums)
        self._rules: dict[str, Rules] = {}

    def validate(self, shape: Shape, params: Mapping[str, Any]) -> None:
        """Raise ValidationError listing every violation in `params`."""
        found = self.violations(shape, params)
        if found:
            count = len(found)
            noun = "error" if count == 1 else "errors"
            details = "; ".join(str(v) for v in found)
            raise ValidationError(f"{count} validation {noun} detected: {details}")

    def violations(self, shape: Shape, params: Mapping[str, Any]) -> list[Violation]:
        found: list[Violation] = []
        self._check_structure(shape, params, "", False, found)
        return found

    def rules(self, shape: Shape) -> Rules:
        cached = self._rules.get(shape.name)
        if cached is None:
            cached = self._rules[shape.name] = self._read_rules(shape)
        return cached

    def _read_rules(self, shape: Shape) -> Rules:
        meta = shape.metadata
        enum = None if shape.name in self._unchecked_enums else meta.get("enum")
        return Rules(
            type_name=shape.type_name,
            checks=_checks(shape.type_name, meta, enum),
            sensitive=bool(meta.get("sensitive")),
            required=tuple(meta.get("required", ())),
            members=_members(shape),
        )

    def _check(
        self, shape: Shape, value: Any, path: str, hidden: bool, out: list[Violation]
    ) -> None:
        rules = self.rules(shape)
        hidden = hidden or rules.sensitive
        kind = rules.type_name
        if kind == "structure":
            if isinstance(value, Mapping):
                self._check_structure(shape, value, path, hidden, out)
            return
        if rules.checks:
            failed = self.constraints(rules, value)
            if failed:
                shown = None if hidden else show(value)
                out.extend(Violation(path, shown, c) for c in failed)
        if kind == "list" and isinstance(value, list):
            for index, item in enumerate(value, 1):
                if item is not None:
                    self._check(shape.member, item, f"{path}.{index}.member", hidden, out)
        elif kind == "map" and isinstance(value, Mapping):
            self._check_map(shape, value, path, hidden, out)

    def _check_structure(
        self, shape: Shape, value: Mapping[str, Any], path: str, hidden: bool, out: list[Violation]
    ) -> None:
        rules = self.rules(shape)
        prefix = f"{path}." if path else ""
        for name in rules.required:
            if value.get(name) is None:
                out.append(Violation(prefix + lower_camel(name), "null", "Member must not be null"))
        for name, item in value.items():
            found = rules.members.get(name)
            if found is not None and item is not None:
                self._check(found[0], item, prefix + found[1], hidden, out)

    def _check_map(
        self, shape: Shape, value: Mapping[str, Any], path: str, hidden: bool, out: list[Violation]
    ) -> None:
        shown = None if hidden else show(value)
        for label, member, items in (
            ("Map keys", shape.key, value.keys()),
            ("Map value", shape.value, value.values()),
        ):
            failed = self._first_failure(self.rules(member), items)
            if failed:
                constraint = f"{label} must satisfy constraint: [{', '.join(failed)}]"
                out.append(Violation(path, shown, constraint))
        if self.rules(shape.value).type_name in _CONTAINERS:
            for key, item in value.items():
                self._check(shape.value, item, f"{path}.{key}", hidden, out)

    def _first_failure(self, rules: Rules, items: Collection[Any]) -> list[str]:
        for item in items:
            failed = self.constraints(rules, item)
            if failed:
                return failed
        return []

    def constraints(self, rules: Rules, value: Any) -> list[str]:
        """The constraints `value` breaks, in AWS's order."""
        return [text for check in rules.checks if (text := check(value)) is not None]


def _checks(
    type_name: str, meta: Mapping[str, Any], enum: Sequence[str] | None
) -> tuple[Check, ...]:
    """The shape's constraints as small functions, so a request runs only its own."""
    checks: list[Check] = []
    low, high = meta.get("min"), meta.get("max")
    what = "length" if type_name in _SIZED else "value" if type_name in _NUMERIC else None
    measure: Callable[[Any], float | None] = _size if what == "length" else _number_of
    if what and high is not None:
        text = f"Member must have {what} less than or equal to {_number(high)}"
        checks.append(lambda v: text if (m := measure(v)) is not None and m > high else None)
    if what and low is not None:
        text_low = f"Member must have {what} greater than or equal to {_number(low)}"
        checks.append(lambda v: text_low if (m := measure(v)) is not None and m < low else None)
    pattern = compile_java_pattern(meta["pattern"]) if meta.get("pattern") else None
    if pattern is not None:
        text_re = f"Member must satisfy regular expression pattern: {meta['pattern']}"
        checks.append(lambda v: text_re if _breaks_pattern(pattern, v) else None)
    if enum:
        allowed = frozenset(enum)
        text_enum = f"Member must satisfy enum value set: [{', '.join(enum)}]"
        checks.append(lambda v: text_enum if isinstance(v, str) and v not in allowed else None)
    return tuple(checks)


def _members(shape: Shape) -> dict[str, tuple[Shape, str]]:
    if shape.type_name != "structure":
        return {}
    return {name: (member, lower_camel(name)) for name, member in shape.members.items()}


def _breaks_pattern(pattern: re.Pattern[str], value: Any) -> bool:
    if not isinstance(value, str) or len(value) > _MAX_PATTERN_INPUT:
        return False
    return pattern.fullmatch(value) is None


def _number_of(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _size(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def show(value: Any) -> str | None:
    """The value as AWS quotes it (Java's toString), or None for opaque values."""
    text = _java_text(value)
    return None if text is None else f"'{text}'"


def _java_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(str(_java_text(v)) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    return None
