"""Receipt handles: opaque, unforgeable names of one delivery of one message.

A handle encodes (queue id, message seq, receive count) and an HMAC of them under a
secret kept in the queue store, so handles survive restarts and garbage is recognised.
The receive count names the delivery: a handle from an earlier receive of a message that
was received again no longer matches, which is how stale handles are told apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from nimbus.queues.errors import ReceiptHandleIsInvalid

_MAC_BYTES = 16


@dataclass(frozen=True, slots=True)
class Receipt:
    queue_id: int
    seq: int
    receive_count: int


class ReceiptCodec:
    """Issues and checks receipt handles under one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self, receipt: Receipt) -> str:
        payload = f"{receipt.queue_id}:{receipt.seq}:{receipt.receive_count}".encode()
        raw = payload + b":" + self._mac(payload)
        return base64.urlsafe_b64encode(raw).decode("ascii")

    def read(self, handle: str) -> Receipt:
        """The receipt a handle names; ReceiptHandleIsInvalid for anything not issued here."""
        try:
            raw = base64.urlsafe_b64decode(handle.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ReceiptHandleIsInvalid(handle) from None
        payload, _, mac = raw.rpartition(b":")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise ReceiptHandleIsInvalid(handle)
        queue_id, seq, count = (int(part) for part in payload.split(b":"))
        return Receipt(queue_id, seq, count)

    def _mac(self, payload: bytes) -> bytes:
        digest = hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.b16encode(digest)
