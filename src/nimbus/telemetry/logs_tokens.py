"""The paging tokens of the CloudWatch Logs operations: opaque, checked, bound to a request.

Tokens are base64url of a small JSON list plus a checksum over the list and the request
it belongs to, so a garbled token, or one from another query, is rejected with
CloudWatch's "The specified nextToken is invalid." instead of resuming somewhere
arbitrary. They hold positions, not secrets, so they survive restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Final

from nimbus.errors import InvalidParameter
from nimbus.telemetry.logstore_records import HEAD, MAX_INT, TAIL, Position

MAX_TOKEN: Final = 4096
INVALID_TOKEN: Final = "The specified nextToken is invalid."


def token_scope(*request: object) -> bytes:
    """What a token is bound to: the operation and the parameters that shape its results."""
    return json.dumps(request, separators=(",", ":")).encode()


def _checksum(scope: bytes, body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=12, key=hashlib.sha256(scope).digest()).digest()


def encode_token(scope: bytes, values: list[int | str]) -> str:
    body = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body + _checksum(scope, body)).rstrip(b"=").decode()


def decode_token(scope: bytes, token: str, arity: int) -> list[object]:
    """The values inside a token this request could have been given; else InvalidParameter."""
    if len(token) > MAX_TOKEN:
        raise InvalidParameter(INVALID_TOKEN)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise InvalidParameter(INVALID_TOKEN) from None
    body, checksum = raw[:-12], raw[-12:]
    if len(raw) <= 12 or not hmac.compare_digest(checksum, _checksum(scope, body)):
        raise InvalidParameter(INVALID_TOKEN)
    try:  # the checksum is not a secret: the body may still be anything
        values = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidParameter(INVALID_TOKEN) from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidParameter(INVALID_TOKEN)
    return values


def _token_int(value: object) -> int:
    if type(value) is not int or not -MAX_INT <= value <= MAX_INT:
        raise InvalidParameter(INVALID_TOKEN)
    return value


def token_text(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParameter(INVALID_TOKEN)
    return value


def token_position(values: list[object]) -> Position:
    return Position(_token_int(values[0]), _token_int(values[1]))


def token_stream_key(values: list[object]) -> tuple[int, str]:
    return _token_int(values[0]), token_text(values[1])


def encode_position(scope: bytes, position: Position) -> str:
    return encode_token(scope, [position.timestamp, position.event_id])


def events_origin(scope: bytes, token: str | None, from_head: bool) -> tuple[bool, Position]:
    """(forward?, position) to read from: the token's, else the head or the tail."""
    if token is None:
        return (True, HEAD) if from_head else (False, TAIL)
    direction, slash, rest = token.partition("/")
    if not slash or direction not in ("f", "b"):
        raise InvalidParameter(INVALID_TOKEN)
    return direction == "f", token_position(decode_token(scope, rest, 2))
