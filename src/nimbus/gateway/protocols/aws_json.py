"""The awsJson 1.0/1.1 protocols (CloudWatch Logs, SQS), driven by a botocore service model.

Every request is ``POST /`` with the operation in ``X-Amz-Target: <targetPrefix>.<Operation>``
and the input as one JSON object whose keys are the model's member names; the response is a
JSON object the same way. Handlers see the same plain dicts as with REST-JSON (blobs as
bytes, timestamps as datetimes), validated against the model's constraints.

Errors are written by `nimbus.gateway.errors.aws_json_error_response`, with the HTTP status
and (for ``awsQueryCompatible`` services like SQS) the query error code the model records
for each error shape, which `modeled_errors` reads once here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.errors import SerializationError, UnknownOperation
from nimbus.gateway.protocols.rest_json import HttpResponse
from nimbus.gateway.protocols.rest_routing import OperationModel
from nimbus.gateway.protocols.validation import ShapeValidator
from nimbus.gateway.protocols.wire_values import WireFormatError, decode_json, encode_structure


@dataclass(frozen=True)
class ModeledError:
    """What the service model says about one error shape."""

    status: int | None  # None when the model does not say
    query_code: str | None = None  # awsQueryCompatible: the code boto3 reads from a header
    sender_fault: bool = True


class AwsJsonProtocol:
    """Dispatch, parse, validate and serialize one awsJson service's messages."""

    def __init__(
        self,
        service_model: Any,
        *,
        unchecked_enums: Sequence[str] = (),
        client_error_status: int | None = 400,
    ) -> None:
        """`client_error_status`: the status of every client error the model gives none
        (most awsJson services answer 400); None keeps each error class's own status
        (SQS, whose errors carry their query-era statuses)."""
        metadata = service_model.metadata
        self.client_error_status = client_error_status
        self.service_model = service_model
        self.content_type = f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}"
        self.query_compatible = "awsQueryCompatible" in metadata
        self._target_prefix = metadata["targetPrefix"] + "."
        self._operations = {
            name: service_model.operation_model(name) for name in service_model.operation_names
        }
        self._validator = ShapeValidator(unchecked_enums)
        self.errors = modeled_errors(service_model)

    def operation(self, headers: Mapping[str, str]) -> OperationModel:
        """The operation named by ``X-Amz-Target`` (`headers` keys are lower-case)."""
        target = headers.get("x-amz-target", "")
        name = (
            target.removeprefix(self._target_prefix)
            if target.startswith(self._target_prefix)
            else ""
        )
        operation = self._operations.get(name)
        if operation is None:
            raise UnknownOperation(f"Unknown operation {target or '(no X-Amz-Target)'}")
        return operation

    def parse(self, operation: OperationModel, body: bytes) -> dict[str, Any]:
        """The operation's input members, decoded and validated."""
        shape = operation.input_shape
        if shape is None:
            return {}
        document = _load_object(body)
        try:
            params: dict[str, Any] = decode_json(shape, document, "")
        except WireFormatError as exc:
            raise SerializationError(str(exc)) from exc
        self._validator.validate(shape, params)
        return params

    def serialize(self, operation: OperationModel, output: Mapping[str, Any]) -> HttpResponse:
        shape = operation.output_shape
        document = encode_structure(shape, output) if shape is not None else {}
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return HttpResponse(200, [("Content-Type", self.content_type)], body)


def _load_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise SerializationError("The request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise SerializationError("Start of list found where not expected")
    return document


def modeled_errors(service_model: Any) -> dict[str, ModeledError]:
    """Status, fault and query-compatible code of every error shape, by shape name."""
    found: dict[str, ModeledError] = {}
    for shape in service_model.error_shapes:
        error = shape.metadata.get("error", {})
        found[shape.name] = ModeledError(
            status=int(error["httpStatusCode"]) if "httpStatusCode" in error else None,
            query_code=error.get("code"),
            sender_fault=bool(error.get("senderFault", True)),
        )
    return found
