"""A bucket's notification configuration: which events go to which destinations.

The shape is PutBucketNotificationConfiguration's: queue, function and topic entries,
each with an `Id`, the destination's ARN, the event types (`s3:ObjectCreated:*` ...) and
key filter rules, plus whether events also go to EventBridge. Values arrive as the client
sent them; `validation.validated` checks them and returns the normalised configuration
that is stored and read back (generated ids, rule names `Prefix`/`Suffix`).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any


class DestinationKind(enum.Enum):
    """Where a configuration entry sends its records (the three lists of the API)."""

    QUEUE = "Queue"
    FUNCTION = "CloudFunction"
    TOPIC = "Topic"


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One `Filter.Key.FilterRules` entry; `name` is `prefix` or `suffix`, any case."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """The filter rules of one entry, resolved: a key matches if it has both."""

    prefix: str = ""
    suffix: str = ""

    def matches(self, key: str) -> bool:
        """Matched against the raw key, never its encoded form."""
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True, slots=True)
class Destination:
    """One Queue/LambdaFunction/TopicConfiguration entry."""

    kind: DestinationKind
    arn: str
    events: tuple[str, ...]
    filter_rules: tuple[FilterRule, ...] = ()
    id: str | None = None

    @property
    def key_filter(self) -> KeyFilter:
        """The rules as one filter (valid rules only: at most one prefix and one suffix)."""
        values = {rule.name.lower(): rule.value for rule in self.filter_rules}
        return KeyFilter(values.get("prefix", ""), values.get("suffix", ""))


@dataclass(frozen=True, slots=True)
class NotificationConfiguration:
    """A bucket's whole configuration (a put replaces all of it); empty by default."""

    destinations: tuple[Destination, ...] = ()
    event_bridge: bool = False

    def of_kind(self, kind: DestinationKind) -> tuple[Destination, ...]:
        return tuple(d for d in self.destinations if d.kind is kind)

    @property
    def queues(self) -> tuple[Destination, ...]:
        return self.of_kind(DestinationKind.QUEUE)

    @property
    def functions(self) -> tuple[Destination, ...]:
        return self.of_kind(DestinationKind.FUNCTION)

    @property
    def topics(self) -> tuple[Destination, ...]:
        return self.of_kind(DestinationKind.TOPIC)

    @property
    def is_empty(self) -> bool:
        return not self.destinations and not self.event_bridge


def dump(config: NotificationConfiguration) -> str:
    """The configuration as stored (JSON)."""
    return json.dumps(
        {
            "destinations": [
                {
                    "kind": d.kind.value,
                    "arn": d.arn,
                    "events": list(d.events),
                    "rules": [[rule.name, rule.value] for rule in d.filter_rules],
                    "id": d.id,
                }
                for d in config.destinations
            ],
            "event_bridge": config.event_bridge,
        }
    )


def load(text: str) -> NotificationConfiguration:
    data: dict[str, Any] = json.loads(text)
    return NotificationConfiguration(
        tuple(
            Destination(
                DestinationKind(d["kind"]),
                d["arn"],
                tuple(d["events"]),
                tuple(FilterRule(name, value) for name, value in d["rules"]),
                d["id"],
            )
            for d in data["destinations"]
        ),
        data["event_bridge"],
    )
