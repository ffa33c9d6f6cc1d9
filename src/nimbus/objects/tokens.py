"""ListObjectsV2 continuation tokens: opaque to the client, checked by the service.

A token is the base64url of the last entry a page returned (a key or a common prefix)
followed by an HMAC-SHA256 (truncated) over the bucket and that entry, so a token cannot
be edited, or replayed against another bucket, without being noticed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from nimbus.objects.errors import InvalidArgument

_MAC_BYTES = 16
_VERSION = b"\x01"
BAD_TOKEN = "The continuation token provided is incorrect"


class TokenCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, bucket: str, last: bytes) -> str:
        body = _VERSION + last
        return base64.urlsafe_b64encode(body + self._mac(bucket, body)).decode("ascii")

    def decode(self, bucket: str, token: str) -> bytes:
        """The entry the token resumes after; InvalidArgument if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if (
            len(raw) <= _MAC_BYTES
            or not body.startswith(_VERSION)
            or not hmac.compare_digest(mac, self._mac(bucket, body))
        ):
            raise InvalidArgument(BAD_TOKEN, "continuation-token", token)
        return body[len(_VERSION) :]

    def _mac(self, bucket: str, body: bytes) -> bytes:
        message = bucket.encode("utf-8") + b"\x00" + body
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_MAC_BYTES]
