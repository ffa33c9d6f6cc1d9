"""The MD5 digests SQS returns so clients can check what it stored.

`MD5OfMessageBody` is the hex MD5 of the body's UTF-8 bytes. `MD5OfMessageAttributes`
(and `MD5OfMessageSystemAttributes`) digest a canonical encoding AWS documents and the Java
SDK verifies on every send and receive, so a wrong byte here breaks those clients:

    for each attribute, sorted by name:
        len(name) name  len(data type) data type  transport byte  len(value) value

Lengths are 4-byte big-endian counts of the UTF-8 (or raw binary) bytes that follow; the
transport byte is 1 for String and Number values and 2 for Binary ones, whatever custom
suffix the data type carries (``Number.float`` is still 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Protocol

_STRING_TRANSPORT = b"\x01"
_BINARY_TRANSPORT = b"\x02"


class AttributeValue(Protocol):
    """What an attribute must offer to be digested (`queues.model.MessageAttribute` does)."""

    @property
    def data_type(self) -> str: ...

    @property
    def string_value(self) -> str | None: ...

    @property
    def binary_value(self) -> bytes | None: ...


def md5_of_body(body: str) -> str:
    """Hex MD5 of the body's UTF-8 bytes (`MD5OfMessageBody`, `MD5OfBody`)."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def md5_of_attributes(attrs: Mapping[str, AttributeValue]) -> str | None:
    """`MD5OfMessageAttributes`, or None when there are none (AWS then omits the member)."""
    if not attrs:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attrs):
        digest.update(_encode(name, attrs[name]))
    return digest.hexdigest()


def md5_of_system_attributes(attrs: Mapping[str, AttributeValue]) -> str | None:
    """`MD5OfMessageSystemAttributes` (only ``AWSTraceHeader`` exists): the same encoding."""
    return md5_of_attributes(attrs)


def _encode(name: str, attribute: AttributeValue) -> bytes:
    if attribute.data_type.startswith("Binary"):
        transport, value = _BINARY_TRANSPORT, attribute.binary_value or b""
    else:
        transport, value = _STRING_TRANSPORT, (attribute.string_value or "").encode("utf-8")
    return b"".join(
        (_prefixed(name.encode("utf-8")), _prefixed(attribute.data_type.encode("utf-8")),
         transport, _prefixed(value))
    )  # fmt: skip


def _prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data
