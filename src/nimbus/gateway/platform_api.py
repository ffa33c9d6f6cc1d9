"""The platform's own HTTP endpoints under /_nimbus: health, doctor, metrics, bill, code.

They answer JSON (Prometheus text for /_nimbus/metrics); errors are
`{"error": {"code", "message"}}` with the status of the `NimbusError`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from nimbus.errors import NimbusError, ValidationError
from nimbus.platform import Platform
from nimbus.sandbox.limits import enforcement_report
from nimbus.telemetry.metrics import Gauge

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def platform_error(error: NimbusError) -> Response:
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=error.status)


def executor_gauges(platform: Platform) -> list[Gauge]:
    stats = platform.executor.stats()
    return [
        Gauge("nimbus_environments_warm", "Execution environments alive.", stats.warm),
        Gauge("nimbus_environments_busy", "Environments running an invocation.", stats.busy),
        Gauge("nimbus_zygotes", "Runtime zygote processes.", stats.zygotes),
        Gauge("nimbus_concurrent_executions", "Invocations in flight, account-wide.",
              platform.limiter.running()),
    ]  # fmt: skip


def window_minutes(text: str | None, retention: int) -> int:
    try:
        minutes = int(text or "60")
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= retention:
        raise ValidationError(f"minutes must be a whole number from 1 to {retention}")
    return minutes


def platform_routes(platform: Platform) -> list[Route]:
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

    async def metrics(request: Request) -> Response:
        text = platform.metrics.prometheus(executor_gauges(platform))
        return PlainTextResponse(text, media_type=PROMETHEUS_CONTENT_TYPE)

    async def metrics_json(request: Request) -> Response:
        query = request.query_params
        try:
            last = window_minutes(query.get("minutes"), platform.settings.metrics_retention_minutes)
        except NimbusError as error:
            return platform_error(error)
        body = platform.metrics.to_json(query.get("function"), last)
        body["totals"] = [totals.to_json() for totals in platform.metrics.totals(last)]
        stats = platform.executor.stats()
        body["environments"] = {"warm": stats.warm, "busy": stats.busy, "zygotes": stats.zygotes}
        return JSONResponse(body)

    async def bill(request: Request) -> Response:
        query = request.query_params
        try:
            month, instance = query.get("month"), query.get("compare_instance")
            body = (await asyncio.to_thread(platform.bill, month)).to_json()
            if instance:
                body["instance"] = platform.compare_instance(month, instance).to_json()
        except NimbusError as error:
            return platform_error(error)
        return JSONResponse(body)

    return [
        Route("/_nimbus/health", health),
        Route("/_nimbus/doctor", doctor),
        Route("/_nimbus/metrics", metrics),
        Route("/_nimbus/metrics.json", metrics_json),
        Route("/_nimbus/bill", bill),
        Route("/_nimbus/code/{digest}.zip", code),
    ]
