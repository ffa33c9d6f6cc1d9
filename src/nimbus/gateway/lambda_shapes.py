"""Lambda API shapes of the functions service's domain values (wire knowledge lives here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nimbus.functions.mappings import EventSourceMapping
from nimbus.functions.model import LATEST, FunctionConfig


def function_configuration(config: FunctionConfig) -> dict[str, Any]:
    """The FunctionConfiguration shape of the Lambda API."""
    wire: dict[str, Any] = {
        "FunctionName": config.name,
        "FunctionArn": config.arn if config.version == LATEST else config.qualified_arn,
        "Runtime": config.runtime,
        "Role": config.role,
        "Handler": config.handler,
        "CodeSize": config.code.size,
        "Description": config.description,
        "Timeout": config.timeout,
        "MemorySize": config.memory_size,
        "LastModified": config.last_modified,
        "CodeSha256": config.code.sha256,
        "Version": config.version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": config.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": list(config.architectures),
        "EphemeralStorage": {"Size": config.ephemeral_storage},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{config.name}"},
    }
    if config.environment:
        wire["Environment"] = {"Variables": dict(config.environment)}
    return wire


def event_source_mapping(mapping: EventSourceMapping) -> dict[str, Any]:
    """The EventSourceMappingConfiguration shape of the Lambda API."""
    wire: dict[str, Any] = {
        "UUID": mapping.uuid,
        "EventSourceMappingArn": mapping.arn,
        "EventSourceArn": mapping.event_source_arn,
        "FunctionArn": mapping.function_arn,
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.batching_window_s,
        "LastModified": datetime.fromtimestamp(mapping.last_modified, UTC),
        "State": mapping.state,
        "StateTransitionReason": "USER_INITIATED",
        "FunctionResponseTypes": (
            ["ReportBatchItemFailures"] if mapping.report_item_failures else []
        ),
    }
    if mapping.filters:
        wire["FilterCriteria"] = {"Filters": [{"Pattern": text} for text in mapping.filters]}
    if mapping.maximum_concurrency is not None:
        wire["ScalingConfig"] = {"MaximumConcurrency": mapping.maximum_concurrency}
    return wire
