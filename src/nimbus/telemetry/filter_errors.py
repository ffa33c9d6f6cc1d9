"""AWS's answers to a filter pattern that does not parse, shared by both pattern parsers."""

from __future__ import annotations

from typing import Final

from nimbus.errors import InvalidParameter

INVALID_PATTERN: Final = "Invalid filter pattern"
UNCLOSED_JSON_PATTERN: Final = "If a filter pattern starts with '{' it must end with '}'"


def invalid_pattern() -> InvalidParameter:
    return InvalidParameter(INVALID_PATTERN)
