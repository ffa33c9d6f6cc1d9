"""InputTransformer templates: where each placeholder sits, and the text it becomes.

What AWS delivers was recorded against EventBridge (aws-semantics §1.11 and LocalStack's
AWS-validated snapshots, tests/aws/services/events/test_events_inputs):

- A template starting with `"` is a JSON string and is delivered as one, quotes included;
  one starting with `{` or `[` is JSON. Any other text is accepted at PutTargets but
  nothing is delivered.
- A placeholder inside a JSON string of the template is replaced by raw text, escaping
  nothing: a string without its quotes, a number, `true`, `null`; a missing path by
  nothing at all. In a string template an object or a list is written without quotes,
  `{acc_id:0a787ecb-4015,sf_id:baz}`, `[ACTIVE,INACTIVE]`. In a JSON template it is
  written as its JSON, which ends the string early: AWS recorded no delivery for
  `{"a": "<listsingle>"}`, while `"<listsingle>"` alone became `"[HIGH]"`, so the two
  kinds of template cannot share one quote-free form.
- A bare placeholder (a JSON value of its own) becomes the value's JSON. A missing path
  becomes `""`: `{"command": <command>}` with `$.detail.notinmessage` was delivered as
  `{"command": ""}`.
- When the result is not JSON (an unescaped quote or newline from a value, a composite
  inside quotes), AWS delivers nothing; so does nimbus. JSON is delivered minified.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nimbus.events.jsonpath import MISSING

# `<` and `>` cannot be escaped in a template (AWS docs); text with spaces or quotes
# between them, as in `"a < b and c > d"`, is left as text rather than read as a name.
_PLACEHOLDER = re.compile(r"<([^<>\s\"]+)>")
_JSON_SPACE_OR_STRING = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\n\r]+', re.DOTALL)


class TemplateKind(enum.Enum):
    STRING = "string"  # starts with `"`: delivered as a JSON string literal
    JSON = "json"  # starts with `{` or `[`
    TEXT = "text"  # anything else: never delivered


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    quoted: bool  # inside a JSON string of the template, so replaced by raw text


@dataclass(frozen=True, slots=True)
class Template:
    kind: TemplateKind
    parts: tuple[str | Placeholder, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(part for part in self.parts if isinstance(part, Placeholder))


def parse_template(text: str) -> Template:
    """Split `text` into literal text and placeholders, noting which sit inside quotes."""
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    in_string = escaped = False
    at = 0
    while at < len(text):
        if match := _PLACEHOLDER.match(text, at):
            parts.append("".join(literal))
            literal.clear()
            parts.append(Placeholder(match.group(1), quoted=in_string))
            at, escaped = match.end(), False
            continue
        char = text[at]
        if escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
        literal.append(char)
        at += 1
    parts.append("".join(literal))
    return Template(_kind(text), tuple(part for part in parts if part != ""))


def _kind(text: str) -> TemplateKind:
    start = text.lstrip(" \t\n\r")[:1]
    if start == '"':
        return TemplateKind.STRING
    if start in ("{", "["):
        return TemplateKind.JSON
    return TemplateKind.TEXT


def render_template(template: Template, lookup: Callable[[str], Any]) -> str | None:
    """The delivered text, or None when AWS would deliver nothing.

    `lookup` gives a placeholder's value, or `MISSING` when its path is not in the event.
    """
    if template.kind is TemplateKind.TEXT:
        return None
    pieces: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            pieces.append(part)
        elif part.quoted:
            pieces.append(_raw(lookup(part.name), template.kind))
        else:
            value = lookup(part.name)
            pieces.append('""' if value is MISSING else compact_json(value))
    return _minified("".join(pieces))


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _raw(value: Any, kind: TemplateKind) -> str:
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list) and kind is TemplateKind.STRING:
        return _unquoted(value)
    return compact_json(value)


def _unquoted(value: Any) -> str:
    """AWS's quote-free form of a value inside a string template: `{a:1,b:[x,y]}`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_unquoted(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_unquoted(item) for item in value) + "]"
    return compact_json(value)


def is_json(text: str) -> bool:
    """Whether `text` is one JSON text, as a strict (Java) parser reads it."""
    try:
        json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return False
    return True


def _minified(text: str) -> str | None:
    if not is_json(text):
        return None
    return _JSON_SPACE_OR_STRING.sub(lambda match: match.group(1) or "", text)


def _refuse_constant(name: str) -> Any:
    # Python reads NaN and Infinity; JSON, and so AWS, does not
    raise ValueError(f"{name} is not JSON")
