"""The JSONPath subset EventBridge accepts in InputPath and InputPathsMap.

AWS documents dot notation (`$.detail.state`), array indices (`$.resources[0]`) and
wildcards (`$.detail.*`, `$.items[*]`), with names made of letters, digits, dashes,
underscores and slashes. InputPath may also use bracket notation (`$['detail']['a b']`);
InputPathsMap values may not ("You must use JSON dot notation, not bracket notation"),
though indices and `[*]` stay allowed there, as AWS's own `$.resources[0]` example shows.

Names are read leniently (anything but `.`, `[`, `]`, `*`, quotes and whitespace), so a key
such as `aws:cloudformation:stack-name` that AWS's evaluator reads is not refused here.

A path with no wildcard is definite: it selects one value or nothing. A path with a
wildcard selects the list of every value it reaches, possibly empty, as Jayway JsonPath
(the Java library behind most JSONPath evaluators) does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class JsonPathError(ValueError):
    """The text is not a path of the supported form."""


class Wildcard(enum.Enum):
    ANY = "*"


class Missing(enum.Enum):
    """What a definite path selects when the event has nothing there."""

    MISSING = "missing"


MISSING = Missing.MISSING
Step = str | int | Wildcard

_DOT_NAME = re.compile(r"\.([^.\[\]*'\"\s]+)")
_DOT_ANY = re.compile(r"\.\*")
_INDEX = re.compile(r"\[(\d+)\]")
_INDEX_ANY = re.compile(r"\[\*\]")
_QUOTED = re.compile(r"""\[(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]""")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @property
    def definite(self) -> bool:
        return Wildcard.ANY not in self.steps

    def select(self, document: Any) -> Any:
        """The value at this path, `MISSING`, or (with a wildcard) the list of matches."""
        found = list(_walk(document, self.steps))
        if not self.definite:
            return found
        return found[0] if found else MISSING


def compile_path(text: str, *, brackets: bool = True) -> JsonPath:
    """Parse `text`; `brackets=False` refuses quoted names (`['a']`), as InputPathsMap does."""
    if not text.startswith("$"):
        raise JsonPathError(f"{text!r} does not start with $")
    steps: list[Step] = []
    at = 1
    while at < len(text):
        step, at = _step(text, at, brackets=brackets)
        steps.append(step)
    return JsonPath(text, tuple(steps))


def _step(text: str, at: int, *, brackets: bool) -> tuple[Step, int]:
    if match := _DOT_NAME.match(text, at):
        return match.group(1), match.end()
    if match := _DOT_ANY.match(text, at) or _INDEX_ANY.match(text, at):
        return Wildcard.ANY, match.end()
    if match := _INDEX.match(text, at):
        return int(match.group(1)), match.end()
    if brackets and (match := _QUOTED.match(text, at)):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        return _ESCAPE.sub(r"\1", quoted), match.end()
    raise JsonPathError(f"{text!r} has an unsupported step at offset {at}")


def _walk(node: Any, steps: tuple[Step, ...]) -> Iterator[Any]:
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    if step is Wildcard.ANY:
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            yield from _walk(child, rest)
    elif isinstance(step, int):
        if isinstance(node, list) and step < len(node):
            yield from _walk(node[step], rest)
    elif isinstance(node, dict) and step in node:
        yield from _walk(node[step], rest)
