"""The platform's own HTTP endpoints under /_nimbus: health, doctor, metrics, bill, code,
queues and the event tail.

They answer JSON (Prometheus text for /_nimbus/metrics); errors are
`{"error": {"code", "message"}}` with the status of the `NimbusError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from nimbus.errors import NimbusError, ValidationError
from nimbus.gateway.operator_auth import OperatorGuard, refusal
from nimbus.platform import Platform
from nimbus.sandbox.enforcement import enforcement_report
from nimbus.telemetry.metrics import Gauge

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TAIL_MAX_WAIT_S = 20.0


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


def fleet_gauges(platform: Platform) -> list[Gauge]:
    """The latest scaling decision of every event source mapping, for plotting."""
    gauges: list[Gauge] = []
    for status in platform.fleets.statuses():
        labels = {"mapping": status.mapping.uuid, "function": status.mapping.function_name}
        last = status.last
        figures = {
            "nimbus_mapping_consumers_running": ("Consumers polling and invoking.", status.running),
            "nimbus_mapping_consumers_desired": ("What the scaler asked for.",
                                                 last.desired if last else 0),
            "nimbus_mapping_backlog_messages": ("Messages ready in the source queue.",
                                                last.backlog if last else 0),
            "nimbus_mapping_oldest_message_age_seconds": ("Age of the oldest message.",
                                                          last.oldest_age_s if last else 0.0),
        }  # fmt: skip
        gauges += [Gauge(name, text, value, labels) for name, (text, value) in figures.items()]
    return gauges


def queues_snapshot(platform: Platform, history: int) -> dict[str, Any]:
    """Every queue's depth and every mapping's fleet, with its recent scaling decisions."""
    queues = []
    urls, _ = platform.queues.list_queues(None, 1000, None)
    for url in urls:
        stats = platform.queues.stats(url)
        queues.append({"url": url, "arn": platform.queues.queue_arn(url),
                       "visible": stats.visible, "in_flight": stats.in_flight,
                       "delayed": stats.delayed, "oldest_age_s": stats.oldest_age_s})  # fmt: skip
    mappings = []
    for status in platform.fleets.statuses():
        mapping = status.mapping
        decisions = status_decisions(platform, mapping.uuid)
        decisions = decisions[max(0, len(decisions) - history) :]
        mappings.append({
            "uuid": mapping.uuid, "function": mapping.function_name,
            "source": mapping.event_source_arn, "state": mapping.state,
            "running": status.running, "processed": status.processed,
            "failed": status.failed, "filtered": status.filtered,
            "decisions": decisions,
        })  # fmt: skip
    return {"queues": queues, "mappings": mappings}


def status_decisions(platform: Platform, mapping_id: str) -> list[dict[str, Any]]:
    fleet = platform.fleets.fleet(mapping_id)
    if fleet is None:
        return []
    return [
        {"at": d.at, "desired": d.desired, "running": d.running, "backlog": d.backlog,
         "in_flight": d.in_flight, "oldest_age_s": d.oldest_age_s}
        for d in fleet.decisions
    ]  # fmt: skip


def window_minutes(text: str | None, retention: int) -> int:
    try:
        minutes = int(text or "60")
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= retention:
        raise ValidationError(f"minutes must be a whole number from 1 to {retention}")
    return minutes


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(guard: OperatorGuard, endpoint: Endpoint) -> Endpoint:
    """`endpoint`, answering only the requests `guard` lets through."""

    async def checked(request: Request) -> Response:
        error = await refusal(guard, request)
        if error is not None:
            return platform_error(error)
        return await endpoint(request)

    return checked


def platform_routes(platform: Platform, guard: OperatorGuard) -> list[Route]:
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
        gauges = executor_gauges(platform) + fleet_gauges(platform)
        text = platform.metrics.prometheus(gauges)
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

    async def queues(request: Request) -> Response:
        try:
            history = int(request.query_params.get("history", "20"))
        except ValueError:
            history = 20
        return JSONResponse(queues_snapshot(platform, max(0, history)))

    async def events_tail(request: Request) -> Response:
        """Events accepted after `after` (on `bus`, else every bus); waits up to `wait`
        seconds (at most 20, as an SQS long poll) for the first one."""
        query = request.query_params
        try:
            after = max(0, int(query.get("after", "0")))
            wait = min(TAIL_MAX_WAIT_S, max(0.0, float(query.get("wait", "0"))))
        except ValueError:
            return platform_error(ValidationError("after must be an integer, wait a number"))
        bus = query.get("bus")
        try:
            bus = platform.events.describe_event_bus(bus).name if bus else None
        except NimbusError as error:
            return platform_error(error)
        tap = platform.events.tap
        found = await tap.wait_after(bus, after, wait)
        latest = found[-1].sequence if found else min(after, tap.sequence)
        return JSONResponse({"events": [t.to_json() for t in found], "next": latest})

    operator = {
        "/_nimbus/events/tail": events_tail,
        "/_nimbus/queues": queues,
        "/_nimbus/doctor": doctor,
        "/_nimbus/metrics": metrics,
        "/_nimbus/metrics.json": metrics_json,
        "/_nimbus/bill": bill,
    }
    return [
        Route("/_nimbus/health", health),
        # presigned by FunctionsService (Expires + HMAC), like Lambda's Code.Location
        Route("/_nimbus/code/{digest}.zip", code),
        *(Route(path, guarded(guard, endpoint)) for path, endpoint in operator.items()),
    ]
