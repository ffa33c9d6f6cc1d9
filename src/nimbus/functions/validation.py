"""Checks of function configuration that the Lambda service (not its model) enforces."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from nimbus.arn import FUNCTION_NAME, ROLE_ARN
from nimbus.errors import InvalidParameterValue, ValidationError
from nimbus.sandbox.spec import Isolation

ENV_NAME = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
RESERVED_ENV = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip
RANGES = {
    "memorySize": (128, 10240),
    "timeout": (1, 900),
    "ephemeralStorage.size": (512, 10240),
}


def validation_error(value: Any, member: str, constraint: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def check_range(member: str, value: int | None) -> None:
    if value is None:
        return
    low, high = RANGES[member]
    if value < low:
        raise validation_error(
            value, member, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise validation_error(
            value, member, f"Member must have value less than or equal to {high}"
        )


def check_name(name: str) -> None:
    if not FUNCTION_NAME.fullmatch(name):
        raise validation_error(
            name,
            "functionName",
            "Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
            r"(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
        )


def check_role(role: str | None) -> None:
    if role is not None and not ROLE_ARN.match(role):
        raise validation_error(
            role,
            "role",
            r"Member must satisfy regular expression pattern: "
            r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        )


def check_environment(variables: Mapping[str, str] | None, limit: int) -> None:
    if not variables:
        return
    reserved = sorted(name for name in variables if name in RESERVED_ENV)
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    for name in variables:
        if not ENV_NAME.fullmatch(name):
            raise InvalidParameterValue(
                "Lambda was unable to configure your environment variables because the "
                "environment variables you have provided contains invalid keys. Invalid keys "
                f"used in this request: {name}"
            )
    measured = json.dumps(dict(variables), separators=(",", ":"))
    if len(measured.encode()) > limit:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )
    isolation = variables.get("NIMBUS_ISOLATION")
    if isolation is not None:
        check_isolation(isolation)


def check_isolation(value: str) -> None:
    allowed = [mode.value for mode in Isolation]
    if value not in allowed:
        raise InvalidParameterValue(
            f"NIMBUS_ISOLATION must be one of {', '.join(allowed)}; got '{value}'."
        )


def check_architectures(architectures: list[str] | None) -> None:
    if architectures is None:
        return
    if len(architectures) != 1:
        raise validation_error(
            architectures, "architectures", "Member must have length less than or equal to 1"
        )
