"""Queue attributes: names, ranges, defaults and the AWS texts for bad ones.

Attributes travel as strings. `validate` checks a CreateQueue/SetQueueAttributes map and
returns it normalised; `QueueSettings.of` turns the stored map into typed values. The
RedrivePolicy's target is checked by the service, which knows the queues.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from nimbus.queues.errors import InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue

_RANGES: dict[str, tuple[int, int, int]] = {  # name: (low, high, default)
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, 1_048_576, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
_BOOLEANS = ("FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled")
_CHOICES = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
_FREE_TEXT = ("KmsMasterKeyId", "Policy", "RedrivePolicy", "RedriveAllowPolicy")
FIFO_ONLY = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
# Names a standard queue does not have at all: GetQueueAttributes on one rejects them.
FIFO_NAMES = frozenset(("FifoQueue", *FIFO_ONLY))
COMPUTED = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
)
SETTABLE = (*_RANGES, *_BOOLEANS, *_CHOICES, *_FREE_TEXT)
READABLE = frozenset((*SETTABLE, *COMPUTED))
MAX_RECEIVE_COUNT = 1000


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    target_arn: str
    max_receive_count: int


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """The typed view of a queue's stored attributes (defaults filled in)."""

    fifo: bool
    delay_seconds: int
    maximum_message_size: int
    retention_seconds: int
    wait_seconds: int
    visibility_timeout: int
    content_based_dedup: bool
    dedup_per_group: bool
    redrive: RedrivePolicy | None

    @classmethod
    def of(cls, attributes: Mapping[str, str]) -> QueueSettings:
        value = effective(attributes)
        return cls(
            fifo=value.get("FifoQueue") == "true",
            delay_seconds=int(value["DelaySeconds"]),
            maximum_message_size=int(value["MaximumMessageSize"]),
            retention_seconds=int(value["MessageRetentionPeriod"]),
            wait_seconds=int(value["ReceiveMessageWaitTimeSeconds"]),
            visibility_timeout=int(value["VisibilityTimeout"]),
            content_based_dedup=value.get("ContentBasedDeduplication") == "true",
            dedup_per_group=value.get("DeduplicationScope") == "messageGroup",
            redrive=parse_redrive_policy(value.get("RedrivePolicy", "")),
        )


def effective(attributes: Mapping[str, str]) -> dict[str, str]:
    """The stored attributes with every default AWS reports filled in."""
    fifo = attributes.get("FifoQueue") == "true"
    value = {name: str(default) for name, (_, _, default) in _RANGES.items()}
    del value["KmsDataKeyReusePeriodSeconds"]
    value["SqsManagedSseEnabled"] = "true"
    if fifo:
        value |= {
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "DeduplicationScope": "queue",
            "FifoThroughputLimit": "perQueue",
        }
    if "KmsMasterKeyId" in attributes:
        value["KmsDataKeyReusePeriodSeconds"] = "300"
        value["SqsManagedSseEnabled"] = "false"
    value |= {name: text for name, text in attributes.items() if text != ""}
    return value


def validate(attributes: Mapping[str, str], *, fifo: bool) -> dict[str, str]:
    """Check every attribute of a create/set request; the normalised map, or an AWS error.

    A standard queue has no FIFO attributes: naming one (FifoQueue=false included) is
    `InvalidAttributeName`, with AWS's recorded text for each.
    """
    normalised = {name: _check(name, text, fifo=fifo) for name, text in attributes.items()}
    merged = {"DeduplicationScope": "queue"} | normalised
    if merged.get("FifoThroughputLimit") == "perMessageGroupId" and (
        merged["DeduplicationScope"] != "messageGroup"
    ):
        raise InvalidAttributeValue(
            "Invalid value for the parameter FifoThroughputLimit. Reason: "
            "perMessageGroupId is only valid when DeduplicationScope is messageGroup."
        )
    return normalised


def _check(name: str, text: str, *, fifo: bool) -> str:
    if name not in SETTABLE or (name == "FifoQueue" and not fifo):
        # AWS rejects even FifoQueue=false: a standard queue has no FifoQueue attribute.
        raise InvalidAttributeName(f"Unknown Attribute {name}.")
    if not fifo and name in FIFO_ONLY:
        if name == "ContentBasedDeduplication":
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        raise InvalidAttributeName(
            f"You can specify the {name} only when FifoQueue is set to true."
        )
    if name in _RANGES:
        return _check_range(name, text)
    if name in _BOOLEANS:
        if text.lower() not in ("true", "false"):
            raise _invalid(name)
        return text.lower()
    if name in _CHOICES and text not in _CHOICES[name]:
        raise _invalid(name)
    if name == "RedrivePolicy":
        parse_redrive_policy(text)
    elif name == "RedriveAllowPolicy":
        _check_allow_policy(text)
    elif name == "Policy" and text:
        _load_json(name, text)
    return text


def _check_range(name: str, text: str) -> str:
    low, high, _ = _RANGES[name]
    try:
        number = int(text.strip())
    except ValueError:
        raise _invalid(name) from None
    if not low <= number <= high:
        raise _invalid(name)
    return str(number)


def parse_redrive_policy(text: str) -> RedrivePolicy | None:
    """The policy of a RedrivePolicy string; None for the empty string (no policy)."""
    if text == "":
        return None
    policy = _load_json("RedrivePolicy", text)
    target = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if not isinstance(target, str) or count is None:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedrivePolicy is invalid. Reason: Redrive policy "
            "does not contain mandatory attribute: "
            f"{'deadLetterTargetArn' if not isinstance(target, str) else 'maxReceiveCount'}."
        )
    try:
        receives = int(count) if isinstance(count, (int, str)) else 0
    except ValueError:
        receives = 0
    if isinstance(count, bool) or not 1 <= receives <= MAX_RECEIVE_COUNT:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            f"maxReceiveCount: {count}, valid values are from 1 to {MAX_RECEIVE_COUNT} both "
            "inclusive."
        )
    return RedrivePolicy(target, receives)


def allows_source(allow_policy: str, source_arn: str) -> bool:
    """Whether a queue's RedriveAllowPolicy lets `source_arn` use it as dead-letter queue."""
    if not allow_policy:
        return True
    policy = json.loads(allow_policy)
    permission = policy.get("redrivePermission")
    if permission == "denyAll":
        return False
    return permission != "byQueue" or source_arn in policy.get("sourceQueueArns", [])


def _check_allow_policy(text: str) -> None:
    if text == "":
        return
    policy = _load_json("RedriveAllowPolicy", text)
    permission = policy.get("redrivePermission")
    sources = policy.get("sourceQueueArns")
    valid = permission in ("allowAll", "denyAll", "byQueue")
    if permission == "byQueue":
        valid = isinstance(sources, list) and 1 <= len(sources) <= 10
    elif sources is not None:
        valid = False
    if not valid:
        raise InvalidParameterValue(
            f"Value {text} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS "
            "can't create the redrive allow policy, as it's in an unsupported format."
        )


def _load_json(name: str, text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidParameterValue(
            f"Value {text} for parameter {name} is invalid. Reason: Invalid JSON."
        )
    return value


def _invalid(name: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.")
