"""Name-ordered pages for the List* operations: the token is the last name returned."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import TypeVar

from nimbus.errors import ValidationError

T = TypeVar("T")
DEFAULT_LIMIT = 100


def page(
    items: Iterable[T], name: Callable[[T], str], token: str | None, limit: int | None
) -> tuple[list[T], str | None]:
    """Up to `limit` of `items` (sorted by `name`) after the token's name, and the next token."""
    after = _decode(token) if token else None
    size = limit or DEFAULT_LIMIT
    ordered = sorted(items, key=name)
    if after is not None:
        ordered = [item for item in ordered if name(item) > after]
    chosen = ordered[:size]
    more = len(ordered) > size
    return chosen, _encode(name(chosen[-1])) if more and chosen else None


def _encode(name: str) -> str:
    return base64.urlsafe_b64encode(b"n1:" + name.encode()).decode()


def _decode(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(b"n1:"):
        raise ValidationError("The nextToken provided is invalid.")
    return raw[3:].decode(errors="replace")
