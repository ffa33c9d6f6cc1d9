"""The Lambda API through boto3 against a real server process, as users drive it."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
import zipfile
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from nimbus.packaging import build_package

ROLE = "arn:aws:iam::000000000000:role/test"
HELLO = "def handler(event, context):\n    print('got', event)\n    return {'echo': event}\n"


def create(client: Any, name: str, source: str = HELLO, **extra: Any) -> dict[str, Any]:
    params = {
        "FunctionName": name,
        "Runtime": "python3.11",
        "Role": ROLE,
        "Handler": "lambda_function.handler",
        "Code": {"ZipFile": build_package({"lambda_function.py": source})},
    }
    params.update(extra)
    return client.create_function(**params)  # type: ignore[no-any-return]


def invoke(client: Any, **params: Any) -> dict[str, Any]:
    """Invoke and read the streamed payload, so the connection goes back to the pool."""
    reply: dict[str, Any] = client.invoke(**params)
    reply["Body"] = reply["Payload"].read()
    return reply


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def lam(nimbus_server: Any) -> Any:
    return nimbus_server.client("lambda")


def test_lifecycle(lam: Any) -> None:
    created = create(lam, "life", MemorySize=256, Timeout=5, Environment={"Variables": {"AB": "1"}})
    assert created["State"] == "Active"
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:life"
    assert created["Version"] == "$LATEST" and created["MemorySize"] == 256
    lam.get_waiter("function_active_v2").wait(FunctionName="life")
    got = lam.get_function(FunctionName="life")
    with urllib.request.urlopen(got["Code"]["Location"]) as download:
        package = download.read()
    assert (
        base64.b64encode(__import__("hashlib").sha256(package).digest()).decode()
        == (got["Configuration"]["CodeSha256"])
    )
    assert zipfile.ZipFile(io.BytesIO(package)).namelist() == ["lambda_function.py"]
    updated = lam.update_function_configuration(FunctionName="life", Timeout=9, Description="d")
    assert updated["Timeout"] == 9 and updated["RevisionId"] != created["RevisionId"]
    new_code = build_package({"lambda_function.py": "def handler(e, c):\n    return 'v2'\n"})
    lam.update_function_code(FunctionName="life", ZipFile=new_code)
    assert json.load(lam.invoke(FunctionName="life")["Payload"]) == "v2"
    lam.delete_function(FunctionName="life")
    error = error_of(lam.get_function, FunctionName="life")
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["Error"]["Message"] == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:life"
    )
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_functions_paginates(lam: Any) -> None:
    for index in range(5):
        create(lam, f"page-{index}")
    pages = lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
    names = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert [n for n in names if n.startswith("page-")] == [f"page-{i}" for i in range(5)]


def test_invoke_types_and_log_tail(lam: Any) -> None:
    create(lam, "kinds")
    reply = lam.invoke(FunctionName="kinds", Payload=b'{"x": 1}', LogType="Tail")
    assert reply["StatusCode"] == 200 and reply["ExecutedVersion"] == "$LATEST"
    assert json.load(reply["Payload"]) == {"echo": {"x": 1}}
    log = base64.b64decode(reply["LogResult"]).decode()
    request_id = reply["ResponseMetadata"]["RequestId"]
    assert log.startswith(f"START RequestId: {request_id} Version: $LATEST")
    assert "got {'x': 1}" in log and f"REPORT RequestId: {request_id}\tDuration: " in log
    assert invoke(lam, FunctionName="kinds", InvocationType="Event")["StatusCode"] == 202
    assert invoke(lam, FunctionName="kinds", InvocationType="DryRun")["StatusCode"] == 204


def test_function_error_is_200_unhandled(lam: Any) -> None:
    create(lam, "raiser", "def handler(e, c):\n    raise ValueError('nope')\n")
    reply = lam.invoke(FunctionName="raiser")
    assert reply["StatusCode"] == 200 and reply["FunctionError"] == "Unhandled"
    body = json.load(reply["Payload"])
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "nope"


def test_publish_and_qualified_invoke(lam: Any) -> None:
    created = create(lam, "versioned", Publish=True)
    assert created["Version"] == "1"
    assert created["FunctionArn"].endswith(":versioned:1")
    reply = invoke(lam, FunctionName="versioned", Qualifier="1")
    assert reply["ExecutedVersion"] == "1"
    error = error_of(lam.invoke, FunctionName="versioned", Qualifier="7")
    assert error["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ({"MemorySize": 10241}, "ValidationException", "Member must have value less than or equal to 10240"),
        ({"Timeout": 901}, "ValidationException", "Member must have value less than or equal to 900"),
        ({"Role": "not-a-role"}, "ValidationException", "at 'role' failed to satisfy constraint"),
        ({"Runtime": "python3.7"}, "InvalidParameterValueException", "The runtime parameter of python3.7 is no longer supported"),
        ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "InvalidParameterValueException", "exceeded the 4KB limit"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException", "Reserved keys used in this request: AWS_REGION"),
        ({"Code": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException", "Could not unzip uploaded file"),
        ({"Architectures": ["x86_64", "arm64"]}, "ValidationException", "Member must have length less than or equal to 1"),
    ],
)  # fmt: skip
def test_create_rejects_bad_input(lam: Any, extra: dict[str, Any], code: str, message: str) -> None:
    error = error_of(create, lam, "bad-input", **extra)
    assert error["Error"]["Code"] == code
    assert message in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_duplicate_create_conflicts(lam: Any) -> None:
    create(lam, "twice")
    error = error_of(create, lam, "twice")
    assert error["Error"]["Code"] == "ResourceConflictException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_invoke_payload_errors(lam: Any) -> None:
    create(lam, "payloads")
    error = error_of(lam.invoke, FunctionName="payloads", Payload=b"{not json")
    assert error["Error"]["Code"] == "InvalidRequestContentException"
    assert error["Error"]["Message"].startswith("Could not parse request body into json")
    error = error_of(lam.invoke, FunctionName="payloads", Payload=b'"' + b"x" * 6_291_460 + b'"')
    assert error["Error"]["Code"] == "RequestTooLargeException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_concurrency_and_account_settings(lam: Any) -> None:
    create(lam, "reserved")
    assert (
        lam.get_function_concurrency(FunctionName="reserved").get("ReservedConcurrentExecutions")
        is None
    )
    lam.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=10)
    assert (
        lam.get_function_concurrency(FunctionName="reserved")["ReservedConcurrentExecutions"] == 10
    )
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 990
    error = error_of(
        lam.put_function_concurrency, FunctionName="reserved", ReservedConcurrentExecutions=950
    )
    assert "below its minimum value of [100]" in error["Error"]["Message"]
    lam.put_function_concurrency(FunctionName="reserved", ReservedConcurrentExecutions=0)
    error = error_of(lam.invoke, FunctionName="reserved")
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName="reserved")
    assert invoke(lam, FunctionName="reserved")["StatusCode"] == 200


def signed_as(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip


def test_wrong_secret_is_refused(nimbus_server: Any) -> None:
    bad = signed_as(nimbus_server.endpoint, "test", "wrong")
    error = error_of(bad.list_functions)
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = signed_as(nimbus_server.endpoint, "AKIDUNKNOWN", "test")
    assert error_of(unknown.list_functions)["Error"]["Code"] == "UnrecognizedClientException"


def test_unsigned_request_is_refused(nimbus_server: Any) -> None:
    request = urllib.request.Request(f"{nimbus_server.endpoint}/2015-03-31/functions/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    with refused.value as response:
        assert response.code == 403
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
