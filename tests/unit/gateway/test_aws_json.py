"""The awsJson protocol: dispatch by X-Amz-Target, decode and validate, errors per model."""

from __future__ import annotations

import json

import botocore.session
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.errors import (
    InvalidParameter,
    NimbusError,
    ResourceNotFound,
    SerializationError,
    UnknownOperation,
    ValidationError,
)
from nimbus.gateway.errors import aws_json_error_response
from nimbus.gateway.protocols.aws_json import AwsJsonProtocol

SESSION = botocore.session.get_session()
LOGS = AwsJsonProtocol(SESSION.get_service_model("logs"))
SQS = AwsJsonProtocol(SESSION.get_service_model("sqs"))


def test_operation_comes_from_the_target_header() -> None:
    op = LOGS.operation({"x-amz-target": "Logs_20140328.FilterLogEvents"})
    assert op.name == "FilterLogEvents"
    assert SQS.operation({"x-amz-target": "AmazonSQS.SendMessage"}).name == "SendMessage"
    for target in ("", "Logs_20140328.", "Logs_20140328.Nope", "AmazonSQS.SendMessage"):
        with pytest.raises(UnknownOperation):
            LOGS.operation({"x-amz-target": target})


def test_parse_decodes_and_validates() -> None:
    op = LOGS.operation({"x-amz-target": "Logs_20140328.FilterLogEvents"})
    body = json.dumps({"logGroupName": "g", "startTime": 5, "limit": 10, "unknown": 1}).encode()
    assert LOGS.parse(op, body) == {"logGroupName": "g", "startTime": 5, "limit": 10}
    with pytest.raises(ValidationError):
        LOGS.parse(op, json.dumps({"logGroupName": "g", "limit": 0}).encode())
    with pytest.raises(SerializationError):
        LOGS.parse(op, b"{not json")
    with pytest.raises(SerializationError):
        LOGS.parse(op, b"[1, 2]")
    with pytest.raises(SerializationError):
        LOGS.parse(op, json.dumps({"logGroupName": "g", "limit": "ten"}).encode())


@given(st.binary(max_size=200))
def test_parse_fails_only_with_client_errors(body: bytes) -> None:
    op = LOGS.operation({"x-amz-target": "Logs_20140328.GetLogEvents"})
    try:
        LOGS.parse(op, body)
    except NimbusError as error:
        assert error.sender_fault and error.status == 400


def test_serialize_writes_the_output_members() -> None:
    op = LOGS.operation({"x-amz-target": "Logs_20140328.DescribeLogGroups"})
    reply = LOGS.serialize(op, {"logGroups": [{"logGroupName": "g", "creationTime": 1}]})
    assert reply.status == 200
    assert ("Content-Type", "application/x-amz-json-1.1") in reply.headers
    assert json.loads(reply.body) == {"logGroups": [{"logGroupName": "g", "creationTime": 1}]}


def test_errors_take_the_modeled_status_and_type() -> None:
    reply = aws_json_error_response(
        ResourceNotFound("The specified log group does not exist."), "rid",
        LOGS.content_type, LOGS.errors,
    )  # fmt: skip
    assert reply.status == 400  # Logs answers 400 where Lambda's REST API answers 404
    body = json.loads(reply.body)
    assert body == {
        "__type": "ResourceNotFoundException",
        "message": "The specified log group does not exist.",
    }
    assert not any(name == "x-amzn-query-error" for name, _ in reply.headers)


def test_query_compatible_errors_carry_the_legacy_code() -> None:
    class NonExistentQueue(InvalidParameter):
        code = "QueueDoesNotExist"
        query_code = "AWS.SimpleQueueService.NonExistentQueue"

    reply = aws_json_error_response(
        NonExistentQueue("The specified queue does not exist."), "rid",
        SQS.content_type, SQS.errors, SQS.query_compatible,
    )  # fmt: skip
    headers = dict(reply.headers)
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
