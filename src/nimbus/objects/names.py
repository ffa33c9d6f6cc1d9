"""S3's rules for bucket names and object keys."""

from __future__ import annotations

import ipaddress
import re

from nimbus.objects.errors import InvalidArgument, InvalidBucketName, KeyTooLongError

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def is_valid_bucket_name(name: str) -> bool:
    """3-63 of a-z 0-9 . -, alphanumeric at both ends, no "..", not an IP address, and
    none of the prefixes and suffixes S3 reserves."""
    if not _BUCKET.fullmatch(name) or ".." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


def check_bucket_name(name: str) -> None:
    if not is_valid_bucket_name(name):
        raise InvalidBucketName(name)


def key_bytes(key: str, max_bytes: int = MAX_KEY_BYTES) -> bytes:
    """The key's UTF-8 bytes (what the store orders and indexes by), checked for length."""
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument("Object key is not valid UTF-8", "key") from None
    if not raw:
        raise InvalidArgument("Object key must not be empty", "key")
    if len(raw) > max_bytes:
        raise KeyTooLongError(len(raw), max_bytes)
    return raw
