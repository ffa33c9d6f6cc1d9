"""Compiled matchers and the event side of pattern matching.

A compiled pattern is a list of branches (the `$or` expansion); a branch is a set of
`FieldTest`s that must all hold. The event is walked once per match, only along the paths
the pattern names, into leaves keyed by dot-joined path; each leaf remembers which element
of which event array it came from, so that two fields of one branch cannot be satisfied by
different elements of the same array (Event Ruler's array consistency).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

# (array id, element index) pairs naming the array elements a leaf sits in
ArrayPath = tuple[tuple[int, int], ...]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Matcher(Protocol):
    """One element of a pattern's leaf array, applied to one event leaf value."""

    def matches(self, value: object) -> bool: ...


def is_number(value: object) -> bool:
    """JSON numbers only: Python's bool is an int, but `true` never equals `1`."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class ExactValues:
    """All literal elements of one leaf array, looked up by type in one step."""

    strings: frozenset[str] = frozenset()
    numbers: frozenset[int | float] = frozenset()
    booleans: frozenset[bool] = frozenset()
    null: bool = False

    def matches(self, value: object) -> bool:
        if value is None:
            return self.null
        if isinstance(value, bool):
            return value in self.booleans
        if isinstance(value, str):
            return value in self.strings
        # numbers compare by value: 300 equals 300.0
        return is_number(value) and value in self.numbers


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str
    ignore_case: bool = False

    def matches(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value).startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix:
    text: str
    ignore_case: bool = False

    def matches(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value).endswith(self.text)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    text: str  # already lower-cased

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and value.lower() == self.text


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A glob; `tokens` (None for `*`) feed the compiler's complexity check."""

    regex: re.Pattern[str]
    tokens: tuple[str | None, ...]

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """Plain `anything-but`: the field exists and is none of the values (null qualifies)."""

    strings: frozenset[str] = frozenset()
    numbers: frozenset[int | float] = frozenset()

    def matches(self, value: object) -> bool:
        if isinstance(value, str):
            return value not in self.strings
        if is_number(value):
            return value not in self.numbers
        return True


@dataclass(frozen=True, slots=True)
class NoneOf:
    """`anything-but` with prefix/suffix/equals-ignore-case/wildcard: non-strings match."""

    tests: tuple[Matcher, ...]

    def matches(self, value: object) -> bool:
        return not isinstance(value, str) or not any(t.matches(value) for t in self.tests)


@dataclass(frozen=True, slots=True)
class Numeric:
    """A range over JSON numbers; a missing bound is unbounded."""

    low: int | float | None = None
    low_open: bool = False
    high: int | float | None = None
    high_open: bool = False

    def matches(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


@dataclass(frozen=True, slots=True)
class Cidr:
    """Addresses between the given address and its block's top (Event Ruler does not mask)."""

    version: int
    low: int
    high: int

    def matches(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.version and self.low <= int(address) <= self.high


@dataclass(frozen=True, slots=True)
class Exists:
    """`exists: true`: any leaf qualifies, whatever its value."""

    def matches(self, value: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class FieldTest:
    """One leaf array of the pattern; `absent_ok` is `exists: false` among its elements."""

    path: str
    matchers: tuple[Matcher, ...]
    absent_ok: bool = False


Branch = tuple[FieldTest, ...]


class Leaf(NamedTuple):
    # a tuple, not a frozen dataclass: one is built per scalar per event walked, and a
    # frozen dataclass's __init__ (object.__setattr__ per field) costs several times more
    value: object
    arrays: ArrayPath


def collect_leaves(event: Mapping[str, Any], relevant: frozenset[str]) -> dict[str, list[Leaf]]:
    """Scalar values of `event` by dot-joined path, walking only the `relevant` paths.

    Iterative so that deeply nested event arrays cannot exhaust the interpreter stack.
    Empty arrays contribute nothing, so they count as absent.
    """
    leaves: dict[str, list[Leaf]] = {}
    array_ids = 0
    stack: list[tuple[str, object, ArrayPath]] = [
        (key, value, ()) for key, value in event.items() if key in relevant
    ]
    while stack:
        path, value, arrays = stack.pop()
        # dict, not Mapping: events are decoded JSON, and the ABC check is slow per scalar
        if isinstance(value, dict):
            for key, child in value.items():
                child_path = f"{path}.{key}"
                if child_path in relevant:
                    stack.append((child_path, child, arrays))
        elif isinstance(value, list):
            array_ids += 1
            for index, item in enumerate(value):
                stack.append((path, item, (*arrays, (array_ids, index))))
        else:
            leaves.setdefault(path, []).append(Leaf(value, arrays))
    return leaves


def branch_matches(branch: Branch, leaves: Mapping[str, list[Leaf]]) -> bool:
    """Every field holds, each through a leaf drawn from the same array elements."""
    choices: list[list[Leaf]] = []
    for test in branch:
        present = leaves.get(test.path)
        if not present:
            if test.absent_ok:
                continue
            return False
        if len(present) == 1:  # the usual case, without the list and generators below
            leaf = present[0]
            if not _any_matches(test.matchers, leaf.value):
                return False
            if leaf.arrays:
                choices.append(present)
            continue
        hits = [leaf for leaf in present if _any_matches(test.matchers, leaf.value)]
        if not hits:
            return False
        choices.append(hits)
    return _consistent(choices)


def _any_matches(matchers: Sequence[Matcher], value: object) -> bool:
    # a loop, not any(<generator>): this runs per field per candidate rule per event, and
    # building the generator costs more than the one or two matchers it usually tries
    for matcher in matchers:  # noqa: SIM110
        if matcher.matches(value):
            return True
    return False


def _consistent(choices: Sequence[list[Leaf]]) -> bool:
    """Whether one leaf per field can be chosen with no array index disagreement.

    Fields whose hits sit outside arrays constrain nothing and are skipped; the rest is an
    iterative backtracking search, fewest candidates first.
    """
    levels = sorted((c for c in choices if any(leaf.arrays for leaf in c)), key=len)
    if not levels:
        return True
    cursors = [0] * len(levels)
    bindings: list[dict[int, int]] = [{}]
    depth = 0
    while depth >= 0:
        if depth == len(levels):
            return True
        options = levels[depth]
        while cursors[depth] < len(options):
            leaf = options[cursors[depth]]
            cursors[depth] += 1
            merged = _bind(bindings[depth], leaf.arrays)
            if merged is not None:
                del bindings[depth + 1 :]
                bindings.append(merged)
                depth += 1
                if depth < len(levels):
                    cursors[depth] = 0
                break
        else:
            depth -= 1
    return False


def _bind(bound: dict[int, int], arrays: ArrayPath) -> dict[int, int] | None:
    """`bound` extended with `arrays`, or None when an array is bound to another element."""
    merged = dict(bound)
    for array_id, index in arrays:
        if merged.setdefault(array_id, index) != index:
            return None
    return merged
