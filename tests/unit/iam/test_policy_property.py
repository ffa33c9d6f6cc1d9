"""The compiled evaluator agrees with the plain reference of §5.2 on generated policies."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_reference import decide

from nimbus.iam.evaluator import Principal, Request, evaluate
from nimbus.iam.policy import parse_policy

ACTIONS = ["s3:GetObject", "s3:PutObject", "sqs:SendMessage", "lambda:InvokeFunction"]
ACTION_PATTERNS = [*ACTIONS, "s3:*", "*", "S3:get?bject", "lambda:Invoke*", "SQS:sendmessage"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::b", "arn:aws:sqs:us-east-1:1:Orders"]
RESOURCE_PATTERNS = [*RESOURCES, "*", "arn:aws:s3:::b/*", "arn:aws:s3:::?", "arn:aws:sqs:*:orders"]
USERS = ["alice", "Alice", "bob"]
TAGS = ["red", "blue", "green"]

conditions = st.one_of(
    st.tuples(
        st.sampled_from(
            [
                "StringEquals",
                "StringNotEquals",
                "StringEqualsIgnoreCase",
                "StringLike",
                "StringNotLike",
                "StringEqualsIfExists",
                "StringNotEqualsIfExists",
            ]
        ),
        st.just("aws:username"),
        st.lists(st.sampled_from([*USERS, "a*", "?ob"]), min_size=1, max_size=2),
    ),
    st.tuples(
        st.sampled_from(
            [
                "ForAnyValue:StringEquals",
                "ForAllValues:StringEquals",
                "ForAnyValue:StringNotEquals",
                "ForAllValues:StringLike",
            ]
        ),
        st.just("k:Tags"),
        st.lists(st.sampled_from([*TAGS, "*"]), min_size=1, max_size=2),
    ),
    st.tuples(
        st.sampled_from(["NumericLessThan", "NumericLessThanIfExists"]),
        st.just("k:count"),
        st.sampled_from(["1", "5"]),
    ),
    st.tuples(st.just("Bool"), st.just("aws:SecureTransport"), st.sampled_from([True, "false"])),
    st.tuples(
        st.just("Null"),
        st.sampled_from(["k:Tags", "aws:username"]),
        st.sampled_from(["true", "false"]),
    ),
)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    action_key = draw(st.sampled_from(["Action", "NotAction"]))
    stmt[action_key] = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2))
    resource_key = draw(st.sampled_from(["Resource", "NotResource"]))
    stmt[resource_key] = draw(st.sampled_from(RESOURCE_PATTERNS))
    condition: dict[str, dict[str, Any]] = {}
    for op, key, values in draw(st.lists(conditions, max_size=2)):
        condition.setdefault(op, {})[key] = values
    if condition:
        stmt["Condition"] = condition
    return stmt


policies = st.lists(
    st.lists(statements(), min_size=1, max_size=3).map(
        lambda s: {"Version": "2012-10-17", "Statement": s}
    ),
    max_size=3,
)


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    if draw(st.booleans()):
        ctx["aws:username"] = draw(st.sampled_from(USERS))
    if draw(st.booleans()):
        ctx["k:tags"] = draw(st.lists(st.sampled_from(TAGS), max_size=3))
    if draw(st.booleans()):
        ctx["K:Count"] = draw(st.sampled_from(["0", "3", "9"]))
    if draw(st.booleans()):
        ctx["aws:SecureTransport"] = draw(st.sampled_from(["true", "false"]))
    return ctx


@settings(max_examples=400, deadline=None)
@given(
    docs=policies,
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from([*RESOURCES, "arn:aws:sqs:us-east-1:1:orders"]),
    ctx=contexts(),
)
def test_compiled_evaluator_agrees_with_reference(
    docs: list[dict[str, Any]], action: str, resource: str, ctx: dict[str, Any]
) -> None:
    compiled = [parse_policy(json.dumps(d)) for d in docs]
    # The principal adds no keys the reference lacks: no username, and PrincipalArn unused.
    request = Request(Principal("arn:aws:iam::1:user/x"), action, resource, ctx)
    assert evaluate(compiled, request).outcome.value == decide(docs, action, resource, ctx)
