"""The AWS REST-XML protocol (S3), driven by botocore's service model.

Members travel as in REST-JSON (`rest_json.plan_message`: uri, querystring,
header, headers), but bodies are XML and S3 bends the URI rules:

* Many operations share one template (``PUT /{Bucket}/{Key+}`` is PutObject,
  CopyObject, UploadPart and UploadPartCopy). The route table picks the
  template; `_Template.choose` then picks the operation whose required query
  and header members the request carries, most demanding first (UploadPartCopy
  needs ``partNumber``, ``uploadId`` and ``x-amz-copy-source``; PutObject none).
* The greedy ``{Key+}`` is everything after ``/<bucket>/``, percent-decoded
  once, with its empty segments and trailing ``/`` kept (the route table trims
  slashes, which is right for Lambda and wrong for keys).
* Virtual-hosted requests (``<bucket>.<host>``) are rewritten to path style
  first (`path_style`).

Streaming payloads (PutObject's ``Body``, GetObject's) are not read here: the
request body is handed over as bytes; a response body that is not bytes comes
back as a `StreamedResponse` for the caller to send.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterable, Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree

from nimbus.errors import InvalidArgument, MalformedXML, UnknownOperation
from nimbus.gateway.protocols.rest_json import (
    HttpResponse,
    MessagePlan,
    plan_message,
    read_headers,
    read_query,
    read_uri,
    write_headers,
)
from nimbus.gateway.protocols.rest_routing import OperationModel, RouteTable
from nimbus.gateway.protocols.rest_xml_parse import decode_xml, parse_xml_document
from nimbus.gateway.protocols.rest_xml_serialize import (
    encode_members,
    encode_root,
    xml_document,
)
from nimbus.gateway.protocols.wire_values import WireFormatError

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
class _Discriminated:
    operation: OperationModel
    query: frozenset[str]  # required query keys
    headers: frozenset[str]  # required header names, lower-case
    rank: tuple[int, bool, bool]


@dataclass(frozen=True)
class _Template:
    """The operations sharing one (method, requestUri); quacks as an operation to RouteTable."""

    name: str
    http: Mapping[str, Any]
    choices: tuple[_Discriminated, ...]

    def choose(self, query: AbstractSet[str], headers: AbstractSet[str]) -> OperationModel:
        for choice in self.choices:
            if choice.query <= query and choice.headers <= headers:
                return choice.operation
        return self.choices[-1].operation


def _discriminated(op: OperationModel, plan: MessagePlan) -> _Discriminated:
    required = set(plan.shape.required_members) if plan.shape is not None else set()
    query = frozenset(b.wire for b in plan.query if b.name in required)
    headers = frozenset(b.wire for b in plan.headers if b.name in required)
    # A directory-bucket twin (ListDirectoryBuckets) and deprecated twins lose ties.
    express = any(p.name == "UseS3ExpressControlEndpoint" for p in op.static_context_parameters)
    return _Discriminated(
        op, query, headers, (-(len(query) + len(headers)), op.deprecated, express)
    )


@dataclass(frozen=True)
class _OperationPlan:
    request: MessagePlan
    response: MessagePlan
    status: int
    root: str


def _plan(op: OperationModel) -> _OperationPlan:
    output = op.output_shape
    default_root = output.name.removesuffix("Output") + "Result" if output is not None else ""
    return _OperationPlan(
        request=plan_message(op.input_shape, lower_headers=True),
        response=plan_message(output, lower_headers=False),
        status=int(op.http.get("responseCode", 200)),
        root=S3_RESULT_ROOTS.get(op.name, default_root),
    )


def path_style(host: str | None, raw_path: str, base_hosts: Collection[str]) -> str:
    """`raw_path` as path style: ``bucket.<base host>`` + ``/key`` becomes ``/bucket/key``.

    Requests to a base host itself, or to an IP address, are already path style.
    """
    if not host:
        return raw_path
    name = host.lower().rsplit(":", 1)[0] if not host.endswith("]") else host
    if name in base_hosts or _is_ip(name):
        return raw_path
    for base in base_hosts:
        if name.endswith("." + base):
            bucket = name[: -len(base) - 1]
            return "/" + bucket + ("" if raw_path in ("", "/") else raw_path)
    return raw_path


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def split_s3_path(raw_path: str) -> tuple[str | None, str | None]:
    """The still-encoded bucket and key of a path-style path (None where absent)."""
    path = raw_path.partition("?")[0]
    bucket, slash, key = path.removeprefix("/").partition("/")
    return (bucket or None), (key if slash and key else None)


class RestXmlProtocol:
    """Route, parse and serialize one REST-XML service's messages (S3)."""

    def __init__(
        self, service_model: Any, *, result_roots: Mapping[str, str] = S3_RESULT_ROOTS
    ) -> None:
        self.service_model = service_model
        operations = [service_model.operation_model(n) for n in service_model.operation_names]
        self._plans = {op.name: _plan(op) for op in operations}
        self._namespace = S3_NAMESPACE
        self._routes = RouteTable(self._templates(operations))

    def _templates(self, operations: Sequence[OperationModel]) -> list[_Template]:
        grouped: dict[tuple[str, str], list[_Discriminated]] = {}
        for op in operations:
            key = (op.http["method"], op.http["requestUri"])
            grouped.setdefault(key, []).append(_discriminated(op, self._plans[op.name].request))
        return [
            _Template(
                name=f"{method} {uri}",
                http={"method": method, "requestUri": uri},
                choices=tuple(sorted(choices, key=lambda c: c.rank)),
            )
            for (method, uri), choices in grouped.items()
        ]

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
        bucket, key = split_s3_path(raw_path)
        # The route table sees the path's shape; the key is cut from the raw path below.
        shape_path = "/" if bucket is None else f"/{bucket}" + ("/_" if key is not None else "")
        pairs = [*query, *parse_qsl(raw_path.partition("?")[2], keep_blank_values=True)]
        try:
            template, labels = self._routes.match(method, shape_path, pairs)
        except UnknownOperation:
            path = raw_path.partition("?")[0] or "/"
            raise UnknownOperation(f"No operation matches {method.upper()} {path}.") from None
        if key is not None and "Key" in labels:
            labels["Key"] = unquote(key)
        return template.choose({k for k, _ in pairs}, set(headers or {})), labels

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
            params = read_uri(plan, path_params)
            params.update(read_query(plan, query))
            params.update(read_headers(plan, headers))
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
    if not body:
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
