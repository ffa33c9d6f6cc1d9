"""The ASGI application: platform endpoints under /_nimbus, every other path is AWS."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import botocore.session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nimbus.errors import NimbusError, RequestEntityTooLarge
from nimbus.gateway import events_api, lambda_api, logs_api, s3_api, sqs_api
from nimbus.gateway.adapters import AwsJsonAdapter, RestJsonAdapter, ServiceAdapter
from nimbus.gateway.aws import AwsGateway, AwsRequest, is_s3_request
from nimbus.gateway.errors import error_response
from nimbus.gateway.operator_auth import OperatorGuard
from nimbus.gateway.platform_api import platform_routes
from nimbus.gateway.protocols.aws_json import AwsJsonProtocol
from nimbus.gateway.protocols.rest_json import RestJsonProtocol
from nimbus.gateway.protocols.rest_xml import RestXmlProtocol, StreamedResponse
from nimbus.gateway.s3_adapter import S3Adapter
from nimbus.iam.sigv4 import Verifier
from nimbus.platform import Platform


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestEntityTooLarge(f"Request must be smaller than {limit} bytes for the operation")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise RequestEntityTooLarge(
                f"Request must be smaller than {limit} bytes for the operation"
            )
    return bytes(chunks)


def _has_body(request: Request) -> bool:
    headers = request.headers
    return "transfer-encoding" in headers or headers.get("content-length", "0") not in ("", "0")


def aws_services(platform: Platform) -> dict[str, ServiceAdapter]:
    """Each AWS API nimbus serves, by the service name requests are signed for."""
    session = botocore.session.get_session()
    lambda_protocol = RestJsonProtocol(
        session.get_service_model("lambda"), unchecked_enums=["Runtime"]
    )
    logs_protocol = AwsJsonProtocol(session.get_service_model("logs"))
    # The model reuses the queue-attribute enum for ReceiveMessage's message attribute
    # names; the queue service reports unknown names with SQS's own errors.
    sqs_protocol = AwsJsonProtocol(
        session.get_service_model("sqs"),
        unchecked_enums=["QueueAttributeName"],
        client_error_status=None,
    )
    return {
        "lambda": RestJsonAdapter(
            lambda_protocol, lambda_api.HANDLERS, platform.functions, "Lambda"
        ),
        "logs": AwsJsonAdapter(logs_protocol, logs_api.HANDLERS, platform.logs, "CloudWatch Logs"),
        "sqs": AwsJsonAdapter(sqs_protocol, sqs_api.HANDLERS, platform.queues, "SQS"),
        "events": AwsJsonAdapter(
            AwsJsonProtocol(session.get_service_model("events")),
            events_api.HANDLERS,
            platform.events,
            "EventBridge",
        ),
        "s3": S3Adapter(
            RestXmlProtocol(session.get_service_model("s3")),
            s3_api.HANDLERS,
            platform.objects,
            base_hosts=("localhost", platform.settings.host),
            account_id=platform.settings.account_id,
            region=platform.settings.region,
        ),
    }


def create_app(platform: Platform) -> Starlette:
    settings = platform.settings
    credentials = {settings.root_access_key_id: settings.root_secret_access_key}
    verifier = Verifier()
    gateway = AwsGateway(aws_services(platform), credentials, verifier)
    guard = OperatorGuard(settings, credentials, verifier)

    async def aws(request: Request) -> Response:
        scope = request.scope
        raw_path = scope.get("raw_path") or scope["path"].encode()
        aws_request = AwsRequest(
            method=request.method,
            raw_path=raw_path.decode("utf-8", errors="replace"),
            query_string=scope["query_string"].decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=b"",
            base_url=str(request.base_url).rstrip("/"),
            client_ip=request.client.host if request.client else "127.0.0.1",
        )
        if is_s3_request(aws_request):  # objects stream through; never held whole
            aws_request = dataclasses.replace(aws_request, stream=request.stream())
        else:
            try:
                body = await read_body(request, settings.create_request_limit)
            except NimbusError as error:
                reply = error_response(error, "")
                return Response(reply.body, reply.status, headers=dict(reply.headers))
            aws_request = dataclasses.replace(aws_request, body=body)
        reply = await gateway.handle(aws_request)
        if aws_request.stream is not None and reply.status >= 300 and _has_body(request):
            # Answered before the body was read (an Expect: 100-continue client may never
            # send it): the connection cannot carry another request.
            reply.headers.append(("Connection", "close"))
        response: Response
        if isinstance(reply, StreamedResponse) and request.method != "HEAD":
            response = StreamingResponse(reply.stream, reply.status)
        else:
            response = Response(reply.body, reply.status)
        for name, value in reply.headers:
            if name.lower() == "content-length":  # HEAD: the object's, not the empty body's
                response.headers[name] = value
            else:
                response.headers.append(name, value)
        return response

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    routes = [*platform_routes(platform, guard), Route("/{path:path}", aws, methods=methods)]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    return Starlette(routes=routes, lifespan=lifespan)
