"""SQS's own checks on what a message carries, with AWS's error texts.

The botocore model only says which members exist; the rules here (body characters,
attribute names, types and values, FIFO ids, batch entry ids) are SQS's and must answer
with its codes before anything is stored. The service calls them; they know no HTTP.
`validate_message_attributes` returns the attributes' size, since AWS counts every name,
type and value byte toward the message size limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

from nimbus.queues.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    TooManyEntriesInBatchRequest,
)
from nimbus.queues.md5 import AttributeValue

MAX_ATTRIBUTES = 10
MAX_BATCH_ENTRIES = 10
MAX_ATTRIBUTE_NAME_LENGTH = 256
SYSTEM_ATTRIBUTE_NAMES = frozenset({"AWSTraceHeader"})

# XML 1.0 characters: what SQS stores in bodies and String attributes.
_INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTENTS_TEXT = (
    "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF"
    " | #xE000 to #xFFFD | #x10000 to #x10FFFF"
)
_ATTRIBUTE_NAME = re.compile(r"[\w.\-]+")  # letters of any script: AWS accepts "größe"
_RESERVED_PREFIXES = ("aws.", "amazon.")
_BASE_TYPES = ("String", "Number", "Binary")
_FIFO_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")
_BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_\-]{1,80}")


def validate_body(body: str) -> None:
    """A body is at least one character, all of them XML characters."""
    if not body:
        raise MissingParameter("The request must contain the parameter MessageBody.")
    if _INVALID_CHARACTER.search(body):
        raise InvalidMessageContents(_CONTENTS_TEXT)


def validate_message_attributes(attrs: Mapping[str, AttributeValue]) -> int:
    """Check user attributes as SQS does; their size in bytes (names, types and values).

    Attributes are checked in name order so a message with several faults always gets
    the same answer.
    """
    if len(attrs) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attrs)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    size = 0
    for name in sorted(attrs):
        _check_name(name)
        size += _checked_size(name, attrs[name])
    return size


def validate_system_attributes(attrs: Mapping[str, AttributeValue]) -> None:
    """Only ``AWSTraceHeader`` (a String) exists; it does not count toward the size."""
    for name in sorted(attrs):
        if name not in SYSTEM_ATTRIBUTE_NAMES:
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        attribute = attrs[name]
        if attribute.data_type != "String":
            raise InvalidParameterValue(
                f"Message system attribute '{name}' must be of type 'String'."
            )
        _checked_size(name, attribute)


def validate_fifo_id(parameter: str, value: str) -> None:
    """MessageGroupId / MessageDeduplicationId: 1-128 alphanumerics and punctuation."""
    if not _FIFO_ID.fullmatch(value):
        raise InvalidParameterValue(
            f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only "
            "include alphanumeric and punctuation characters. 1 to 128 in length."
        )


def validate_batch_entry_ids(ids: Sequence[str], entry_shape: str) -> None:
    """Request-level batch checks; `entry_shape` names the entries in AWS's empty-batch text
    (e.g. ``SendMessageBatchRequestEntry``)."""
    if not ids:
        raise EmptyBatchRequest(f"There should be at least one {entry_shape} in the request.")
    if len(ids) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
            f"You have sent {len(ids)}."
        )
    seen: set[str] = set()
    for entry_id in ids:
        if not _BATCH_ENTRY_ID.fullmatch(entry_id):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long."
            )
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)


def _check_name(name: str) -> None:
    if name.lower().startswith(_RESERVED_PREFIXES):
        raise InvalidParameterValue(
            f"Message (user) attribute name '{name}' is invalid. You can't use message "
            "attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved "
            "for internal use."
        )
    well_formed = (
        len(name) <= MAX_ATTRIBUTE_NAME_LENGTH
        and _ATTRIBUTE_NAME.fullmatch(name) is not None
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
    )
    if not well_formed:
        raise InvalidParameterValue(
            f"Message (user) attribute name '{name}' is invalid. A name is 1 to 256 "
            "letters, digits, underscores, hyphens and periods, and cannot "
            "start or end with a period or contain two in a row."
        )


def _checked_size(name: str, attribute: AttributeValue) -> int:
    """Check the type and value; the bytes the attribute adds to the message size."""
    data_type = attribute.data_type
    base = data_type.partition(".")[0]
    if base not in _BASE_TYPES or len(data_type) > MAX_ATTRIBUTE_NAME_LENGTH:
        raise InvalidParameterValue(
            f"The type of message (user) attribute '{name}' is invalid. You must use only "
            "the following supported type prefixes: Binary, Number, String."
        )
    value = _value_bytes(name, base, attribute)
    return len(name.encode("utf-8")) + len(data_type.encode("utf-8")) + len(value)


def _value_bytes(name: str, base: str, attribute: AttributeValue) -> bytes:
    empty = InvalidParameterValue(
        f"Message (user) attribute '{name}' must contain a non-empty value of type '{base}'."
    )
    if base == "Binary":
        if not attribute.binary_value:
            raise empty
        return attribute.binary_value
    text = attribute.string_value
    if not text:
        raise empty
    if _INVALID_CHARACTER.search(text):
        raise InvalidMessageContents(_CONTENTS_TEXT)
    if base == "Number" and not _is_number(text):
        raise InvalidParameterValue(f"Could not cast message attribute '{name}' value to number.")
    return text.encode("utf-8")


def _is_number(text: str) -> bool:
    """A finite decimal SQS can hold: at most 38 significant digits, |x| ≤ 10^126."""
    if not _DECIMAL.fullmatch(text):
        return False
    number = Decimal(text)
    if number.is_zero():
        return True
    significant = "".join(map(str, number.as_tuple().digits)).strip("0")
    return len(significant) <= 38 and -128 <= number.adjusted() <= 126
