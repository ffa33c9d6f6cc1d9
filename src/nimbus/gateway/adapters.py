"""One adapter per AWS protocol: a service's handler table behind its wire format.

An adapter turns a verified `AwsRequest` into a handler call and the handler's output (or
the `NimbusError` it raised) into the HTTP response of its protocol. Handlers take the
service object, the operation's input members and the request context, and return the
output members: the same signature whatever the protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qsl

from nimbus.errors import NimbusError, NotImplementedOperation
from nimbus.gateway.errors import aws_json_error_response, error_response
from nimbus.gateway.protocols.aws_json import AwsJsonProtocol
from nimbus.gateway.protocols.rest_json import HttpResponse, RestJsonProtocol
from nimbus.iam.sigv4 import Verification

Params = dict[str, Any]
S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)


@dataclass(frozen=True)
class AwsRequest:
    """A request as received. S3 requests keep their body unread in `stream` (`body` is
    then empty); `auth` is what the signature check established, for the adapter."""

    method: str
    raw_path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    base_url: str
    stream: AsyncIterator[bytes] | None = None
    auth: Verification | None = None
    client_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    base_url: str
    account_id: str = "000000000000"
    region: str = "us-east-1"
    # S3: the flexible checksum an aws-chunked trailer carries, read after the body ends
    trailer: Callable[[], str | None] | None = None
    client_ip: str = "127.0.0.1"


class Handler(Protocol[S_contra]):
    def __call__(
        self, service: S_contra, params: Params, ctx: RequestContext, /
    ) -> Awaitable[Params]: ...


class ServiceAdapter(Protocol):
    async def call(self, request: AwsRequest, request_id: str) -> HttpResponse: ...

    def error(self, error: NimbusError, request_id: str) -> HttpResponse: ...


def handler_for(
    handlers: Mapping[str, Callable[..., Awaitable[Params]]], name: str, api: str
) -> Any:
    handler = handlers.get(name)
    if handler is None:
        raise NotImplementedOperation(f"nimbus does not implement the {api} operation {name} yet.")
    return handler


class RestJsonAdapter(Generic[S]):
    def __init__(
        self, protocol: RestJsonProtocol, handlers: Mapping[str, Handler[S]], service: S, api: str
    ) -> None:
        self._protocol, self._handlers, self._service, self._api = protocol, handlers, service, api

    async def call(self, request: AwsRequest, request_id: str) -> HttpResponse:
        query = parse_qsl(request.query_string, keep_blank_values=True)
        operation, path_params = self._protocol.match(request.method, request.raw_path, query)
        headers = {name.lower(): value for name, value in request.headers}
        params = self._protocol.parse(operation, path_params, query, headers, request.body)
        handler = handler_for(self._handlers, operation.name, self._api)
        output = await handler(self._service, params, RequestContext(request_id, request.base_url))
        response = self._protocol.serialize(operation, output)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def error(self, error: NimbusError, request_id: str) -> HttpResponse:
        return error_response(error, request_id)


class AwsJsonAdapter(Generic[S]):
    def __init__(
        self, protocol: AwsJsonProtocol, handlers: Mapping[str, Handler[S]], service: S, api: str
    ) -> None:
        self._protocol, self._handlers, self._service, self._api = protocol, handlers, service, api

    async def call(self, request: AwsRequest, request_id: str) -> HttpResponse:
        headers = {name.lower(): value for name, value in request.headers}
        operation = self._protocol.operation(headers)
        params = self._protocol.parse(operation, request.body)
        handler = handler_for(self._handlers, operation.name, self._api)
        output = await handler(self._service, params, RequestContext(request_id, request.base_url))
        response = self._protocol.serialize(operation, output)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def error(self, error: NimbusError, request_id: str) -> HttpResponse:
        protocol = self._protocol
        return aws_json_error_response(
            error, request_id, protocol.content_type, protocol.errors,
            protocol.query_compatible, protocol.client_error_status,
        )  # fmt: skip
