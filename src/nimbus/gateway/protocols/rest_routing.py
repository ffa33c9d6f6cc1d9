"""Route REST requests to operations by the service model's URI templates.

A template such as ``/2015-03-31/functions/{FunctionName}/invocations?Qualifier``
is split into literal segments, labels (``{FunctionName}``: one path segment) and
at most one greedy label (``{Key+}``: the rest of the path, slashes included),
plus query literals after ``?`` that the request must carry (``?find=LayerVersion``).

When several templates match, the most specific wins: compared segment by
segment, a literal beats a label and a label beats a greedy label; then the
template with more query literals wins. Candidates are pre-sorted per
(method, segment count) so a request scans only the few templates that could
match it, in the order that makes the first match the right one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qsl, unquote

from nimbus.errors import UnknownOperation

OperationModel = Any  # botocore.model.OperationModel; botocore ships no type hints


class SegmentKind(IntEnum):
    """Ordered by specificity: lower sorts first and so wins."""

    LITERAL = 0
    LABEL = 1
    GREEDY = 2


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str  # the literal itself, or the label name without braces and '+'


@dataclass(frozen=True)
class Route:
    """One operation's template, ready to compare against split request paths."""

    operation: OperationModel
    method: str
    segments: tuple[Segment, ...]
    query_literals: tuple[tuple[str, str | None], ...]
    # Derived from `segments` once, so matching is index lookups and comparisons.
    literals: tuple[tuple[int, str], ...] = ()
    labels: tuple[tuple[int, str], ...] = ()
    greedy_at: int | None = None

    @property
    def specificity(self) -> tuple[tuple[int, ...], int]:
        return tuple(s.kind for s in self.segments), -len(self.query_literals)

    def match(self, parts: Sequence[str], query: Mapping[str, str]) -> dict[str, str] | None:
        """Label values if the decoded path `parts` fit this route, else None."""
        for key, value in self.query_literals:
            if key not in query or (value is not None and query[key] != value):
                return None
        if self.greedy_at is None:
            return self._match_fixed(parts, 0)
        return self._match_greedy(parts)

    def _match_fixed(self, parts: Sequence[str], shift: int) -> dict[str, str] | None:
        # `shift` moves indexes after the greedy label by the extra segments it took.
        for index, literal in self.literals:
            if parts[index + shift if index > (self.greedy_at or 0) else index] != literal:
                return None
        labels: dict[str, str] = {}
        for index, name in self.labels:
            value = parts[index + shift if index > (self.greedy_at or 0) else index]
            if not value:
                return None
            labels[name] = value
        return labels

    def _match_greedy(self, parts: Sequence[str]) -> dict[str, str] | None:
        at = self.greedy_at or 0
        shift = len(parts) - len(self.segments)
        if shift < 0:
            return None
        labels = self._match_fixed(parts, shift)
        rest = "/".join(parts[at : at + shift + 1])
        if labels is None or not rest:
            return None
        labels[self.segments[at].text] = rest
        return labels


def parse_template(operation: OperationModel) -> Route:
    """Build the Route for one operation from its ``http`` trait."""
    template: str = operation.http["requestUri"]
    path, _, query_text = template.partition("?")
    segments = tuple(_segment(part) for part in _split_path(path))
    query_literals: list[tuple[str, str | None]] = []
    for item in filter(None, query_text.split("&")):
        key, has_value, value = item.partition("=")
        query_literals.append((key, value if has_value else None))
    kinds = [s.kind for s in segments]
    return Route(
        operation,
        operation.http["method"].upper(),
        segments,
        tuple(query_literals),
        literals=tuple(
            (i, s.text) for i, s in enumerate(segments) if s.kind is SegmentKind.LITERAL
        ),
        labels=tuple((i, s.text) for i, s in enumerate(segments) if s.kind is SegmentKind.LABEL),
        greedy_at=kinds.index(SegmentKind.GREEDY) if SegmentKind.GREEDY in kinds else None,
    )


def _segment(part: str) -> Segment:
    if part.startswith("{") and part.endswith("}"):
        name = part[1:-1]
        if name.endswith("+"):
            return Segment(SegmentKind.GREEDY, name[:-1])
        return Segment(SegmentKind.LABEL, name)
    return Segment(SegmentKind.LITERAL, part)


def _split_path(path: str) -> list[str]:
    # "/a/b/" and "/a/b" are the same resource; "/" has no segments at all.
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


class RouteTable:
    """All routes of a service, indexed for matching a request quickly."""

    def __init__(self, operations: Sequence[OperationModel]) -> None:
        routes = sorted((parse_template(op) for op in operations), key=lambda r: r.specificity)
        self._greedy: dict[str, list[Route]] = {}
        self._by_shape: dict[tuple[str, int], list[Route]] = {}
        for route in routes:
            if route.greedy_at is not None:
                self._greedy.setdefault(route.method, []).append(route)
            else:
                key = (route.method, len(route.segments))
                self._by_shape.setdefault(key, []).append(route)
        for (method, count), exact in list(self._by_shape.items()):
            merged = exact + [r for r in self._greedy.get(method, []) if len(r.segments) <= count]
            self._by_shape[(method, count)] = sorted(merged, key=lambda r: r.specificity)

    def match(
        self, method: str, raw_path: str, query: Sequence[tuple[str, str]] = ()
    ) -> tuple[OperationModel, dict[str, str]]:
        """The operation for this request and its decoded path labels."""
        path, _, query_text = raw_path.partition("?")
        query_map = dict(query)
        if query_text:
            query_map.update(parse_qsl(query_text, keep_blank_values=True))
        # Split before decoding: an encoded "/" (%2F) belongs inside its segment.
        parts = [unquote(p) if "%" in p else p for p in _split_path(path)]
        method = method.upper()
        candidates = self._by_shape.get((method, len(parts)))
        if candidates is None:
            candidates = [r for r in self._greedy.get(method, []) if len(r.segments) <= len(parts)]
        for route in candidates:
            labels = route.match(parts, query_map)
            if labels is not None:
                return route.operation, labels
        raise UnknownOperation(f"No operation matches {method} {path or '/'}.")
