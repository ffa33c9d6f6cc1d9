"""Name-ordered pages for List* operations whose token is the last name returned.

SQS's ListQueues and EventBridge's List* page the same way: sort by name, start after
the token's name, cut at the limit. The token is opaque to clients but not a secret (a
forged one only moves the start), so it carries the name, base64-encoded behind a marker
that tells a token of ours from noise. Each service turns `InvalidToken` into its own
AWS error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
_MARK = b"n1:"


class InvalidToken(ValueError):
    """The token is not one these pages gave out."""


def name_page(
    items: Iterable[T], name: Callable[[T], str], token: str | None, limit: int
) -> tuple[list[T], str | None]:
    """Up to `limit` of `items` in `name` order after the token's name, and the next token
    (None when nothing is left)."""
    after = _name_of(token) if token else None
    ordered = sorted((item for item in items if after is None or name(item) > after), key=name)
    chosen = ordered[:limit]
    more = len(ordered) > limit and bool(chosen)
    return chosen, _token_of(name(chosen[-1])) if more else None


def _token_of(name: str) -> str:
    return base64.urlsafe_b64encode(_MARK + name.encode()).decode()


def _name_of(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(_MARK):
        raise InvalidToken(token)
    return raw[len(_MARK) :].decode(errors="replace")
