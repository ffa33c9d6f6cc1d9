"""The identity-policy decision (aws-semantics §5.2): explicit Deny, then Allow, else deny.

Policies come in compiled (`nimbus.iam.policy.parse_policy`); one compile serves any
number of requests. The decision names the statement that decided, so an
AccessDenied message can say why.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nimbus.iam.conditions import ContextValue
from nimbus.iam.policy import Effect, Policy, Statement


class Outcome(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"


@dataclass(frozen=True)
class Principal:
    arn: str
    username: str | None = None
    is_root: bool = False


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def lowered_context(self) -> dict[str, ContextValue]:
        """Context keys are case-insensitive; the principal's own keys are filled in."""
        merged: dict[str, ContextValue] = {"aws:principalarn": self.principal.arn}
        if self.principal.username is not None:
            merged["aws:username"] = self.principal.username
        merged.update({k.lower(): v for k, v in self.context.items()})
        return merged


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    statement: Statement | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


def _applies(statement: Statement, request: Request, context: Mapping[str, ContextValue]) -> bool:
    return (
        statement.matches_action(request.action)
        and statement.matches_resource(request.resource, context)
        and all(clause.matches(context) for clause in statement.conditions)
    )


def evaluate(policies: Iterable[Policy], request: Request) -> Decision:
    if request.principal.is_root:
        return Decision(Outcome.ALLOW)
    context = request.lowered_context()
    allow: Statement | None = None
    for policy in policies:
        for statement in policy.statements:
            if not _applies(statement, request, context):
                continue
            if statement.effect is Effect.DENY:
                return Decision(Outcome.EXPLICIT_DENY, statement)
            allow = allow or statement
    if allow is not None:
        return Decision(Outcome.ALLOW, allow)
    return Decision(Outcome.IMPLICIT_DENY)
