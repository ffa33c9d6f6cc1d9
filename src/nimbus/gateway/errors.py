"""The one place where a `NimbusError` becomes an error on the wire.

Services raise `nimbus.errors` subclasses and know nothing of HTTP; each
protocol adapter hands the error and the request id to the function for its
wire format here. REST-JSON (Lambda) is the format so far. The awsJson
(``__type`` in the body), REST-XML and query formats belong here too when
their protocols arrive, so the code/status/message of an error is read in
one module only.
"""

from __future__ import annotations

import json

from nimbus.errors import NimbusError
from nimbus.gateway.protocols.rest_json import JSON_CONTENT_TYPE, HttpResponse


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
