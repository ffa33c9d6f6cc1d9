"""The invoker's observer: each invocation's log events, metrics and usage record."""

from __future__ import annotations

from nimbus.functions.invoke import InvocationRecord
from nimbus.functions.model import FunctionConfig
from nimbus.metering.ledger import UsageLedger
from nimbus.metering.usage import UsageRecord
from nimbus.telemetry.logstore import LogStore
from nimbus.telemetry.metrics import MetricsRecorder


def log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def log_events(record: InvocationRecord) -> list[tuple[int, str]]:
    """One event per line, as Lambda's log agent sends them; START at the start time."""
    lines = record.log_text.splitlines(keepends=True)
    events = [(record.started_ms, lines[0])] if lines else []
    events.extend((record.finished_ms, line) for line in lines[1:])
    return events


def usage_of(record: InvocationRecord) -> UsageRecord:
    config, outcome = record.config, record.execution.outcome
    init_ms = outcome.init_ms or 0.0
    return UsageRecord(
        request_id=record.request_id,
        function=config.name,
        version=config.version,
        architecture=config.architectures[0] if config.architectures else "x86_64",
        memory_mb=config.memory_size,
        duration_ms=outcome.duration_ms,
        init_ms=init_ms,
        billed_ms=record.billed_ms,
        timestamp_ms=record.finished_ms,
    )


class InvocationTelemetry:
    """Logs and metrics in memory and queued; the usage record durable before returning."""

    def __init__(self, logs: LogStore, metrics: MetricsRecorder, ledger: UsageLedger) -> None:
        self._logs = logs
        self._metrics = metrics
        self._ledger = ledger

    def started(self, config: FunctionConfig, concurrent: int) -> None:
        self._metrics.started(config.name, concurrent)

    def throttled(self, config: FunctionConfig) -> None:
        self._metrics.throttled(config.name)

    async def finished(self, record: InvocationRecord) -> None:
        usage = usage_of(record)
        outcome = record.execution.outcome
        self._logs.append(
            log_group(record.config.name), record.execution.log_stream, log_events(record)
        )
        self._metrics.finished(
            record.config.name,
            duration_ms=outcome.duration_ms,
            init_ms=outcome.init_ms,
            error=outcome.failed,
            gb_seconds=usage.gb_seconds,
        )
        await self._ledger.record(usage)
