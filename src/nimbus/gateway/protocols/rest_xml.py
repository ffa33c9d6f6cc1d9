"""The AWS REST-XML protocol (S3), driven by botocore's service model.

Members travel as in REST-JSON (`rest_json.plan_message`: uri, querystring,
header, headers); bodies are XML (`rest_xml_parse`, `rest_xml_serialize`) and
routing follows S3's rules (`rest_xml_routing`: shared templates told apart by
required query and header members, keys kept byte for byte, virtual hosts).
The output's root element is S3's result name (`S3_RESULT_ROOTS`; the model
does not carry it), in S3's namespace.

Streaming payloads (PutObject's ``Body``, GetObject's) are not read here: the
request body is handed over as bytes; a response body that is not bytes comes
back as a `StreamedResponse` for the caller to send.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from nimbus.errors import InvalidArgument, MalformedXML
from nimbus.gateway.protocols.rest_json import (
    HttpResponse,
    MessagePlan,
    plan_message,
    read_located,
    write_headers,
)
from nimbus.gateway.protocols.rest_routing import OperationModel
from nimbus.gateway.protocols.rest_xml_parse import decode_xml, parse_xml_document
from nimbus.gateway.protocols.rest_xml_routing import S3Router, path_style, split_s3_path
from nimbus.gateway.protocols.rest_xml_serialize import (
    encode_members,
    encode_root,
    xml_document,
)
from nimbus.gateway.protocols.wire_values import WireFormatError

__all__ = [
    "S3_NAMESPACE",
    "S3_RESULT_ROOTS",
    "XML_CONTENT_TYPE",
    "RestXmlProtocol",
    "StreamedResponse",
    "path_style",
    "split_s3_path",
]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_CONTENT_TYPE = "application/xml"
_BODYLESS_STATUSES = frozenset({204, 304})
# S3's result element names; the model does not carry them (botocore ignores the root).
S3_RESULT_ROOTS = {
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListBuckets": "ListAllMyBucketsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListParts": "ListPartsResult",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "DeleteObjects": "DeleteResult",
    "GetBucketLocation": "LocationConstraint",
    "GetObjectTagging": "Tagging",
    "GetBucketTagging": "Tagging",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetObjectAttributes": "GetObjectAttributesResponse",
}


@dataclass(frozen=True)
class StreamedResponse(HttpResponse):
    """Status and headers of a response whose body the caller streams from `stream`."""

    stream: AsyncIterable[bytes]


@dataclass(frozen=True)
class _OperationPlan:
    request: MessagePlan
    response: MessagePlan
    status: int
    root: str


def _plan(op: OperationModel, roots: Mapping[str, str]) -> _OperationPlan:
    output = op.output_shape
    default_root = output.name.removesuffix("Output") + "Result" if output is not None else ""
    return _OperationPlan(
        request=plan_message(op.input_shape, lower_headers=True),
        response=plan_message(output, lower_headers=False),
        status=int(op.http.get("responseCode", 200)),
        root=roots.get(op.name, default_root),
    )


class RestXmlProtocol:
    """Route, parse and serialize one REST-XML service's messages (S3)."""

    def __init__(
        self, service_model: Any, *, result_roots: Mapping[str, str] = S3_RESULT_ROOTS
    ) -> None:
        self.service_model = service_model
        operations = [service_model.operation_model(n) for n in service_model.operation_names]
        self._plans = {op.name: _plan(op, result_roots) for op in operations}
        self._namespace = S3_NAMESPACE
        self._router = S3Router({op.name: (op, self._plans[op.name].request) for op in operations})

    def match(
        self,
        method: str,
        raw_path: str,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> tuple[OperationModel, dict[str, str]]:
        """The operation for a path-style request and its decoded labels.

        `headers` (lower-case names) tell apart operations that differ only by a
        required header, such as CopyObject's ``x-amz-copy-source``.
        """
        return self._router.match(method, raw_path, query, headers)

    def streaming_input(self, op: OperationModel) -> str | None:
        """The input member that is a streamed blob (PutObject's ``Body``), if any: its
        bytes are the caller's to stream, not this protocol's to read."""
        streamed = op.get_streaming_input()
        return None if streamed is None else str(streamed.name)

    def parse(
        self,
        op: OperationModel,
        path_params: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        """The operation's input as a dict of member names (headers keyed lower-case)."""
        plan = self._plans[op.name].request
        if plan.shape is None:
            return {}
        try:
            params = read_located(plan, path_params, query, headers)
        except WireFormatError as exc:
            raise InvalidArgument(str(exc)) from exc
        params.update(_read_payload(plan, body))
        return params

    def serialize(
        self, op: OperationModel, output: Mapping[str, Any], status: int | None = None
    ) -> HttpResponse:
        """The response for the operation's output dict; streams come back unread."""
        operation_plan = self._plans[op.name]
        plan = operation_plan.response
        code = status or (206 if _is_partial(plan, output) else operation_plan.status)
        headers = write_headers(plan, output)
        unknown = output.keys() - plan.body_members - plan.located
        if plan.payload is not None:
            unknown -= {plan.payload.name}
        if plan.shape is not None and unknown:
            raise KeyError(f"{plan.shape.name} has no members {sorted(unknown)}")
        if code in _BODYLESS_STATUSES:
            return HttpResponse(code, headers, b"")
        if plan.raw_payload and plan.payload is not None:
            return _raw_response(code, headers, output.get(plan.payload.name))
        body = self._xml_body(plan, output, operation_plan.root)
        if body and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", XML_CONTENT_TYPE))
        return HttpResponse(code, headers, body)

    def _xml_body(self, plan: MessagePlan, output: Mapping[str, Any], root: str) -> bytes:
        payload = plan.payload
        if payload is not None:
            value = output.get(payload.name)
            if value is None:
                return b""
            namespace = payload.shape.serialization.get("xmlNamespace", {}).get("uri")
            name = payload.shape.serialization.get("name", payload.shape.name)
            return xml_document(
                encode_root(name, namespace or self._namespace, payload.shape, value)
            )
        if plan.shape is None or not plan.body_members:
            return b""
        element = ElementTree.Element(root, {"xmlns": self._namespace})
        if plan.body_members == {root}:
            # GetBucketLocation: the one member is the root's own text.
            text = output.get(root)
            element.text = None if text is None else str(text)
        else:
            encode_members(element, plan.shape, output, plan.body_members)
        return xml_document(element)


def _is_partial(plan: MessagePlan, output: Mapping[str, Any]) -> bool:
    """A response carrying Content-Range answers a Range request: 206 Partial Content."""
    return any(b.wire == "Content-Range" and output.get(b.name) for b in plan.headers)


def _read_payload(plan: MessagePlan, body: bytes) -> dict[str, Any]:
    payload = plan.payload
    if payload is None:
        return {}
    if payload.shape.type_name == "blob":
        return {payload.name: body}
    if not body.strip():
        # S3 answers MalformedXML for a configuration it needs but did not get.
        required = plan.shape.required_members if plan.shape is not None else ()
        if payload.shape.type_name == "structure" and payload.name in required:
            raise MalformedXML()
        return {}
    try:
        if payload.shape.type_name == "string":
            return {payload.name: body.decode("utf-8")}
        return {payload.name: decode_xml(payload.shape, parse_xml_document(body))}
    except (WireFormatError, UnicodeDecodeError) as exc:
        raise MalformedXML() from exc


def _raw_response(status: int, headers: list[tuple[str, str]], value: Any) -> HttpResponse:
    if value is None:
        return HttpResponse(status, headers, b"")
    if isinstance(value, bytes | bytearray | str):
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return HttpResponse(status, headers, raw)
    return StreamedResponse(status, headers, b"", stream=value)
