"""The CloudWatch Logs awsJson API: one handler per operation, shapes ⇄ `LogsService` calls.

The log store answers from SQLite (a FilterLogEvents page may search for up to ~100 ms)
and its writes wait for its writer thread, so every handler runs in a worker thread,
never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nimbus.errors import InvalidParameter
from nimbus.gateway.adapters import Handler, Params, RequestContext
from nimbus.telemetry.logs import LogEvent, LogGroup, LogsService, LogStream


def group_name(params: Params) -> str:
    """`logGroupName`, or the name inside `logGroupIdentifier` (a name or an ARN)."""
    name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise InvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier is not None:
        text = str(identifier)
        if text.startswith("arn:"):
            return text.partition(":log-group:")[2].removesuffix(":*")
        return text
    if name is None:
        raise InvalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
    return str(name)


def _group_shape(group: LogGroup) -> Params:
    return {
        "logGroupName": group.name,
        "creationTime": group.created_ms,
        "retentionInDays": group.retention_days,
        "metricFilterCount": 0,
        "arn": group.arn,
        "logGroupArn": group.group_arn,
        "storedBytes": group.stored_bytes,
        "logGroupClass": "STANDARD",
    }


def _stream_shape(stream: LogStream) -> Params:
    return {
        "logStreamName": stream.name,
        "creationTime": stream.created_ms,
        "firstEventTimestamp": stream.first_event_ms,
        "lastEventTimestamp": stream.last_event_ms,
        "lastIngestionTime": stream.last_ingestion_ms,
        "arn": stream.arn,
        "storedBytes": 0,
    }


def _event_shape(event: LogEvent) -> Params:
    return {"timestamp": event.timestamp_ms, "message": event.message,
            "ingestionTime": event.ingestion_ms}  # fmt: skip


def create_log_group(logs: LogsService, params: Params) -> Params:
    logs.create_log_group(params["logGroupName"])
    return {}


def delete_log_group(logs: LogsService, params: Params) -> Params:
    logs.delete_log_group(params["logGroupName"])
    return {}


def put_retention_policy(logs: LogsService, params: Params) -> Params:
    logs.put_retention_policy(params["logGroupName"], params["retentionInDays"])
    return {}


def delete_retention_policy(logs: LogsService, params: Params) -> Params:
    logs.delete_retention_policy(params["logGroupName"])
    return {}


def describe_log_groups(logs: LogsService, params: Params) -> Params:
    page = logs.describe_log_groups(
        params.get("logGroupNamePrefix"), params.get("limit"), params.get("nextToken")
    )
    return {"logGroups": [_group_shape(g) for g in page.items], "nextToken": page.next_token}


def create_log_stream(logs: LogsService, params: Params) -> Params:
    logs.create_log_stream(params["logGroupName"], params["logStreamName"])
    return {}


def describe_log_streams(logs: LogsService, params: Params) -> Params:
    page = logs.describe_log_streams(
        group_name(params),
        params.get("logStreamNamePrefix"),
        params.get("orderBy", "LogStreamName"),
        bool(params.get("descending", False)),
        params.get("limit"),
        params.get("nextToken"),
    )
    return {"logStreams": [_stream_shape(s) for s in page.items], "nextToken": page.next_token}


def put_log_events(logs: LogsService, params: Params) -> Params:
    events = [(e["timestamp"], e["message"]) for e in params["logEvents"]]
    logs.put_log_events(params["logGroupName"], params["logStreamName"], events)
    return {}


def get_log_events(logs: LogsService, params: Params) -> Params:
    page = logs.get_log_events(
        group_name(params),
        params["logStreamName"],
        params.get("startTime"),
        params.get("endTime"),
        params.get("nextToken"),
        params.get("limit"),
        bool(params.get("startFromHead", False)),
    )
    return {
        "events": [_event_shape(e) for e in page.events],
        "nextForwardToken": page.next_forward_token,
        "nextBackwardToken": page.next_backward_token,
    }


def filter_log_events(logs: LogsService, params: Params) -> Params:
    page = logs.filter_log_events(
        group_name(params),
        params.get("logStreamNames"),
        params.get("logStreamNamePrefix"),
        params.get("startTime"),
        params.get("endTime"),
        params.get("filterPattern"),
        params.get("nextToken"),
        params.get("limit"),
    )
    events = [
        {**_event_shape(e), "logStreamName": e.stream, "eventId": e.event_id} for e in page.events
    ]
    return {"events": events, "nextToken": page.next_token}


def in_thread(operation: Callable[[LogsService, Params], Params]) -> Handler[LogsService]:
    async def handler(logs: LogsService, params: Params, ctx: RequestContext) -> Params:
        return await asyncio.to_thread(operation, logs, params)

    return handler


HANDLERS: dict[str, Handler[LogsService]] = {
    "CreateLogGroup": in_thread(create_log_group),
    "DeleteLogGroup": in_thread(delete_log_group),
    "PutRetentionPolicy": in_thread(put_retention_policy),
    "DeleteRetentionPolicy": in_thread(delete_retention_policy),
    "DescribeLogGroups": in_thread(describe_log_groups),
    "CreateLogStream": in_thread(create_log_stream),
    "DescribeLogStreams": in_thread(describe_log_streams),
    "PutLogEvents": in_thread(put_log_events),
    "GetLogEvents": in_thread(get_log_events),
    "FilterLogEvents": in_thread(filter_log_events),
}
