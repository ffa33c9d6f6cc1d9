"""The REST-JSON adapter against botocore's own client serializer and parser."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nimbus.errors import (
    InvalidRequestContent,
    NimbusError,
    ResourceNotFound,
    ServiceError,
    TooManyRequests,
    UnknownOperation,
    ValidationError,
)
from nimbus.gateway.errors import error_response
from nimbus.gateway.protocols.rest_json import HttpResponse, RestJsonProtocol

LAMBDA = botocore.session.get_session().get_service_model("lambda")
PROTOCOL = RestJsonProtocol(LAMBDA)
ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn:$LATEST"
ROLE = "arn:aws:iam::123456789012:role/lambda-role"
SAMPLE_LABELS = [ARN, "my-fn", "$LATEST", "123456789012:function:my-fn", "7"]


def send(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Serialize like boto3 does, then route and parse like the gateway does."""
    op = LAMBDA.operation_model(operation)
    request = create_serializer("rest-json").serialize_to_request(params, op)
    query = _query_pairs(request["query_string"])
    raw_path = request["url_path"]
    matched, labels = PROTOCOL.match(request["method"], raw_path, query)
    assert matched.name == operation
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return PROTOCOL.parse(matched, labels, query, headers, request["body"])


def _query_pairs(query: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, str(v)) for v in values)
    return pairs


def receive(operation: str, response: HttpResponse, shape: Any = None) -> dict[str, Any]:
    """Parse a response exactly as a boto3 client would."""
    op = LAMBDA.operation_model(operation)
    wire = {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": response.body,
    }
    parsed: dict[str, Any] = create_parser("rest-json").parse(wire, shape or op.output_shape)
    return parsed


def _render(template: str, value: str) -> tuple[str, list[tuple[str, str]]]:
    path, _, query_text = template.partition("?")
    quoted = re.sub(r"\{[^}]+\}", lambda _: _percent(value), path)
    pairs = [tuple(item.partition("=")[::2]) for item in query_text.split("&") if item]
    return quoted, [(k, v) for k, v in pairs]


def _percent(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.~" else f"%{ord(c):02X}" for c in value)


@pytest.mark.parametrize("operation", LAMBDA.operation_names)
@pytest.mark.parametrize("label", SAMPLE_LABELS)
def test_every_operation_routes_to_itself(operation: str, label: str) -> None:
    http = LAMBDA.operation_model(operation).http
    path, query = _render(http["requestUri"], label)
    op, labels = PROTOCOL.match(http["method"], path, query)
    assert op.name == operation
    assert set(labels.values()) <= {label}


def test_query_literals_pick_the_more_specific_operation() -> None:
    assert PROTOCOL.match("GET", "/2018-10-31/layers")[0].name == "ListLayers"
    by_arn = PROTOCOL.match("GET", "/2018-10-31/layers?find=LayerVersion&Arn=x")[0]
    assert by_arn.name == "GetLayerVersionByArn"
    path = "/2019-09-30/functions/f/provisioned-concurrency"
    assert PROTOCOL.match("GET", path)[0].name == "GetProvisionedConcurrencyConfig"
    listed = PROTOCOL.match("GET", path, [("List", "ALL")])[0]
    assert listed.name == "ListProvisionedConcurrencyConfigs"


def test_labels_are_percent_decoded_after_splitting() -> None:
    _, labels = PROTOCOL.match("GET", "/2015-03-31/functions/a%2Fb%3A1")
    assert labels == {"FunctionName": "a/b:1"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/2015-03-31/nothing"),
        ("PATCH", "/2015-03-31/functions/f"),
        ("POST", "/2015-03-31/functions//invocations"),
        ("GET", "/2015-03-31/functions/f/invocations/extra"),
    ],
)
def test_unknown_routes_are_unknown_operations(method: str, path: str) -> None:
    with pytest.raises(UnknownOperation, match=re.escape(f"{method} ")) as info:
        PROTOCOL.match(method, path)
    assert info.value.status == 404


def test_create_function_round_trip() -> None:
    params = {
        "FunctionName": "my-fn",
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": b"PK\x03\x04 zip bytes \xff"},
        "MemorySize": 256,
        "Timeout": 30,
        "Publish": True,
        "Environment": {"Variables": {"STAGE": "test"}},
        "Architectures": ["arm64"],
        "Tags": {"team": "core"},
    }
    assert send("CreateFunction", params) == params


def test_invoke_round_trip_keeps_raw_payload_and_client_context() -> None:
    context = base64.b64encode(b'{"custom":{"a":1}}').decode()
    params = {
        "FunctionName": ARN,
        "InvocationType": "Event",
        "LogType": "Tail",
        "ClientContext": context,
        "Qualifier": "live",
        "Payload": b'{"not": "parsed"',
    }
    assert send("Invoke", params) == params


def test_list_functions_query_is_typed() -> None:
    params = {"MaxItems": 10, "Marker": "abc==", "FunctionVersion": "ALL"}
    parsed = send("ListFunctions", params)
    assert parsed == params
    assert isinstance(parsed["MaxItems"], int)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("PutFunctionConcurrency", {"FunctionName": "f", "ReservedConcurrentExecutions": 0}),
        (
            "UpdateFunctionConfiguration",
            {"FunctionName": ARN, "MemorySize": 1024, "Description": "d", "Layers": []},
        ),
        ("UntagResource", {"Resource": ARN.rsplit(":", 1)[0], "TagKeys": ["a", "b c:d"]}),
        ("GetFunction", {"FunctionName": "123456789012:function:f", "Qualifier": "$LATEST"}),
        ("DeleteFunctionConcurrency", {"FunctionName": "f"}),
    ],
)
def test_round_trips(operation: str, params: dict[str, Any]) -> None:
    assert send(operation, params) == params


def test_query_timestamps_and_booleans_are_typed() -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    params = {
        "FunctionName": "f",
        "StartedAfter": started,
        "ReverseOrder": True,
        "Statuses": ["RUNNING", "FAILED"],
    }
    assert send("ListDurableExecutionsByFunction", params) == params


def test_create_function_response_reads_as_boto3_expects() -> None:
    op = LAMBDA.operation_model("CreateFunction")
    output = {
        "FunctionName": "my-fn",
        "FunctionArn": ARN,
        "MemorySize": 128,
        "LastModified": "2026-01-02T03:04:05.000+0000",
        "Architectures": ["x86_64"],
        "Environment": {"Variables": {"A": "1"}},
        "State": "Pending",
    }
    response = PROTOCOL.serialize(op, output)
    assert response.status == 201
    assert ("Content-Type", "application/json") in response.headers
    parsed = receive("CreateFunction", response)
    assert {k: parsed[k] for k in output} == output


def test_invoke_response_reads_as_boto3_expects() -> None:
    op = LAMBDA.operation_model("Invoke")
    output = {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "LogResult": base64.b64encode(b"START RequestId: x").decode(),
        "ExecutedVersion": "$LATEST",
        "Payload": b'{"errorMessage":"boom"}',
    }
    response = PROTOCOL.serialize(op, output)
    assert response.status == 200
    assert response.body == output["Payload"]
    parsed = receive("Invoke", response)
    for key in ("StatusCode", "FunctionError", "LogResult", "ExecutedVersion"):
        assert parsed[key] == output[key]
    assert parsed["Payload"] == output["Payload"].decode()


@pytest.mark.parametrize(("status", "body"), [(202, b""), (204, b"")])
def test_invoke_status_follows_the_status_code_member(status: int, body: bytes) -> None:
    op = LAMBDA.operation_model("Invoke")
    response = PROTOCOL.serialize(op, {"StatusCode": status})
    assert (response.status, response.body) == (status, body)


def test_empty_responses_use_the_model_status() -> None:
    op = LAMBDA.operation_model("DeleteFunctionConcurrency")
    assert PROTOCOL.serialize(op, {}) == HttpResponse(204, [], b"")
    assert PROTOCOL.serialize(op, {}, status=200).status == 200


def test_serialize_omits_none_and_rejects_unknown_members() -> None:
    op = LAMBDA.operation_model("GetFunctionConcurrency")
    response = PROTOCOL.serialize(op, {"ReservedConcurrentExecutions": None})
    assert json.loads(response.body) == {}
    with pytest.raises(KeyError, match="Nope"):
        PROTOCOL.serialize(op, {"Nope": 1})


def test_error_response_reads_as_boto3_expects() -> None:
    error = TooManyRequests("ReservedFunctionConcurrentInvocationLimitExceeded")
    response = error_response(error, "req-1")
    assert response.status == 429
    # boto3 parses an error twice: generically, then with the modeled error shape.
    parsed = receive("Invoke", response)
    assert parsed["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    modeled = receive("Invoke", response, LAMBDA.shape_for("TooManyRequestsException"))
    assert modeled["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert modeled["Type"] == "User"


def test_service_errors_are_typed_service() -> None:
    response = error_response(ServiceError("broken"), "req-2")
    body = json.loads(response.body)
    assert (response.status, body["Type"], body["message"]) == (500, "Service", "broken")
    parsed = receive("GetFunction", error_response(ResourceNotFound("gone"), "r"))
    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": "gone"}


def _parse_body(operation: str, body: bytes, path_params: dict[str, str]) -> dict[str, Any]:
    return PROTOCOL.parse(LAMBDA.operation_model(operation), path_params, [], {}, body)


@pytest.mark.parametrize(
    "body",
    [b"{", b"[1, 2]", b'"text"', b'{"MemorySize": "big"}', b'{"Layers": "x"}', b"\xff\xfe"],
)
def test_unreadable_bodies_are_invalid_request_content(body: bytes) -> None:
    with pytest.raises(InvalidRequestContent, match=r"^Could not parse request body into json: "):
        _parse_body("UpdateFunctionConfiguration", body, {"FunctionName": "f"})


def test_bad_base64_blob_is_invalid_request_content() -> None:
    body = json.dumps({"ZipFile": "not base64!"}).encode()
    with pytest.raises(InvalidRequestContent, match="zipFile"):
        _parse_body("UpdateFunctionCode", body, {"FunctionName": "f"})


def test_unknown_body_keys_are_ignored_and_empty_body_is_no_members() -> None:
    body = b'{"Description": "d", "FutureField": 1}'
    parsed = _parse_body("UpdateFunctionConfiguration", body, {"FunctionName": "f"})
    assert parsed == {"FunctionName": "f", "Description": "d"}
    assert _parse_body("UpdateFunctionConfiguration", b"", {"FunctionName": "f"}) == {
        "FunctionName": "f"
    }


def test_bad_query_integer_is_rejected() -> None:
    op = LAMBDA.operation_model("ListFunctions")
    with pytest.raises(InvalidRequestContent, match="maxItems"):
        PROTOCOL.parse(op, {}, [("MaxItems", "ten")], {}, b"")


def test_parse_validates_against_the_model() -> None:
    op = LAMBDA.operation_model("ListFunctions")
    with pytest.raises(ValidationError) as info:
        PROTOCOL.parse(op, {}, [("MaxItems", "0")], {}, b"")
    assert str(info.value) == (
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )


def test_unchecked_enums_are_left_to_the_service() -> None:
    body = json.dumps({"Runtime": "PYTHON3.9"}).encode()
    op = LAMBDA.operation_model("UpdateFunctionConfiguration")
    with pytest.raises(ValidationError, match="at 'runtime'"):
        PROTOCOL.parse(op, {"FunctionName": "f"}, [], {}, body)
    lenient = RestJsonProtocol(LAMBDA, unchecked_enums=["Runtime"])
    assert lenient.parse(op, {"FunctionName": "f"}, [], {}, body)["Runtime"] == "PYTHON3.9"


_text = st.text(max_size=40)
_path = st.lists(st.sampled_from(["2015-03-31", "functions", "f", "%3A", "%", "", "$LATEST"]))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "x"]),
    segments=st.one_of(_path, st.lists(_text, max_size=6)),
    query=st.lists(st.tuples(st.sampled_from(["Qualifier", "MaxItems", "List", "x"]), _text)),
)
def test_match_raises_only_nimbus_errors(
    method: str, segments: list[str], query: list[tuple[str, str]]
) -> None:
    raw_path = "/" + "/".join(segments) + ("?" + urlencode(query) if query else "")
    with contextlib.suppress(NimbusError):
        PROTOCOL.match(method, raw_path, query)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=10,
)
_member_names = st.sampled_from(
    ["FunctionName", "MemorySize", "Code", "Environment", "Layers", "Timeout", "Tags", "x"]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    operation=st.sampled_from(LAMBDA.operation_names),
    labels=st.dictionaries(st.sampled_from(["FunctionName", "Name", "UUID", "x"]), _text),
    query=st.lists(st.tuples(st.sampled_from(["Qualifier", "MaxItems", "tagKeys", "x"]), _text)),
    headers=st.dictionaries(st.sampled_from(["x-amz-log-type", "x-amz-client-context"]), _text),
    body=st.one_of(
        st.binary(max_size=60),
        st.dictionaries(_member_names, _json_values).map(lambda d: json.dumps(d).encode()),
    ),
)
def test_parse_raises_only_nimbus_errors(
    operation: str,
    labels: dict[str, str],
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> None:
    op = LAMBDA.operation_model(operation)
    with contextlib.suppress(NimbusError):
        assert isinstance(PROTOCOL.parse(op, labels, query, headers, body), dict)


def test_header_members_are_validated() -> None:
    op = LAMBDA.operation_model("Invoke")
    headers = {"x-amz-invocation-type": "Later"}
    with pytest.raises(ValidationError) as info:
        PROTOCOL.parse(op, {"FunctionName": "f"}, [], headers, b"")
    assert str(info.value) == (
        "1 validation error detected: Value 'Later' at 'invocationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
    )
