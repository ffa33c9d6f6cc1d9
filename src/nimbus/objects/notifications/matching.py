"""Which configuration entries an object change matches, and which entries overlap.

Event types are `s3:<Family>:<Type>`; a `s3:<Family>:*` entry covers every type of its
family. Key filters are a prefix and a suffix on the raw key. Two filters overlap when
some key matches both: prefixes overlap when one starts with the other (an absent prefix
is the empty string, which every prefix starts with), suffixes when one ends with the
other.
"""

from __future__ import annotations

from collections.abc import Iterable

from nimbus.objects.notifications.config import Destination, KeyFilter

WILDCARD = "*"


def covers(pattern: str, event: str) -> bool:
    """Whether the configured `pattern` selects the concrete or wildcard `event`."""
    if pattern == event:
        return True
    family, _, kind = pattern.rpartition(":")
    return kind == WILDCARD and event.startswith(family + ":")


def events_overlap(first: Iterable[str], second: Iterable[str]) -> bool:
    others = tuple(second)
    return any(covers(a, b) or covers(b, a) for a in first for b in others)


def prefixes_overlap(first: str, second: str) -> bool:
    return first.startswith(second) or second.startswith(first)


def suffixes_overlap(first: str, second: str) -> bool:
    return first.endswith(second) or second.endswith(first)


def filters_overlap(first: KeyFilter, second: KeyFilter) -> bool:
    """Whether some key matches both filters."""
    return prefixes_overlap(first.prefix, second.prefix) and suffixes_overlap(
        first.suffix, second.suffix
    )


def ambiguous(first: Destination, second: Destination) -> bool:
    """Whether one change could match both entries (S3 rejects such configurations)."""
    return events_overlap(first.events, second.events) and filters_overlap(
        first.key_filter, second.key_filter
    )


def matches(destination: Destination, event: str, key: str) -> bool:
    """Whether a change of type `event` (`s3:ObjectCreated:Put` ...) to `key` is sent."""
    return any(covers(pattern, event) for pattern in destination.events) and (
        destination.key_filter.matches(key)
    )


def matching(destinations: Iterable[Destination], event: str, key: str) -> list[Destination]:
    return [d for d in destinations if matches(d, event, key)]
