"""Invoke a function: resolve, check limits, run in an environment, shape Lambda's answer."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from nimbus.arn import resolve_function_ref
from nimbus.clock import Clock, epoch_ms
from nimbus.errors import InvalidRequestContent, NimbusError, RequestTooLarge, TooManyRequests
from nimbus.executor.base import Execution, Executor
from nimbus.functions import report
from nimbus.functions.concurrency import ConcurrencyLimiter
from nimbus.functions.model import LATEST, FunctionConfig, InvocationType
from nimbus.functions.registry import FunctionRegistry
from nimbus.metering.usage import billed_milliseconds
from nimbus.sandbox.environment import Invocation
from nimbus.sandbox.outcome import Outcome, OutcomeKind
from nimbus.sandbox.spec import EnvironmentSpec
from nimbus.store.base import RecordStore

PENDING_TABLE = "async_invocations"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvokeRequest:
    function: str
    payload: bytes = b""
    qualifier: str | None = None
    invocation_type: InvocationType = InvocationType.REQUEST_RESPONSE
    tail_logs: bool = False
    client_context: str | None = None
    request_id: str = ""


@dataclass(frozen=True)
class InvokeResult:
    status_code: int
    request_id: str
    executed_version: str
    payload: bytes = b""
    function_error: str | None = None
    log_result: str | None = None


@dataclass(frozen=True)
class InvocationRecord:
    """What the observer (logs, metrics, metering) learns about every finished invocation."""

    config: FunctionConfig
    request_id: str
    execution: Execution
    log_text: str
    started_ms: int  # epoch milliseconds
    finished_ms: int
    billed_ms: int  # init + duration rounded up, as REPORT says and the bill charges


class InvocationObserver(Protocol):
    """Told about every invocation the platform accepts to run (not DryRun).

    `finished` is awaited before the invocation is reported to anyone, so an observer can
    make its record durable first (metering does).
    """

    def started(self, config: FunctionConfig, concurrent: int) -> None: ...

    def throttled(self, config: FunctionConfig) -> None: ...

    async def finished(self, record: InvocationRecord) -> None: ...


@dataclass(frozen=True)
class InvokeLimits:
    sync_payload: int
    async_payload: int
    response: int
    log_tail: int


class Invoker:
    def __init__(
        self,
        registry: FunctionRegistry,
        executor: Executor,
        limiter: ConcurrencyLimiter,
        store: RecordStore,
        limits: InvokeLimits,
        base_environment: Callable[[FunctionConfig], Mapping[str, str]],
        interpreter: Callable[[str], str],
        region: str,
        account: str,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._registry = registry
        self._executor = executor
        self._limiter = limiter
        self._store = store
        self._limits = limits
        self._base_environment = base_environment
        self._interpreter = interpreter
        self._region = region
        self._account = account
        self._background: set[asyncio.Task[None]] = set()
        self._specs: dict[tuple[str, str], EnvironmentSpec] = {}
        self.observer: InvocationObserver | None = None

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        ref = resolve_function_ref(request.function, self._region, self._account)
        qualifier = request.qualifier or ref.qualifier
        config = self._registry.get(ref.name, qualifier)
        request_id = request.request_id or str(uuid.uuid4())
        self._check_payload(request)
        if request.invocation_type is InvocationType.DRY_RUN:
            return InvokeResult(204, request_id, config.version)
        if request.invocation_type is InvocationType.EVENT:
            self._enqueue(request_id, config, request.payload)
            return InvokeResult(202, request_id, config.version)
        record = await self._run(config, request_id, request.payload, request.client_context)
        return self._result(record, request.tail_logs)

    def _check_payload(self, request: InvokeRequest) -> None:
        is_async = request.invocation_type is InvocationType.EVENT
        limit = self._limits.async_payload if is_async else self._limits.sync_payload
        if len(request.payload) > limit:
            raise RequestTooLarge(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )
        if request.payload:
            try:
                json.loads(request.payload)
            except (ValueError, UnicodeDecodeError) as exc:
                raise InvalidRequestContent(
                    "Could not parse request body into json: Could not parse payload into json: "
                    f"{exc}"
                ) from None

    async def _run(
        self, config: FunctionConfig, request_id: str, payload: bytes, client_context: str | None
    ) -> InvocationRecord:
        entry = self._registry.entry(config.name)
        reserved = entry.reserved_concurrency
        observer = self.observer
        try:
            self._limiter.acquire(config.name, reserved, self._registry.reserved_concurrency())
        except TooManyRequests:
            if observer is not None:
                observer.throttled(config)
            raise
        started_ms = epoch_ms(self._clock)
        if observer is not None:
            observer.started(config, self._limiter.running(config.name))
        try:
            invocation = Invocation(
                request_id=request_id,
                payload=payload,
                invoked_arn=config.arn if config.version == LATEST else config.qualified_arn,
                client_context=_decode_client_context(client_context),
            )
            execution = await self._executor.invoke(self._spec(config), invocation)
        finally:
            self._limiter.release(config.name, reserved)
        record = self._finish(config, request_id, execution, started_ms)
        if observer is not None:
            await observer.finished(record)
        return record

    def _finish(
        self, config: FunctionConfig, request_id: str, execution: Execution, started_ms: int
    ) -> InvocationRecord:
        outcome = execution.outcome
        if outcome.kind is OutcomeKind.OK and len(outcome.payload) > self._limits.response:
            outcome = _too_large(outcome, self._limits.response)
            execution = Execution(outcome, execution.cold, execution.log_stream)
        billed_ms = billed_milliseconds(outcome.duration_ms, outcome.init_ms)
        log_text = self._log_text(config, request_id, outcome, billed_ms)
        finished_ms = epoch_ms(self._clock)
        return InvocationRecord(
            config, request_id, execution, log_text, started_ms, finished_ms, billed_ms
        )

    def _log_text(
        self, config: FunctionConfig, request_id: str, outcome: Outcome, billed_ms: int
    ) -> str:
        body = outcome.logs.decode("utf-8", errors="replace")
        if outcome.kind is OutcomeKind.TIMEOUT:
            body += report.timeout_line(request_id, config.timeout)
        return (
            report.start_line(request_id, config.version)
            + body
            + report.end_line(request_id)
            + report.report_line(request_id, config, outcome, billed_ms)
        )

    def _result(self, record: InvocationRecord, tail: bool) -> InvokeResult:
        config, request_id, outcome = record.config, record.request_id, record.execution.outcome
        payload = outcome.payload
        if outcome.kind in (OutcomeKind.TIMEOUT, OutcomeKind.EXITED, OutcomeKind.OUT_OF_MEMORY):
            payload = report.error_payload(request_id, outcome, config.timeout)
        log_result = None
        if tail:
            tail_bytes = record.log_text.encode()[-self._limits.log_tail :]
            log_result = base64.b64encode(tail_bytes).decode()
        return InvokeResult(
            status_code=200,
            request_id=request_id,
            executed_version=config.version,
            payload=payload,
            function_error="Unhandled" if outcome.failed else None,
            log_result=log_result,
        )

    def _spec(self, config: FunctionConfig) -> EnvironmentSpec:
        """Built once per function version and revision; every update changes the revision."""
        key = (config.name, config.version)
        cached = self._specs.get(key)
        if cached is None or cached.revision != config.revision_id:
            cached = self._specs[key] = self._build_spec(config)
        return cached

    def _build_spec(self, config: FunctionConfig) -> EnvironmentSpec:
        environ = dict(self._base_environment(config))
        environ.update(config.environment)
        return EnvironmentSpec(
            function_name=config.name,
            version=config.version,
            revision=config.revision_id,
            runtime=config.runtime,
            interpreter=self._interpreter(config.runtime),
            handler=config.handler,
            memory_mb=config.memory_size,
            timeout_s=config.timeout,
            ephemeral_mb=config.ephemeral_storage,
            code_dir=self._registry.code_dir(config),
            isolation=config.isolation,
            environ=environ,
        )

    # -- asynchronous invocations: durable before the 202 --------------------------------

    def _enqueue(self, request_id: str, config: FunctionConfig, payload: bytes) -> None:
        record = {
            "function": config.name,
            "qualifier": config.version,
            "payload": base64.b64encode(payload).decode(),
        }
        self._store.put(PENDING_TABLE, request_id, record)
        self._spawn(request_id, config, payload)

    def _spawn(self, request_id: str, config: FunctionConfig, payload: bytes) -> None:
        task = asyncio.create_task(self._run_async(request_id, config, payload))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_async(self, request_id: str, config: FunctionConfig, payload: bytes) -> None:
        # Retries, destinations and DLQs come with the asynchronous invocation issue;
        # until then an accepted event runs once and its record is removed afterwards.
        try:
            await self._run(config, request_id, payload, None)
        except NimbusError as exc:
            logger.warning("asynchronous invocation %s not run: %s", request_id, exc.message)
        self._store.delete(PENDING_TABLE, request_id)

    def resume_pending(self) -> int:
        """Start the accepted asynchronous invocations a previous run did not finish."""
        resumed = 0
        for request_id, record in list(self._store.scan(PENDING_TABLE)):
            try:
                config = self._registry.get(record["function"], record["qualifier"])
            except NimbusError:
                self._store.delete(PENDING_TABLE, request_id)
                continue
            self._spawn(request_id, config, base64.b64decode(record["payload"]))
            resumed += 1
        return resumed

    async def drain(self, timeout_s: float) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)


def _too_large(outcome: Outcome, limit: int) -> Outcome:
    body = {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({limit} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    return Outcome(
        kind=OutcomeKind.HANDLER_ERROR,
        payload=json.dumps(body).encode(),
        logs=outcome.logs,
        duration_ms=outcome.duration_ms,
        init_ms=outcome.init_ms,
        max_memory_bytes=outcome.max_memory_bytes,
    )


def _decode_client_context(value: str | None) -> dict[str, object] | None:
    if not value:
        return None
    try:
        decoded = json.loads(base64.b64decode(value))
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequestContent(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return decoded if isinstance(decoded, dict) else None
