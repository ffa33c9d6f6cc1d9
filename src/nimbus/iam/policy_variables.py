"""Policy variables in Resource (`${aws:username}`), expanded per request.

Only Version 2012-10-17 policies have them (§5.1); in older ones `${...}` is literal
text. A variable's value is matched literally (its own `*` and `?` are not wildcards),
and `${*}`, `${?}`, `${$}` write those characters literally. A variable the request
does not carry makes the resource pattern match nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_VARIABLE = re.compile(r"(\$\{[^}]*\})")
_LITERAL_ESCAPES = frozenset({"*", "?", "$"})

# (character, is_wildcard)
Item = tuple[str, bool]


def has_variables(resource: str) -> bool:
    return _VARIABLE.search(resource) is not None


def _items(template: str, context: Mapping[str, str | Sequence[str]]) -> list[Item] | None:
    items: list[Item] = []
    for token in _VARIABLE.split(template):
        if not _VARIABLE.fullmatch(token):
            items.extend((c, c in "*?") for c in token)
            continue
        name = token[2:-1]
        value = name if name in _LITERAL_ESCAPES else context.get(name.lower())
        if not isinstance(value, str):
            return None
        items.extend((c, False) for c in value)
    return items


def _regex(items: list[Item]) -> re.Pattern[str]:
    body = "".join((".*" if c == "*" else ".") if wild else re.escape(c) for c, wild in items)
    return re.compile(body, re.DOTALL)


def expand(
    template: str, context: Mapping[str, str | Sequence[str]]
) -> tuple[re.Pattern[str], ...] | None:
    """The ARN parts' matchers after substitution, or None when a variable is absent."""
    items = _items(template, context)
    if items is None:
        return None
    parts: list[list[Item]] = [[]]
    for item in items:
        if item == (":", False) and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append(item)
    return tuple(_regex(part) for part in parts)
