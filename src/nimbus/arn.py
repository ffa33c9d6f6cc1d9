"""Build and parse ARNs, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nimbus.errors import ResourceNotFound

FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
QUALIFIER = re.compile(r"\$LATEST|[a-zA-Z0-9_-]{1,128}")
_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_-]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)
ROLE_ARN = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")


@dataclass(frozen=True)
class FunctionRef:
    """A function reference as a client may give it: name, partial or full ARN."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def parse_function_ref(value: str) -> FunctionRef | None:
    """Parse `name`, `name:qualifier`, `acct:function:name` or a full ARN; None if invalid."""
    if len(value) > 170:
        return None
    match = _FUNCTION_REF.match(value)
    if match is None or len(match["name"]) > 64:
        return None
    if value.startswith("arn:") is False and match["region"]:
        return None
    return FunctionRef(
        name=match["name"],
        qualifier=match["qualifier"],
        region=match["region"],
        account=match["account"],
    )


def resolve_function_ref(value: str, region: str, account: str) -> FunctionRef:
    """Like `parse_function_ref`, raising the AWS error for refs outside this region."""
    ref = parse_function_ref(value)
    if ref is None:
        raise ResourceNotFound(f"Function not found: {function_arn(region, account, value)}")
    if ref.region and ref.region != region:
        raise ResourceNotFound(
            f"Functions from '{ref.region}' are not reachable in this region ('{region}')"
        )
    return ref
