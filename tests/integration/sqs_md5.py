"""The test suite's own SQS MD5 oracle, written from the documented encoding (not nimbus's)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from typing import Any


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def attributes_md5(attrs: Mapping[str, Mapping[str, Any]]) -> str:
    """MD5 of message attributes: names sorted, each part length-prefixed (big-endian)."""
    out = b""
    for name in sorted(attrs):
        value = attrs[name]
        binary = value["DataType"].startswith("Binary")
        data = value["BinaryValue"] if binary else value["StringValue"].encode()
        for part in (name.encode(), value["DataType"].encode()):
            out += struct.pack(">I", len(part)) + part
        out += (b"\x02" if binary else b"\x01") + struct.pack(">I", len(data)) + data
    return md5(out)
