"""Which rules of a bus an event matches, without trying every rule.

Each branch of a rule's pattern is filed under one of its exact string tests (the one
naming the fewest values, so the most selective), keyed by (path, value). An event looks
up only the values it holds at the indexed paths; the rules found there, and the few
whose branches have no exact string test, are then matched in full. With a thousand
rules keyed on `source` or `detail-type`, an event is tried against a handful.

The event is walked once, along every path any rule names, and that one set of leaves
serves both the lookup and every candidate's branches: walking it again per candidate
(`EventPattern.matches`) was more than half of the time per event with 1,000 rules
(bench/events_router.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nimbus.events.model import Rule
from nimbus.events.pattern_match import ExactValues, FieldTest, branch_matches, collect_leaves


class RuleIndex:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self._by_value: dict[tuple[str, str], list[int]] = {}
        self._unkeyed: list[int] = []
        self._rules = [rule for rule in rules if rule.enabled and rule.pattern is not None]
        for position, rule in enumerate(self._rules):
            assert rule.pattern is not None
            for branch in rule.pattern.branches:
                key = _key_test(branch)
                if key is None:
                    self._unkeyed.append(position)
                    continue
                exact = key.matchers[0]
                assert isinstance(exact, ExactValues)
                for value in exact.strings:
                    self._by_value.setdefault((key.path, value), []).append(position)
        self._paths = frozenset(path for path, _ in self._by_value)
        self._walk = frozenset(
            path
            for rule in self._rules
            for path in rule.pattern.relevant_paths  # type: ignore[union-attr]
        )
        self._unkeyed = sorted(set(self._unkeyed))
        self._branches = [rule.pattern.branches for rule in self._rules]  # type: ignore[union-attr]

    def __len__(self) -> int:
        return len(self._rules)

    def matching(self, event: Mapping[str, Any]) -> list[Rule]:
        """The enabled pattern rules `event` matches, in the order they were given."""
        found = set(self._unkeyed)
        leaves = collect_leaves(event, self._walk)
        by_value = self._by_value
        for path in self._paths:
            for leaf in leaves.get(path, ()):
                if isinstance(leaf.value, str):
                    found.update(by_value.get((path, leaf.value), ()))
        matched: list[Rule] = []
        for position in sorted(found):  # a loop, not any(<generator>): per candidate rule
            for branch in self._branches[position]:
                if branch_matches(branch, leaves):
                    matched.append(self._rules[position])
                    break
        return matched


def _key_test(branch: Sequence[FieldTest]) -> FieldTest | None:
    """The branch's most selective test made only of exact strings, if it has one."""
    best: FieldTest | None = None
    best_size = 0
    for test in branch:
        if test.absent_ok or len(test.matchers) != 1:
            continue
        exact = test.matchers[0]
        if not isinstance(exact, ExactValues) or exact.numbers or exact.booleans or exact.null:
            continue
        size = len(exact.strings)
        if size and (best is None or size < best_size):
            best, best_size = test, size
    return best
