"""A reference interpreter of EventBridge patterns, written from aws-semantics.md §1.2-§1.4.

It answers the same question as `nimbus.events.pattern` (does this event match this
pattern?) the slow, obvious way, so that a property test can hold the compiled matcher
against it and `bench/events_router.py` can show what compilation and the rule index buy:

- the pattern stays parsed JSON; nothing is compiled, indexed or cached;
- `$or` is expanded into its branches (disjunctive normal form), each a map of
  dot-joined path -> the leaf array written in the pattern;
- per branch and per event, the event tree is walked once per field to see whether any
  leaf exists there (for `exists: false`), then again, recursively, looking for one
  choice of element in every event array the fields pass through such that every field
  holds: fields that descend into the same array must use the same element (§1.4,
  "array consistency"), fields that reach a scalar array may use any element;
- each matcher is interpreted directly on the leaf value (own glob matcher, own numeric
  comparison, the standard library's `ipaddress` for CIDR blocks).

It assumes a VALID pattern (the compiler's job is validation) and never raises for one.

Where it lives: beside `events_harness.py`, because it is a test oracle first. The tests of
this folder import it the way they import the harness (pytest's default `prepend` import
mode puts a test file's folder on `sys.path`); the benchmark, a plain script, inserts this
folder into `sys.path` explicitly. `src/` must not depend on it, and it must not import
`nimbus`, so that it stays independent of the implementation it checks.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["reference_matches"]

OR_KEY = "$or"
# (path still to walk below this node, the field's matchers) for one field of a branch
Pending = tuple[str, list[Any]]
Branch = dict[str, list[Any]]

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def reference_matches(pattern: str | Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether `event` (decoded JSON) matches `pattern` (JSON text or decoded)."""
    document = json.loads(pattern) if isinstance(pattern, str) else pattern
    return any(_branch_holds(branch, event) for branch in branches(document))


def branches(document: Mapping[str, Any], prefix: str = "") -> list[Branch]:
    """The pattern's `$or` expansion: every branch is a conjunction of fields."""
    result: list[Branch] = [{}]
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else key
        if key == OR_KEY and _is_or(value):
            alternatives = [b for item in value for b in branches(item, prefix)]
        elif isinstance(value, Mapping):
            alternatives = branches(value, path)
        else:
            alternatives = [{path: value}]
        result = [{**done, **more} for done in result for more in alternatives]
    return result


def _is_or(value: object) -> bool:
    # §1.3: only an array of at least two objects is an OR; anything else is a field name
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(item, Mapping) for item in value)
    )


def _branch_holds(branch: Branch, event: Mapping[str, Any]) -> bool:
    pending: list[Pending] = []
    for path, elements in branch.items():
        if not any(True for _ in _leaves(event, path)):
            # nothing at the path: only `exists: false` can hold, and it binds no array
            if any(_is_exists_false(element) for element in elements):
                continue
            return False
        pending.append((path, [e for e in elements if not _is_exists_false(e)]))
    return _satisfiable(pending, event)


def _is_exists_false(element: object) -> bool:
    return isinstance(element, Mapping) and len(element) == 1 and element.get("exists") is False


def _routes(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """(key, rest of the path) for each key of `node` the path may go through.

    Keys are matched against dot-joined segments, so `a.b` reaches both {"a": {"b": ..}}
    and {"a.b": ..} (§1.2, "dot-joined keys").
    """
    for key in node:
        if path == key:
            yield key, ""
        elif path.startswith(key + "."):
            yield key, path[len(key) + 1 :]


def _leaves(node: object, path: str) -> Iterator[object]:
    """Every scalar at `path` below `node`, through any array element."""
    if isinstance(node, list):
        for item in node:
            yield from _leaves(item, path)
    elif isinstance(node, Mapping):
        for key, rest in _routes(node, path):
            yield from _leaves(node[key], rest)
    elif path == "":
        yield node


def _satisfiable(pending: list[Pending], node: object) -> bool:
    """Whether every pending field holds below `node` with one element per array."""
    if not pending:
        return True
    if isinstance(node, list):
        # all the fields descending here must agree on one element
        return any(_satisfiable(pending, item) for item in node)
    if isinstance(node, Mapping):
        options = [list(_routes(node, path)) for path, _ in pending]
        for choice in itertools.product(*options):
            groups: dict[str, list[Pending]] = {}
            for (key, rest), (_, matchers) in zip(choice, pending, strict=True):
                groups.setdefault(key, []).append((rest, matchers))
            if all(_satisfiable(group, node[key]) for key, group in groups.items()):
                return True
        return False
    return all(
        path == "" and any(element_matches(m, node) for m in matchers) for path, matchers in pending
    )


def element_matches(element: object, value: object) -> bool:
    """One element of a pattern's leaf array against one scalar event value."""
    if isinstance(element, Mapping):
        ((name, operand),) = element.items()
        return _OPERATORS[name](operand, value)
    return _same_literal(element, value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_literal(literal: object, value: object) -> bool:
    if literal is None:
        return value is None
    if isinstance(literal, bool):
        return isinstance(value, bool) and value == literal
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    return _is_number(value) and value == literal  # by value: 300 == 300.0


def _prefix(operand: Any, value: object) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, Mapping):
        return value.lower().startswith(operand["equals-ignore-case"].lower())
    return value.startswith(operand)


def _suffix(operand: Any, value: object) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(operand, Mapping):
        return value.lower().endswith(operand["equals-ignore-case"].lower())
    return value.endswith(operand)


def _equals_ignore_case(operand: Any, value: object) -> bool:
    return isinstance(value, str) and value.lower() == operand.lower()


def _wildcard(operand: Any, value: object) -> bool:
    return isinstance(value, str) and glob_matches(operand, value)


def glob_matches(glob: str, text: str) -> bool:
    """`*` is any run of characters; `\\*` and `\\\\` are a literal star and backslash.

    Dynamic programming over (glob token, text position): `reachable[j]` is whether the
    tokens read so far can consume exactly `text[:j]`.
    """
    tokens: list[str | None] = []  # None: a star
    escaped = False
    for char in glob:
        if escaped:
            tokens.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            tokens.append(None if char == "*" else char)
    reachable = [True] + [False] * len(text)
    for token in tokens:
        if token is None:
            for j in range(1, len(text) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            reachable = [False] + [reachable[j] and text[j] == token for j in range(len(text))]
    return reachable[len(text)]


def _numeric(operand: Any, value: object) -> bool:
    if not _is_number(value):
        return False
    # [op, bound] or [op, bound, op, bound]: every comparison must hold
    pairs = zip(operand[::2], operand[1::2], strict=True)
    return all(_COMPARISONS[sign](value, bound) for sign, bound in pairs)


def _cidr(operand: Any, value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    network = ipaddress.ip_network(operand, strict=False)
    return address.version == network.version and address in network


def _exists(operand: Any, value: object) -> bool:
    # reached only for a present leaf; `exists: false` is decided in `_branch_holds`
    return operand is True


def _anything_but(operand: Any, value: object) -> bool:
    if isinstance(operand, Mapping):
        ((kind, inner),) = operand.items()
        if not isinstance(value, str):
            return True  # prefix/suffix/ignore-case/wildcard exclude strings only
        excluded = inner if isinstance(inner, list) else [inner]
        return not any(_OPERATORS[kind](item, value) for item in excluded)
    excluded = operand if isinstance(operand, list) else [operand]
    return not any(_same_literal(item, value) for item in excluded)


_OPERATORS: dict[str, Callable[[Any, object], bool]] = {
    "anything-but": _anything_but,
    "cidr": _cidr,
    "equals-ignore-case": _equals_ignore_case,
    "exists": _exists,
    "numeric": _numeric,
    "prefix": _prefix,
    "suffix": _suffix,
    "wildcard": _wildcard,
}
