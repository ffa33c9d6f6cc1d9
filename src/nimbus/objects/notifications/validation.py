"""Checking a notification configuration as S3 does, with S3's error texts.

`validated` checks what can be checked without the destinations (event types, filter
rules, ARNs, ambiguity) and returns the configuration as it is stored and read back:
every entry has an `Id` (generated when missing) and rule names read `Prefix`/`Suffix`.
Whether the destinations exist is asked of the targets (notifier.py).
"""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import replace

from nimbus.objects.errors import InvalidArgument
from nimbus.objects.notifications.config import (
    Destination,
    DestinationKind,
    FilterRule,
    NotificationConfiguration,
)
from nimbus.objects.notifications.matching import ambiguous

# The `Event` enum of the S3 service model (botocore), in its order.
EVENT_TYPES = frozenset(
    {
        "s3:ReducedRedundancyLostObject",
        "s3:ObjectCreated:*",
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post",
        "s3:ObjectRestore:Completed",
        "s3:Replication:*",
        "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationNotTracked",
        "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold",
        "s3:ObjectRestore:Delete",
        "s3:LifecycleTransition",
        "s3:IntelligentTiering",
        "s3:ObjectAcl:Put",
        "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete",
        "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put",
        "s3:ObjectTagging:Delete",
        "s3:ObjectAnnotation:*",
        "s3:ObjectAnnotation:Put",
        "s3:ObjectAnnotation:Delete",
        "s3:ObjectRetention:Put",
    }
)
_ARN_SERVICES = {
    DestinationKind.QUEUE: "sqs",
    DestinationKind.FUNCTION: "lambda",
    DestinationKind.TOPIC: "sns",
}
_RULE_NAMES = {"prefix": "Prefix", "suffix": "Suffix"}

AMBIGUOUS = (
    "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules "
    "if the prefixes are overlapping for the same event type."
)
UNPARSEABLE_ARN = "The ARN could not be parsed"
BAD_RULE_NAME = "filter rule name must be either prefix or suffix"
UNKNOWN_EVENT = "The event is not supported for notifications"


def validated(config: NotificationConfiguration) -> NotificationConfiguration:
    """The configuration normalised for storage, or the InvalidArgument S3 answers."""
    destinations = tuple(_validated(d) for d in config.destinations)
    for first, second in itertools.combinations(destinations, 2):
        if ambiguous(first, second):
            raise InvalidArgument(AMBIGUOUS)
    return replace(config, destinations=destinations)


def generated_id() -> str:
    """An id in the style S3 generates: the base64 of a random UUID's text."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def _validated(destination: Destination) -> Destination:
    _check_arn(destination)
    for event in destination.events:
        if event not in EVENT_TYPES:
            raise InvalidArgument(UNKNOWN_EVENT, "Event", event)
    return replace(
        destination,
        filter_rules=_normalised_rules(destination.filter_rules),
        id=destination.id or generated_id(),
    )


def _check_arn(destination: Destination) -> None:
    """`arn:<partition>:<service>:<region>:<account>:<resource>` of the right service."""
    parts = destination.arn.split(":", 5)
    service = _ARN_SERVICES[destination.kind]
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != service or not parts[5]:
        raise InvalidArgument(UNPARSEABLE_ARN, destination.kind.value, destination.arn)


def _normalised_rules(rules: tuple[FilterRule, ...]) -> tuple[FilterRule, ...]:
    normalised = []
    for rule in rules:
        name = _RULE_NAMES.get(rule.name.lower())
        if name is None:
            raise InvalidArgument(BAD_RULE_NAME, "FilterRule.Name", rule.name)
        normalised.append(FilterRule(name, rule.value))
    for name in _RULE_NAMES.values():
        if sum(rule.name == name for rule in normalised) > 1:
            raise InvalidArgument(
                f"Cannot specify more than one {name.lower()} rule in a filter.",
                "FilterRule.Name",
                name.lower(),
            )
    return tuple(normalised)
