"""Name-ordered pages for EventBridge's List* operations (`nimbus.paging`), with its error."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from nimbus.errors import ValidationError
from nimbus.paging import InvalidToken, name_page

T = TypeVar("T")
DEFAULT_LIMIT = 100


def page(
    items: Iterable[T], name: Callable[[T], str], token: str | None, limit: int | None
) -> tuple[list[T], str | None]:
    """Up to `limit` of `items` (sorted by `name`) after the token's name, and the next token."""
    try:
        return name_page(items, name, token, limit or DEFAULT_LIMIT)
    except InvalidToken:
        raise ValidationError("The nextToken provided is invalid.") from None
