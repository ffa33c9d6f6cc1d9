"""Policy parsing, validation texts and the §5.2 test matrix."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nimbus.errors import MalformedPolicyDocument
from nimbus.iam.evaluator import Outcome, Principal, Request, evaluate
from nimbus.iam.policy import Effect, parse_policy

USER = Principal("arn:aws:iam::123456789012:user/alice", username="alice")


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    policies: list[str], action: str, resource: str, context: dict[str, Any] | None = None
) -> Outcome:
    compiled = [parse_policy(p) for p in policies]
    return evaluate(compiled, Request(USER, action, resource, context or {})).outcome


def test_statement_object_or_list_and_fields() -> None:
    one = parse_policy(json.dumps({"Version": "2008-10-17", "Statement": allow(["s3:*"])}))
    assert one.version == "2008-10-17"
    (stmt,) = one.statements
    assert stmt.effect is Effect.ALLOW and stmt.actions == ("s3:*",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "Syntax errors in policy."),
        ('["x"]', "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17"}), "Syntax errors in policy."),
        (json.dumps({"Version": "2020-01-01", "Statement": allow()}), "Syntax errors in policy."),
        (doc({**allow(), "Principal": "*"}), "Policy document should not specify a principal."),
        (doc({**allow(), "NotPrincipal": "*"}), "Policy document should not specify a principal."),
        (doc({"Action": "*", "Resource": "*"}), "Missing required field Effect"),
        (doc({**allow(), "Colour": "red"}), "Unknown field Colour"),
        (json.dumps({"Statement": allow(), "Extra": 1}), "Unknown field Extra"),
        (doc({**allow(), "Effect": "allow"}), "Syntax errors in policy."),
        (doc({"Effect": "Allow", "Resource": "*"}), "Missing required field Action"),
        (doc({"Effect": "Allow", "Action": "*"}), "Missing required field Resource"),
        (doc({**allow(), "NotAction": "s3:*"}), "Syntax errors in policy."),
        (doc({**allow(), "NotResource": "*"}), "Syntax errors in policy."),
        (doc(allow(action=[])), "Syntax errors in policy."),
        (doc(allow(action=3)), "Syntax errors in policy."),
        (
            doc(allow(action="GetObject")),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (doc(allow(action="s3:s3:GetObject")), "Actions/Condition can contain only one colon."),
        (
            doc(allow(action="*:Get*")),
            "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards",
        ),
        (
            doc(allow(Condition={"StringSorta": {"a:b": "c"}})),
            "Invalid Condition type : StringSorta",
        ),
        (
            doc(allow(Condition={"NullIfExists": {"a:b": "true"}})),
            "Invalid Condition type : NullIfExists",
        ),
        (doc(allow(Condition={"StringEquals": "x"})), "Syntax errors in policy."),
    ],
)
def test_invalid_documents_name_the_fault(text: str, message: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as caught:
        parse_policy(text)
    assert caught.value.message == message
    assert (caught.value.code, caught.value.status) == ("MalformedPolicyDocument", 400)


OBJ = "arn:aws:s3:::b/k"


@pytest.mark.parametrize(
    ("policies", "action", "resource", "context", "expected"),
    [
        ([], "s3:GetObject", OBJ, {}, Outcome.IMPLICIT_DENY),
        ([doc(allow())], "s3:GetObject", OBJ, {}, Outcome.ALLOW),
        (
            [doc(allow("s3:*"), deny("s3:DeleteObject", "arn:aws:s3:::b/*"))],
            "s3:DeleteObject",
            OBJ,
            {},
            Outcome.EXPLICIT_DENY,
        ),
        (
            [doc(allow("s3:*")), doc(deny("s3:DeleteObject", "arn:aws:s3:::b/*"))],
            "s3:GetObject",
            OBJ,
            {},
            Outcome.ALLOW,
        ),
        ([doc(allow("s3:*", "arn:aws:s3:::b"))], "s3:GetObject", OBJ, {}, Outcome.IMPLICIT_DENY),
        (
            [doc(allow(Condition={"StringEquals": {"aws:username": "bob"}}))],
            "s3:GetObject",
            OBJ,
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [doc(allow(Condition={"StringEquals": {"s3:prefix": "a"}}))],
            "s3:GetObject",
            OBJ,
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [doc(allow(Condition={"StringEqualsIfExists": {"s3:prefix": "a"}}))],
            "s3:GetObject",
            OBJ,
            {},
            Outcome.ALLOW,
        ),
        (
            [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:123456789012:q",
            {},
            Outcome.ALLOW,
        ),
        (
            [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
            "iam:CreateUser",
            "arn:aws:iam::123456789012:user/x",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [doc(allow("Lambda:invokefunction"))],
            "lambda:InvokeFunction",
            "arn:aws:lambda:us-east-1:1:function:f",
            {},
            Outcome.ALLOW,
        ),
        (
            [doc(allow("sqs:*", "arn:aws:sqs:*:123456789012:Orders"))],
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:123456789012:orders",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        ([doc(allow("s3:Get?bject"))], "s3:GetObject", OBJ, {}, Outcome.ALLOW),
        ([doc(allow("s3:Get?bject"))], "s3:GetObjectAcl", OBJ, {}, Outcome.IMPLICIT_DENY),
        (
            [doc(allow("s3:*", "arn:aws:s3:::b/*/test/*"))],
            "s3:GetObject",
            "arn:aws:s3:::b/x/y/test/z",
            {},
            Outcome.ALLOW,
        ),
        (
            [doc(allow("s3:*", "arn:aws:s3:::?"))],
            "s3:ListBucket",
            "arn:aws:s3:::b",
            {},
            Outcome.ALLOW,
        ),
        (
            [doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/*"})],
            "s3:GetObject",
            OBJ,
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [doc(allow("sqs:*", "arn:aws:sqs:*:orders"))],
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:1:orders",
            {},
            Outcome.IMPLICIT_DENY,
        ),
        (
            [doc(allow("sqs:*", "arn:aws:sqs:*:*:orders"))],
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:1:orders",
            {},
            Outcome.ALLOW,
        ),
        (
            [doc(allow("logs:*", "arn:aws:logs:*"))],
            "logs:PutLogEvents",
            "arn:aws:logs:us-east-1:1:log-group:g:*",
            {},
            Outcome.ALLOW,
        ),
    ],
)
def test_decision_matrix(
    policies: list[str], action: str, resource: str, context: dict[str, Any], expected: Outcome
) -> None:
    assert decide(policies, action, resource, context) is expected


def test_username_comes_from_the_principal_and_decision_names_the_statement() -> None:
    policy = parse_policy(
        doc({**allow(Condition={"StringEquals": {"AWS:UserName": "alice"}}), "Sid": "Mine"})
    )
    decision = evaluate([policy], Request(USER, "s3:GetObject", OBJ))
    assert decision.allowed and decision.statement is not None
    assert decision.statement.sid == "Mine"


def test_deny_names_the_denying_statement_and_root_is_always_allowed() -> None:
    policy = parse_policy(doc(allow(), {**deny(), "Sid": "No"}))
    denied = evaluate([policy], Request(USER, "s3:GetObject", OBJ))
    assert denied.outcome is Outcome.EXPLICIT_DENY and denied.statement is policy.statements[1]
    root = Principal("arn:aws:iam::123456789012:root", is_root=True)
    assert evaluate([policy], Request(root, "s3:GetObject", OBJ)).allowed


def test_compiled_policy_is_reusable_across_requests() -> None:
    policy = parse_policy(doc(allow("s3:GetObject", "arn:aws:s3:::b/*")))
    outcomes = [
        evaluate([policy], Request(USER, "s3:GetObject", f"arn:aws:s3:::{bucket}/k")).outcome
        for bucket in ("b", "c", "b")
    ]
    assert outcomes == [Outcome.ALLOW, Outcome.IMPLICIT_DENY, Outcome.ALLOW]


HOME = "arn:aws:s3:::b/home/${aws:username}/*"


@pytest.mark.parametrize(
    ("version", "resource", "username", "expected"),
    [
        ("2012-10-17", "arn:aws:s3:::b/home/alice/f", "alice", Outcome.ALLOW),
        ("2012-10-17", "arn:aws:s3:::b/home/bob/f", "alice", Outcome.IMPLICIT_DENY),
        ("2012-10-17", "arn:aws:s3:::b/home/alice/f", None, Outcome.IMPLICIT_DENY),
        # The value is literal: a username of `*` is not a wildcard.
        ("2012-10-17", "arn:aws:s3:::b/home/alice/f", "*", Outcome.IMPLICIT_DENY),
        ("2012-10-17", "arn:aws:s3:::b/home/*/f", "*", Outcome.ALLOW),
        # Before 2012-10-17 `${...}` is plain text.
        ("2008-10-17", "arn:aws:s3:::b/home/alice/f", "alice", Outcome.IMPLICIT_DENY),
        ("2008-10-17", "arn:aws:s3:::b/home/${aws:username}/f", "alice", Outcome.ALLOW),
    ],
)
def test_policy_variables_in_resource(
    version: str, resource: str, username: str | None, expected: Outcome
) -> None:
    text = json.dumps({"Version": version, "Statement": allow("s3:*", HOME)})
    principal = Principal("arn:aws:iam::123456789012:user/u", username=username)
    decision = evaluate([parse_policy(text)], Request(principal, "s3:GetObject", resource))
    assert decision.outcome is expected


def test_literal_escapes_in_variables() -> None:
    policy = parse_policy(doc(allow("s3:*", "arn:aws:s3:::b/${*}${?}${$}")))
    request = Request(USER, "s3:GetObject", "arn:aws:s3:::b/*?$")
    assert evaluate([policy], request).allowed
    other = Request(USER, "s3:GetObject", "arn:aws:s3:::b/xy$")
    assert not evaluate([policy], other).allowed
