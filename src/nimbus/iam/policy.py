"""Identity policy documents: parsed once, validated, compiled into matchers.

`parse_policy(text)` returns a frozen `Policy` whose statements hold compiled action
and resource patterns and condition clauses, so one parse serves many evaluations.
Invalid documents raise `MalformedPolicyDocument`. Texts that AWS returns are noted as
such; the ones marked "ours" were written here because no AWS source recorded them.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nimbus.errors import MalformedPolicyDocument
from nimbus.iam.conditions import ConditionClause, Context, compile_clause, glob_regex
from nimbus.iam.policy_variables import expand, has_variables

VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_FIELDS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
# IAM's text (seen in MalformedPolicyDocument errors, e.g. terraform-provider-aws#10419).
PRINCIPAL_TEXT = "Policy document should not specify a principal."
# IAM's text for unparsable JSON and wrong shapes (boto/boto3#180, cfn-lint#3751).
SYNTAX_TEXT = "Syntax errors in policy."


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Statement:
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[ConditionClause, ...]
    action_patterns: tuple[re.Pattern[str], ...]
    resource_patterns: tuple[tuple[re.Pattern[str], ...], ...]
    resource_templates: tuple[str, ...] = ()

    def matches_action(self, action: str) -> bool:
        hit = any(p.fullmatch(action) for p in self.action_patterns)
        return hit != self.not_action

    def matches_resource(self, resource: str, context: Context) -> bool:
        hit = any(_arn_parts_match(p, resource) for p in self._resource_matchers(context))
        return hit != self.not_resource

    def _resource_matchers(self, context: Context) -> list[tuple[re.Pattern[str], ...]]:
        # Patterns with variables are compiled per request; the rest once, at parse time.
        matchers = list(self.resource_patterns)
        for template in self.resource_templates:
            expanded = expand(template, context)
            if expanded is not None:
                matchers.append(expanded)
        return matchers


def _arn_parts_match(parts: tuple[re.Pattern[str], ...], arn: str) -> bool:
    # Each ARN part is matched on its own, so `*` never crosses a colon into the next
    # part; the pattern's last part takes the rest of the ARN (so `*` alone, or
    # `arn:aws:logs:*`, still covers everything after it, colons included).
    pieces = arn.split(":", len(parts) - 1)
    if len(pieces) != len(parts):
        return False
    return all(p.fullmatch(piece) for p, piece in zip(parts, pieces, strict=True))


def _resource_pattern(resource: str) -> tuple[re.Pattern[str], ...]:
    return tuple(glob_regex(part, ignore_case=False) for part in resource.split(":", 5))


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]


def _malformed(text: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(text)


def _strings(value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _malformed(SYNTAX_TEXT)
    return tuple(items)


def _one_of(raw: Mapping[str, Any], positive: str, negative: str) -> tuple[tuple[str, ...], bool]:
    if positive in raw and negative in raw:
        raise _malformed(SYNTAX_TEXT)
    if positive not in raw and negative not in raw:
        # IAM's console/API wording for a missing element [unverified: recalled].
        raise _malformed(f"Missing required field {positive}")
    negated = negative in raw
    return _strings(raw[negative if negated else positive]), negated


def _action_pattern(action: str) -> re.Pattern[str]:
    if action != "*" and ":" not in action:
        # Ours: IAM rejects an action without a service prefix; its text was not found.
        raise _malformed(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        )
    if action.count(":") > 1:
        # IAM's text (cfn-lint#935, garnaat/kappa#111).
        raise _malformed("Actions/Condition can contain only one colon.")
    if action != "*" and any(c in action.split(":", maxsplit=1)[0] for c in "*?"):
        # IAM's text (boogy/iam-policy-validator#172).
        raise _malformed("Action vendors (e.g., aws, ec2, etc.) must not contain wildcards")
    return glob_regex(action, ignore_case=True)


def _conditions(raw: object) -> tuple[ConditionClause, ...]:
    if not isinstance(raw, dict):
        raise _malformed(SYNTAX_TEXT)
    clauses: list[ConditionClause] = []
    for operator, block in raw.items():
        if not isinstance(block, dict):
            raise _malformed(SYNTAX_TEXT)
        for key, values in block.items():
            clauses.append(compile_clause(operator, key, _condition_values(values)))
    return tuple(clauses)


def _condition_values(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str | bool | int | float) for i in items):
        raise _malformed(SYNTAX_TEXT)
    # JSON true/1 are written as "true"/"1" so every operator compares text.
    return tuple(str(i).lower() if isinstance(i, bool) else str(i) for i in items)


def _statement(raw: object, version: str) -> Statement:
    if not isinstance(raw, dict):
        raise _malformed(SYNTAX_TEXT)
    if "Principal" in raw or "NotPrincipal" in raw:
        raise _malformed(PRINCIPAL_TEXT)
    for field in raw:
        if field not in _STATEMENT_FIELDS:
            raise _malformed(f"Unknown field {field}")  # IAM's wording [unverified]
    if "Effect" not in raw:
        raise _malformed("Missing required field Effect")  # IAM's wording [unverified]
    if raw["Effect"] not in ("Allow", "Deny"):
        raise _malformed(SYNTAX_TEXT)
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _malformed(SYNTAX_TEXT)
    actions, not_action = _one_of(raw, "Action", "NotAction")
    resources, not_resource = _one_of(raw, "Resource", "NotResource")
    variables_on = version == "2012-10-17"
    templates = tuple(r for r in resources if variables_on and has_variables(r))
    return Statement(
        sid=sid,
        effect=Effect(raw["Effect"]),
        actions=actions,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        conditions=_conditions(raw.get("Condition", {})),
        action_patterns=tuple(_action_pattern(a) for a in actions),
        resource_patterns=tuple(_resource_pattern(r) for r in resources if r not in templates),
        resource_templates=templates,
    )


def parse_policy(text: str) -> Policy:
    """Parse and compile an identity policy; raise MalformedPolicyDocument if invalid."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise _malformed(SYNTAX_TEXT) from None
    if not isinstance(raw, dict) or "Statement" not in raw:
        raise _malformed(SYNTAX_TEXT)
    for field in raw:
        if field not in ("Version", "Statement", "Id"):
            raise _malformed(f"Unknown field {field}")  # IAM's wording [unverified]
    version = raw.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise _malformed(SYNTAX_TEXT)
    body = raw["Statement"]
    items = body if isinstance(body, list) else [body]
    return Policy(version=version, statements=tuple(_statement(s, version) for s in items))
