"""Input validation against model constraints, with AWS's message format."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from nimbus.errors import ValidationError
from nimbus.gateway.protocols.validation import ShapeValidator, compile_java_pattern

LAMBDA = botocore.session.get_session().get_service_model("lambda")
ROLE = "arn:aws:iam::123456789012:role/lambda-role"
CREATE = LAMBDA.operation_model("CreateFunction").input_shape
UPDATE = LAMBDA.operation_model("UpdateFunctionConfiguration").input_shape


def message(shape: Any, params: dict[str, Any], validator: ShapeValidator | None = None) -> str:
    with pytest.raises(ValidationError) as info:
        (validator or ShapeValidator()).validate(shape, params)
    assert info.value.status == 400
    assert info.value.code == "ValidationException"
    return str(info.value)


def one(path: str, shown: str, constraint: str) -> str:
    return (
        f"1 validation error detected: {shown} at '{path}' failed to satisfy constraint: "
        f"{constraint}"
    )


def test_valid_input_passes() -> None:
    params = {"FunctionName": "f", "Role": ROLE, "Code": {"ZipFile": b"zip"}, "MemorySize": 128}
    ShapeValidator().validate(CREATE, params)


def test_required_members() -> None:
    got = message(CREATE, {"FunctionName": "f", "Code": {}})
    assert got == one("role", "Value null", "Member must not be null")


def test_max_value() -> None:
    got = message(UPDATE, {"FunctionName": "f", "MemorySize": 32769})
    assert got == one(
        "memorySize", "Value '32769'", "Member must have value less than or equal to 32768"
    )


def test_min_value() -> None:
    got = message(UPDATE, {"FunctionName": "f", "MemorySize": 127})
    assert got == one(
        "memorySize", "Value '127'", "Member must have value greater than or equal to 128"
    )


def test_max_and_min_length() -> None:
    long_description = "d" * 257
    got = message(UPDATE, {"FunctionName": "f", "Description": long_description})
    assert got == one(
        "description",
        f"Value '{long_description}'",
        "Member must have length less than or equal to 256",
    )
    got = message(UPDATE, {"FunctionName": ""})
    assert "Member must have length greater than or equal to 1" in got


def test_enum() -> None:
    params = {"FunctionName": "f", "Role": ROLE, "Code": {}, "PackageType": "Tarball"}
    got = message(CREATE, params)
    assert got == one(
        "packageType", "Value 'Tarball'", "Member must satisfy enum value set: [Zip, Image]"
    )


def test_unchecked_enum_is_skipped() -> None:
    ShapeValidator(unchecked_enums=["Runtime"]).validate(
        UPDATE, {"FunctionName": "f", "Runtime": "PYTHON3.9"}
    )


def test_pattern() -> None:
    got = message(CREATE, {"FunctionName": "f", "Role": "not-a-role", "Code": {}})
    pattern = LAMBDA.shape_for("RoleArn").metadata["pattern"]
    assert got == one(
        "role", "Value 'not-a-role'", f"Member must satisfy regular expression pattern: {pattern}"
    )


def test_list_length_and_item_paths() -> None:
    got = message(UPDATE, {"FunctionName": "f", "Layers": ["!", "!"]})
    assert got.startswith("2 validation errors detected: Value '!' at 'layers.1.member' ")
    assert "; Value '!' at 'layers.2.member' " in got
    create = {"FunctionName": "f", "Role": ROLE, "Code": {}, "Architectures": ["x86_64", "arm64"]}
    assert message(CREATE, create) == one(
        "architectures",
        "Value '[x86_64, arm64]'",
        "Member must have length less than or equal to 1",
    )
    got = message(CREATE, {**create, "Architectures": ["sparc"]})
    assert got.startswith("1 validation error detected: Value 'sparc' at 'architectures.1.member'")


def test_sensitive_values_are_not_echoed_and_map_keys_are_checked() -> None:
    params = {"FunctionName": "f", "Environment": {"Variables": {"1BAD": "secret"}}}
    got = message(UPDATE, params)
    assert got.startswith(
        "1 validation error detected: Value at 'environment.variables' failed to satisfy "
        "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
        "pattern: "
    )
    assert "secret" not in got


def test_several_errors_are_counted_and_joined() -> None:
    got = message(UPDATE, {"FunctionName": "f", "MemorySize": 1, "Timeout": 0})
    assert got.startswith("2 validation errors detected: ")
    assert got.count("; ") == 1
    assert "at 'memorySize'" in got
    assert "at 'timeout'" in got


def test_unknown_members_are_ignored() -> None:
    ShapeValidator().validate(UPDATE, {"FunctionName": "f", "FutureMember": object()})


@pytest.mark.parametrize(
    ("java", "matches", "rejects"),
    [
        (r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)", "héllo wörld_1", "a,b"),
        (r"[a-zA-Z0-9-_]+", "my-fn_1", "my fn"),
        (r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+", "$LATEST.PUBLISHED", "$LATEST:x"),
    ],
)
def test_java_patterns_translate(java: str, matches: str, rejects: str) -> None:
    pattern = compile_java_pattern(java)
    assert pattern is not None
    assert pattern.fullmatch(matches)
    assert not pattern.fullmatch(rejects)


@pytest.mark.parametrize("java", [r"\p{IsAlphabetic}+", r"[a-z&&[^b]]", r"(unclosed", r"\P{L}"])
def test_untranslatable_patterns_are_skipped(java: str) -> None:
    assert compile_java_pattern(java) is None


def test_every_lambda_pattern_is_compiled_or_skipped() -> None:
    validator = ShapeValidator()
    for name in LAMBDA.shape_names:
        validator.rules(LAMBDA.shape_for(name))  # must not raise for any model pattern
