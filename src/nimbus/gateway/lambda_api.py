"""The Lambda REST-JSON API: one handler per operation, translating shapes to service calls."""

from __future__ import annotations

from nimbus.errors import InvalidParameterValue
from nimbus.functions.invoke import InvokeRequest
from nimbus.functions.mappings import MappingChanges
from nimbus.functions.model import InvocationType
from nimbus.functions.registry import ConfigChanges
from nimbus.functions.service import FunctionsService
from nimbus.gateway.adapters import Handler, Params, RequestContext
from nimbus.gateway.lambda_shapes import event_source_mapping, function_configuration


def changes_from(params: Params) -> ConfigChanges:
    environment = params.get("Environment")
    storage = params.get("EphemeralStorage")
    return ConfigChanges(
        runtime=params.get("Runtime"),
        handler=params.get("Handler"),
        role=params.get("Role"),
        memory_size=params.get("MemorySize"),
        timeout=params.get("Timeout"),
        ephemeral_storage=storage.get("Size") if storage else None,
        description=params.get("Description"),
        environment=(environment.get("Variables") or {}) if environment is not None else None,
        architectures=params.get("Architectures"),
    )


def _zip_from(code: Params) -> bytes:
    if "ZipFile" in code:
        data: bytes = code["ZipFile"]  # the REST-JSON adapter decodes blobs
        return data
    if code.get("S3Bucket") or code.get("ImageUri"):
        raise InvalidParameterValue(
            "nimbus accepts function code as Code.ZipFile only for now (S3 and images come later)."
        )
    raise InvalidParameterValue("Please provide a source for function code.")


async def create_function(service: FunctionsService, params: Params, ctx: RequestContext) -> Params:
    if params.get("PackageType", "Zip") != "Zip":
        raise InvalidParameterValue("nimbus runs Zip packages only; PackageType Image comes later.")
    if params.get("Layers"):
        raise InvalidParameterValue("Layers are not supported by nimbus yet.")
    changes = changes_from(params)
    missing = [k for k in ("Runtime", "Handler") if not params.get(k)]
    if missing:
        raise InvalidParameterValue(f"{missing[0]} must be specified for Zip package type.")
    config = service.create(
        params["FunctionName"],
        changes,
        _zip_from(params["Code"]),
        publish=bool(params.get("Publish")),
        tags=params.get("Tags"),
    )
    return function_configuration(config)


async def get_function(service: FunctionsService, params: Params, ctx: RequestContext) -> Params:
    config = service.get(params["FunctionName"], params.get("Qualifier"))
    result: Params = {
        "Configuration": function_configuration(config),
        "Code": {"RepositoryType": "S3", "Location": ctx.base_url + service.code_url_path(config)},
    }
    if config.tags:
        result["Tags"] = dict(config.tags)
    reserved = service.reserved_concurrency(config.name)
    if reserved is not None:
        result["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
    return result


async def get_function_configuration(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    return function_configuration(service.get(params["FunctionName"], params.get("Qualifier")))


async def list_functions(service: FunctionsService, params: Params, ctx: RequestContext) -> Params:
    max_items = params.get("MaxItems") or 50
    page, next_marker = service.list(params.get("Marker"), min(max_items, 10000))
    result: Params = {"Functions": [function_configuration(config) for config in page]}
    if next_marker:
        result["NextMarker"] = next_marker
    return result


async def update_function_code(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    config = await service.update_code(
        params["FunctionName"],
        _zip_from(params),
        publish=bool(params.get("Publish")),
        revision_id=params.get("RevisionId"),
    )
    return function_configuration(config)


async def update_function_configuration(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    config = await service.update_configuration(
        params["FunctionName"], changes_from(params), params.get("RevisionId")
    )
    return function_configuration(config)


async def delete_function(service: FunctionsService, params: Params, ctx: RequestContext) -> Params:
    await service.delete(params["FunctionName"], params.get("Qualifier"))
    return {}


async def invoke(service: FunctionsService, params: Params, ctx: RequestContext) -> Params:
    payload: bytes = params.get("Payload") or b""  # a blob payload: raw bytes
    request = InvokeRequest(
        function=params["FunctionName"],
        payload=payload,
        qualifier=params.get("Qualifier"),
        invocation_type=InvocationType(params.get("InvocationType") or "RequestResponse"),
        tail_logs=params.get("LogType") == "Tail",
        client_context=params.get("ClientContext"),
        request_id=ctx.request_id,
    )
    result = await service.invoke(request)
    output: Params = {
        "StatusCode": result.status_code,
        "ExecutedVersion": result.executed_version,
        "FunctionError": result.function_error,
        "LogResult": result.log_result,
        "Payload": result.payload,
    }
    return output


async def put_function_concurrency(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    value = service.put_reserved_concurrency(
        params["FunctionName"], params["ReservedConcurrentExecutions"]
    )
    return {"ReservedConcurrentExecutions": value}


async def get_function_concurrency(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    reserved = service.reserved_concurrency(params["FunctionName"])
    return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}


async def delete_function_concurrency(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    service.delete_reserved_concurrency(params["FunctionName"])
    return {}


async def get_account_settings(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    settings = service.account_settings()
    return {
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800,
            "CodeSizeUnzipped": settings.code_size_unzipped,
            "CodeSizeZipped": settings.code_size_zipped,
            "ConcurrentExecutions": settings.concurrent_executions,
            "UnreservedConcurrentExecutions": settings.unreserved_concurrent_executions,
        },
        "AccountUsage": {
            "TotalCodeSize": settings.total_code_size,
            "FunctionCount": settings.function_count,
        },
    }


def mapping_changes(params: Params) -> MappingChanges:
    filters = params.get("FilterCriteria")
    scaling = params.get("ScalingConfig")
    return MappingChanges(
        function=params.get("FunctionName"),
        enabled=params.get("Enabled"),
        batch_size=params.get("BatchSize"),
        batching_window_s=params.get("MaximumBatchingWindowInSeconds"),
        filters=(
            [f.get("Pattern", "") for f in filters.get("Filters", [])]
            if filters is not None else None
        ),
        response_types=params.get("FunctionResponseTypes"),
        maximum_concurrency=scaling.get("MaximumConcurrency") if scaling else None,
        clear_maximum_concurrency=scaling is not None and "MaximumConcurrency" not in scaling,
    )  # fmt: skip


async def create_event_source_mapping(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    if "FunctionName" not in params:
        raise InvalidParameterValue("FunctionName is required.")
    mapping = service.mappings.create(params["EventSourceArn"], mapping_changes(params))
    return event_source_mapping(mapping)


async def get_event_source_mapping(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    return event_source_mapping(service.mappings.get(params["UUID"]))


async def list_event_source_mappings(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    found = list(service.mappings.list(params.get("FunctionName"), params.get("EventSourceArn")))
    start = 0
    if params.get("Marker"):
        ids = [m.uuid for m in found]
        start = ids.index(params["Marker"]) + 1 if params["Marker"] in ids else len(ids)
    limit = params.get("MaxItems", 100)
    page = found[start : start + limit]
    following = found[start + limit : start + limit + 1]
    output: Params = {"EventSourceMappings": [event_source_mapping(m) for m in page]}
    if following:
        output["NextMarker"] = page[-1].uuid
    return output


async def update_event_source_mapping(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    mapping = service.mappings.update(params["UUID"], mapping_changes(params))
    return event_source_mapping(mapping)


async def delete_event_source_mapping(
    service: FunctionsService, params: Params, ctx: RequestContext
) -> Params:
    return event_source_mapping(service.mappings.delete(params["UUID"]))


HANDLERS: dict[str, Handler[FunctionsService]] = {
    "CreateFunction": create_function,
    "GetFunction": get_function,
    "GetFunctionConfiguration": get_function_configuration,
    "ListFunctions": list_functions,
    "UpdateFunctionCode": update_function_code,
    "UpdateFunctionConfiguration": update_function_configuration,
    "DeleteFunction": delete_function,
    "Invoke": invoke,
    "PutFunctionConcurrency": put_function_concurrency,
    "GetFunctionConcurrency": get_function_concurrency,
    "DeleteFunctionConcurrency": delete_function_concurrency,
    "GetAccountSettings": get_account_settings,
    "CreateEventSourceMapping": create_event_source_mapping,
    "GetEventSourceMapping": get_event_source_mapping,
    "ListEventSourceMappings": list_event_source_mappings,
    "UpdateEventSourceMapping": update_event_source_mapping,
    "DeleteEventSourceMapping": delete_event_source_mapping,
}
