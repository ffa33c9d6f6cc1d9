"""What an EventBridge target receives: the event, or its Input, InputPath or InputTransformer.

`validate_target_input` runs at PutTargets and raises AWS's ValidationException texts;
`render_target_input` runs per delivery and returns the text handed to the target (a
message body, a function's payload), or None when AWS would silently deliver nothing.
Paths and templates are compiled on first use and kept on the (immutable) value, so a
validated target never parses them again per event.

Over the wire the gateway checks the model's constraints (lengths, key pattern, 100
paths) first and answers with AWS's `1 validation error detected: ...` text naming the
member; the same limits are checked here for in-process callers, in the per-target style
of AWS's own messages, as AWS's member-indexed text cannot be built without the index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

from nimbus.errors import ValidationError
from nimbus.events.input_template import (
    Template,
    compact_json,
    is_json,
    parse_template,
    render_template,
)
from nimbus.events.jsonpath import MISSING, JsonPath, JsonPathError, compile_path

MAX_INPUT = 8192
MAX_INPUT_PATH = 256
MAX_TEMPLATE = 8192
MAX_PATHS = 100
MAX_KEY = 256
# The model's key pattern; it has no dot, so it already keeps keys from starting with
# "AWS." and from taking a reserved variable's name, as the docs require.
_KEY = re.compile(r"[A-Za-z0-9_\-]+")

RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
RESERVED = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})
# Their contents are not escaped, so AWS allows them only as JSON values.
JSON_ONLY = frozenset({EVENT, EVENT_JSON})


# Not slotted: the compiled forms are cached_property values kept in the instance dict.
@dataclass(frozen=True)
class InputTransformer:
    paths: tuple[tuple[str, str], ...]  # InputPathsMap, in the order given
    template: str

    @classmethod
    def of(cls, paths: Mapping[str, str], template: str) -> InputTransformer:
        return cls(tuple(paths.items()), template)

    @cached_property
    def compiled_template(self) -> Template:
        return parse_template(self.template)

    @cached_property
    def compiled_paths(self) -> Mapping[str, JsonPath | None]:
        """Each key's path; None for a path that does not compile (refused at PutTargets)."""
        return MappingProxyType({key: _compiled(path, brackets=False) for key, path in self.paths})


@dataclass(frozen=True)
class TargetInput:
    """At most one option is set; none delivers the whole event."""

    input: str | None = None
    input_path: str | None = None
    transformer: InputTransformer | None = None

    @cached_property
    def compiled_input_path(self) -> JsonPath | None:
        return None if self.input_path is None else _compiled(self.input_path, brackets=True)


def validate_target_input(target_id: str, value: TargetInput) -> None:
    """Refuse at PutTargets what EventBridge refuses, with its texts."""
    chosen = [
        item for item in (value.input, value.input_path, value.transformer) if item is not None
    ]
    if len(chosen) > 1:
        raise ValidationError(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target "
            f"{target_id}."
        )
    if value.input is not None:
        _check_input(target_id, value.input)
    elif value.input_path is not None:
        _check_length(f"InputPath for target {target_id}", value.input_path, 0, MAX_INPUT_PATH)
        if value.compiled_input_path is None:
            raise ValidationError(f"InputPath for target {target_id} is not a valid JSON path.")
    elif value.transformer is not None:
        _check_paths(target_id, value.transformer)
        _check_template(target_id, value.transformer)


def render_target_input(
    value: TargetInput,
    event: dict[str, Any],
    *,
    rule_arn: str,
    rule_name: str,
    ingestion_time: str,
) -> str | None:
    """The text the target receives for `event`, or None when nothing is delivered."""
    if value.input is not None:
        return value.input
    if value.input_path is not None:
        path = value.compiled_input_path
        selected = MISSING if path is None else path.select(event)
        # A definite path the event lacks leaves nothing to send (not recorded from AWS;
        # its JSONPath evaluator raises on such a path).
        return None if selected is MISSING else compact_json(selected)
    if value.transformer is None:
        return compact_json(event)
    strings = {RULE_ARN: rule_arn, RULE_NAME: rule_name, INGESTION_TIME: ingestion_time}
    return _transform(value.transformer, event, strings)


def _transform(
    transformer: InputTransformer, event: dict[str, Any], strings: dict[str, str]
) -> str | None:
    paths = transformer.compiled_paths

    def lookup(name: str) -> Any:
        # keys cannot contain a dot and every reserved name has one: no name is both
        if name in paths:
            path = paths[name]
            return MISSING if path is None else path.select(event)
        if name in strings:
            return strings[name]
        if name == EVENT:
            return _event_without_detail(event)
        return event if name == EVENT_JSON else MISSING

    return render_template(transformer.compiled_template, lookup)


def _event_without_detail(event: dict[str, Any]) -> dict[str, Any]:
    # AWS recorded `detailType` (camel-cased) inside <aws.events.event>
    return {
        ("detailType" if key == "detail-type" else key): item
        for key, item in event.items()
        if key != "detail"
    }


def _compiled(text: str, *, brackets: bool) -> JsonPath | None:
    try:
        return compile_path(text, brackets=brackets)
    except JsonPathError:
        return None


def _check_input(target_id: str, text: str) -> None:
    _check_length(f"Input for target {target_id}", text, 0, MAX_INPUT)
    if not is_json(text):
        # AWS's text, as reported from CloudFormation (awsdocs/aws-cloudformation-user-guide#1010)
        raise ValidationError(f"Input for target {target_id} is not a valid JSON text.")


def _check_paths(target_id: str, transformer: InputTransformer) -> None:
    if len(transformer.paths) > MAX_PATHS:
        raise ValidationError(
            f"InputPathsMap for target {target_id} must have at most {MAX_PATHS} entries."
        )
    for key, path in transformer.paths:
        if not 1 <= len(key) <= MAX_KEY or not _KEY.fullmatch(key):
            raise ValidationError(
                f"InputPathsMap for target {target_id} contains invalid key {key}."
            )
        _check_length(
            f"InputPathsMap path for key {key} of target {target_id}", path, 0, MAX_INPUT_PATH
        )
        if transformer.compiled_paths[key] is None:
            raise ValidationError(
                f"InputPathsMap for target {target_id} contains invalid JSON path {path}."
            )


def _check_template(target_id: str, transformer: InputTransformer) -> None:
    _check_length(f"InputTemplate for target {target_id}", transformer.template, 1, MAX_TEMPLATE)
    keys = {key for key, _ in transformer.paths}
    for placeholder in transformer.compiled_template.placeholders:
        name = placeholder.name
        if name not in keys and name not in RESERVED:
            raise ValidationError(
                f"InputTemplate for target {target_id} contains invalid placeholder {name}."
            )
        if name in JSON_ONLY and placeholder.quoted:
            # nimbus's text: AWS's for this case is not recorded
            raise ValidationError(
                f"InputTemplate for target {target_id} can use placeholder {name} only as a "
                f"JSON value."
            )


def _check_length(what: str, text: str, least: int, most: int) -> None:
    # nimbus's text for in-process callers; see the module docstring
    if len(text) > most:
        raise ValidationError(f"{what} must have length less than or equal to {most}.")
    if len(text) < least:
        raise ValidationError(f"{what} must have length greater than or equal to {least}.")
