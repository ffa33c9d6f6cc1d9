"""The ASGI application: platform endpoints under /_nimbus, every other path is AWS."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nimbus.errors import NimbusError, RequestEntityTooLarge
from nimbus.gateway.aws import AwsGateway, AwsRequest
from nimbus.gateway.errors import error_response
from nimbus.platform import Platform
from nimbus.sandbox.limits import enforcement_report


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


def create_app(platform: Platform) -> Starlette:
    settings = platform.settings
    gateway = AwsGateway(
        platform.functions, {settings.root_access_key_id: settings.root_secret_access_key}
    )

    async def aws(request: Request) -> Response:
        scope = request.scope
        try:
            body = await read_body(request, settings.create_request_limit)
        except NimbusError as error:
            reply = error_response(error, "")
            return Response(reply.body, reply.status, headers=dict(reply.headers))
        raw_path = scope.get("raw_path") or scope["path"].encode()
        aws_request = AwsRequest(
            method=request.method,
            raw_path=raw_path.decode("utf-8", errors="replace"),
            query_string=scope["query_string"].decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body,
            base_url=str(request.base_url).rstrip("/"),
        )
        reply = await gateway.handle(aws_request)
        response = Response(reply.body, reply.status)
        for name, value in reply.headers:
            response.headers.append(name, value)
        return response

    async def health(request: Request) -> Response:
        stats = platform.executor.stats()
        return JSONResponse(
            {"status": "ok", "functions": len(platform.registry), "warm": stats.warm,
             "busy": stats.busy, "cold_starts": stats.cold_starts}
        )  # fmt: skip

    async def doctor(request: Request) -> Response:
        report = enforcement_report(platform.capabilities)
        body: dict[str, Any] = {
            "runtimes": platform.runtimes.available(),
            "enforcement": [
                {"name": e.name, "enforced": e.enforced, "detail": e.mechanism_or_reason}
                for e in report
            ],
        }
        return JSONResponse(body)

    async def code(request: Request) -> Response:
        digest = request.path_params["digest"]
        try:
            data = platform.functions.code_download(
                digest, request.query_params.get("Expires", ""),
                request.query_params.get("Signature", ""),
            )  # fmt: skip
        except NimbusError as error:
            return Response(json.dumps({"message": error.message}), 403)
        return Response(data, media_type="application/zip")

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    routes = [
        Route("/_nimbus/health", health),
        Route("/_nimbus/doctor", doctor),
        Route("/_nimbus/code/{digest}.zip", code),
        Route("/{path:path}", aws, methods=methods),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await platform.start()
        try:
            yield
        finally:
            await platform.stop()

    return Starlette(routes=routes, lifespan=lifespan)
