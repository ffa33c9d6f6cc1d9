"""Lambda API shapes of the functions service's domain values (wire knowledge lives here)."""

from __future__ import annotations

from typing import Any

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
