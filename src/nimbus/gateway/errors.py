"""The one place where a `NimbusError` becomes an error on the wire.

Services raise `nimbus.errors` subclasses and know nothing of HTTP; each
protocol adapter hands the error and the request id to the function for its
wire format here: REST-JSON (Lambda), awsJson (Logs, SQS) and REST-XML (S3).
Query formats belong here too when their protocols arrive, so the
code/status/message of an error is read in one module only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from xml.sax.saxutils import escape

from nimbus.errors import AuthError, NimbusError
from nimbus.gateway.protocols.aws_json import ModeledError
from nimbus.gateway.protocols.rest_json import JSON_CONTENT_TYPE, HttpResponse
from nimbus.gateway.protocols.rest_xml import XML_CONTENT_TYPE
from nimbus.gateway.protocols.rest_xml_serialize import XML_DECLARATION
from nimbus.iam.sigv4_failures import for_s3
from nimbus.objects.model import RequestInfo


def error_body(error: NimbusError) -> dict[str, str]:
    """The fields every JSON-family error body carries.

    botocore reads ``message`` or ``Message``; some Lambda error shapes model
    the capitalised one, so both are sent. Extra fields (a throttle's
    ``Reason``) are members of the modeled error shape and reach boto3 users.
    """
    body = {
        "Type": "User" if error.sender_fault else "Service",
        "message": error.message,
        "Message": error.message,
    }
    body.update(error.extra_fields())
    return body


def error_response(error: NimbusError, request_id: str) -> HttpResponse:
    """A REST-JSON error: the code in ``x-amzn-ErrorType``, the message in the body."""
    headers = [
        ("x-amzn-ErrorType", error.code),
        ("x-amzn-RequestId", request_id),
        ("Content-Type", JSON_CONTENT_TYPE),
    ]
    body = json.dumps(error_body(error), separators=(",", ":")).encode("utf-8")
    return HttpResponse(error.status, headers, body)


def aws_json_error_response(
    error: NimbusError,
    request_id: str,
    content_type: str,
    modeled: Mapping[str, ModeledError],
    query_compatible: bool = False,
    client_error_status: int | None = 400,
) -> HttpResponse:
    """An awsJson error: the code in the body's ``__type``.

    The status is the model's for that error shape when it names one; otherwise client
    errors get the service's `client_error_status` (awsJson services answer 400 where
    Lambda's REST API says 404), or keep their class's status when that is None.
    For awsQueryCompatible services (SQS) the query-era code travels in
    ``x-amzn-query-error``, which boto3 reports as the error code.
    """
    shape = modeled.get(error.code)
    status = error.status
    if shape is not None and shape.status is not None:
        status = shape.status
    elif error.sender_fault and client_error_status is not None:
        status = client_error_status
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", content_type)]
    if query_compatible:
        fault = "Sender" if error.sender_fault else "Receiver"
        modeled_code = shape.query_code if shape is not None else None
        query_code = error.query_code or modeled_code or error.code
        headers.append(("x-amzn-query-error", f"{query_code};{fault}"))
    body = {"__type": error.code, "message": error.message, **error.extra_fields()}
    return HttpResponse(status, headers, json.dumps(body, separators=(",", ":")).encode("utf-8"))


def s3_host_id(request_id: str) -> str:
    """S3's ``x-amz-id-2``: an opaque token derived from the request id (as the object
    store's notification records carry it)."""
    return RequestInfo(request_id).host_id


def s3_request_headers(request_id: str) -> list[tuple[str, str]]:
    """The request-id headers S3 puts on every response, success or error."""
    return [("x-amz-request-id", request_id), ("x-amz-id-2", s3_host_id(request_id))]


def s3_error_response(
    error: NimbusError, request_id: str, *, head: bool = False, resource: str | None = None
) -> HttpResponse:
    """A REST-XML error: ``<Error>`` with Code, Message, the error's extra fields, the
    Resource (the request's path), RequestId and HostId. Authentication failures get S3's
    codes. HEAD responses and 304 Not Modified have no body (botocore then reports the
    status as the code).
    """
    if isinstance(error, AuthError):
        error = for_s3(error)
    headers = s3_request_headers(request_id)
    if head or error.status == 304:
        return HttpResponse(error.status, headers, b"")
    fields = {"Code": error.code, "Message": error.message, **error.extra_fields()}
    if resource is not None:
        fields["Resource"] = resource
    fields.update(RequestId=request_id, HostId=s3_host_id(request_id))
    elements = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields.items())
    body = f"{XML_DECLARATION}<Error>{elements}</Error>".encode()
    headers.append(("Content-Type", XML_CONTENT_TYPE))
    return HttpResponse(error.status, headers, body)
