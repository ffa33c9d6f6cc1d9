"""The AWS REST-JSON protocol, driven by a botocore service model.

Handlers see plain dicts keyed by the model's member names, whatever part of
the HTTP message a member travels in (its ``location``):

    uri          path label, percent-decoded         ``{FunctionName}``
    querystring  query parameter (lists repeat it)   ``?Qualifier=1``
    header       one header                          ``X-Amz-Invocation-Type``
    headers      every header with a prefix (a map)  ``X-Amz-Meta-*``
    statusCode   the response status (output only)   Invoke's ``StatusCode``
    payload      the whole body: raw for blobs and strings, JSON for structures
    (none)       a key of the JSON object body

Everything that depends only on the model is worked out once per operation in
`RestJsonProtocol.__init__` (`OperationPlan`), so a request costs a dict
lookup plus the work its own members need.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nimbus.errors import InvalidRequestContent, NimbusError
from nimbus.gateway.protocols.rest_routing import OperationModel, RouteTable
from nimbus.gateway.protocols.validation import ShapeValidator
from nimbus.gateway.protocols.wire_values import (
    Shape,
    WireFormatError,
    decode_json,
    decode_text,
    encode_json,
    encode_structure,
    encode_text,
    lower_camel,
    split_header_list,
)

JSON_CONTENT_TYPE = "application/json"
RAW_CONTENT_TYPE = "application/octet-stream"
_BODYLESS_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def invalid_request_content(detail: str) -> NimbusError:
    """Lambda's answer to a body it cannot read (AWS-recorded message prefix)."""
    return InvalidRequestContent(f"Could not parse request body into json: {detail}")


@dataclass(frozen=True)
class Binding:
    """One member bound to a place in the HTTP message."""

    name: str  # the model's member name
    wire: str  # label, query key, header name (lower-case for requests) or header prefix
    shape: Shape


@dataclass(frozen=True)
class MessagePlan:
    """Where each member of one input or output shape travels."""

    shape: Shape | None
    uri: tuple[Binding, ...] = ()
    query: tuple[Binding, ...] = ()
    query_map: Binding | None = None
    headers: tuple[Binding, ...] = ()
    header_maps: tuple[Binding, ...] = ()
    status: Binding | None = None
    payload: Binding | None = None
    raw_payload: bool = False
    body: Mapping[str, Binding] = field(default_factory=dict)  # keyed by JSON key
    body_members: frozenset[str] = frozenset()
    located: frozenset[str] = frozenset()  # members outside the JSON body


def plan_message(shape: Shape | None, lower_headers: bool) -> MessagePlan:
    """Sort a shape's members by location, once."""
    if shape is None:
        return MessagePlan(None)
    groups: dict[str | None, list[Binding]] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location in ("header", "headers") and lower_headers:
            wire = wire.lower()
        groups.setdefault(location, []).append(Binding(name, wire, member))
    payload_name = shape.serialization.get("payload")
    payload = next((b for b in groups.get(None, []) if b.name == payload_name), None)
    query = groups.get("querystring", [])
    body = [] if payload is not None else groups.get(None, [])
    located = {b.name for loc, bs in groups.items() if loc is not None for b in bs}
    return MessagePlan(
        shape=shape,
        uri=tuple(groups.get("uri", [])),
        query=tuple(b for b in query if b.shape.type_name != "map"),
        query_map=next((b for b in query if b.shape.type_name == "map"), None),
        headers=tuple(groups.get("header", [])),
        header_maps=tuple(groups.get("headers", [])),
        status=next(iter(groups.get("statusCode", [])), None),
        payload=payload,
        raw_payload=payload is not None and payload.shape.type_name in ("blob", "string"),
        body={b.wire: b for b in body},
        body_members=frozenset(b.name for b in body),
        located=frozenset(located),
    )


@dataclass(frozen=True)
class OperationPlan:
    operation: OperationModel
    request: MessagePlan
    response: MessagePlan
    status: int


class RestJsonProtocol:
    """Route, parse, validate and serialize one REST-JSON service's messages."""

    def __init__(
        self,
        service_model: Any,
        *,
        malformed: Callable[[str], NimbusError] = invalid_request_content,
        unchecked_enums: Sequence[str] = (),
    ) -> None:
        self.service_model = service_model
        operations = [service_model.operation_model(n) for n in service_model.operation_names]
        self._routes = RouteTable(operations)
        self._plans = {op.name: _plan_operation(op) for op in operations}
        self._validator = ShapeValidator(unchecked_enums)
        self._malformed = malformed

    def match(
        self, method: str, raw_path: str, query: Sequence[tuple[str, str]] = ()
    ) -> tuple[OperationModel, dict[str, str]]:
        """The operation addressed by method and raw (still percent-encoded) path.

        `raw_path` may carry its query after ``?``; `query` adds pairs parsed
        elsewhere. Only the model's query literals (``?List=ALL``) use them.
        """
        return self._routes.match(method, raw_path, query)

    def parse(
        self,
        op: OperationModel,
        path_params: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        """The operation's input as a dict of member names, validated."""
        plan = self._plans[op.name].request
        if plan.shape is None:
            return {}
        try:
            params = read_located(plan, path_params, query, headers)
            params.update(_read_body(plan, body))
        except WireFormatError as exc:
            raise self._malformed(str(exc)) from exc
        self._validator.validate(plan.shape, params)
        return params

    def serialize(
        self, op: OperationModel, output: Mapping[str, Any], status: int | None = None
    ) -> HttpResponse:
        """The HTTP response for the operation's output dict (None values omitted)."""
        operation_plan = self._plans[op.name]
        plan = operation_plan.response
        code = status or _status_from(plan, output) or operation_plan.status
        headers = write_headers(plan, output)
        if code in _BODYLESS_STATUSES:
            return HttpResponse(code, headers, b"")
        body, content_type = _write_body(plan, output)
        if content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", content_type))
        return HttpResponse(code, headers, body)


def _plan_operation(op: OperationModel) -> OperationPlan:
    return OperationPlan(
        operation=op,
        request=plan_message(op.input_shape, lower_headers=True),
        response=plan_message(op.output_shape, lower_headers=False),
        status=int(op.http.get("responseCode", 200)),
    )


def read_located(
    plan: MessagePlan,
    path_params: Mapping[str, str],
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> dict[str, Any]:
    """The members bound to the URI, the query string and headers (REST-JSON and -XML)."""
    params = read_uri(plan, path_params)
    params.update(read_query(plan, query))
    params.update(read_headers(plan, headers))
    return params


def read_uri(plan: MessagePlan, path_params: Mapping[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for binding in plan.uri:
        text = path_params.get(binding.wire)
        if text is not None:
            params[binding.name] = decode_text(binding.shape, text, lower_camel(binding.name))
    return params


def read_query(plan: MessagePlan, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    if not query:
        return {}
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    params: dict[str, Any] = {}
    for binding in plan.query:
        values = grouped.pop(binding.wire, None)
        if values is None:
            continue
        path = lower_camel(binding.name)
        if binding.shape.type_name == "list":
            params[binding.name] = [decode_text(binding.shape.member, v, path) for v in values]
        else:
            params[binding.name] = decode_text(binding.shape, values[0], path)
    if plan.query_map is not None and grouped:
        params[plan.query_map.name] = _query_map(plan.query_map.shape, grouped)
    return params


def _query_map(shape: Shape, grouped: Mapping[str, list[str]]) -> dict[str, Any]:
    if shape.value.type_name == "list":
        return dict(grouped)
    return {key: values[0] for key, values in grouped.items()}


def read_headers(plan: MessagePlan, headers: Mapping[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for binding in plan.headers:
        text = headers.get(binding.wire)
        if text is None:
            continue
        path = lower_camel(binding.name)
        if binding.shape.type_name == "list":
            items = split_header_list(text)
            params[binding.name] = [decode_text(binding.shape.member, i, path) for i in items]
        else:
            params[binding.name] = decode_text(binding.shape, text, path)
    for binding in plan.header_maps:
        found = {
            k[len(binding.wire) :]: v for k, v in headers.items() if k.startswith(binding.wire)
        }
        if found:
            params[binding.name] = found
    return params


def _read_body(plan: MessagePlan, body: bytes) -> dict[str, Any]:
    payload = plan.payload
    if payload is not None:
        if not body:
            return {}
        if plan.raw_payload:
            return {payload.name: _raw_payload(payload, body)}
        return {payload.name: decode_json(payload.shape, _load_json(body), "")}
    if not plan.body_members or not body.strip():
        return {}
    document = _load_json(body)
    if not isinstance(document, dict):
        raise WireFormatError("Expected a JSON object as the request body")
    params: dict[str, Any] = {}
    for key, item in document.items():
        # Unknown keys are ignored, as AWS does, so newer clients keep working.
        binding = plan.body.get(key)
        if binding is not None and item is not None:
            params[binding.name] = decode_json(binding.shape, item, lower_camel(binding.name))
    return params


def _raw_payload(payload: Binding, body: bytes) -> bytes | str:
    if payload.shape.type_name == "blob":
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireFormatError("Request body is not valid UTF-8") from exc


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WireFormatError(str(exc) or "Malformed JSON") from exc


def _status_from(plan: MessagePlan, output: Mapping[str, Any]) -> int | None:
    if plan.status is None:
        return None
    value = output.get(plan.status.name)
    return int(value) if value is not None else None


def write_headers(plan: MessagePlan, output: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for binding in plan.headers:
        value = output.get(binding.name)
        if value is not None and not (binding.shape.type_name == "list" and not value):
            headers.append((binding.wire, encode_text(binding.shape, value)))
    for binding in plan.header_maps:
        for key, value in (output.get(binding.name) or {}).items():
            headers.append((binding.wire + key, str(value)))
    return headers


def _write_body(plan: MessagePlan, output: Mapping[str, Any]) -> tuple[bytes, str | None]:
    payload = plan.payload
    if payload is not None:
        value = output.get(payload.name)
        if plan.raw_payload:
            raw = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")
            return raw, RAW_CONTENT_TYPE
        if value is None:
            return b"", None
        return _dump_json(encode_json(payload.shape, value)), JSON_CONTENT_TYPE
    if plan.shape is None or not plan.body_members:
        return b"", None
    members = {k: v for k, v in output.items() if k in plan.body_members}
    unknown = output.keys() - plan.body_members - plan.located
    if unknown:
        raise KeyError(f"{plan.shape.name} has no members {sorted(unknown)}")
    return _dump_json(encode_structure(plan.shape, members)), JSON_CONTENT_TYPE


def _dump_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
