"""EventBridge's archive and replay operations (`AWSEvents.*`): one handler per operation.

Parameters arrive shape-validated by the botocore model (name patterns and lengths, ARN
patterns, RetentionDays >= 0, State enums, timestamps as datetimes); the rules of
archives and replays live in `nimbus.events.archive` and `nimbus.events.replay`.
"""

from __future__ import annotations

from nimbus.events.model import Archive
from nimbus.events.service import EventsService
from nimbus.gateway.adapters import Handler, Params, RequestContext
from nimbus.gateway.events_shapes import archive_shape, destination_shape, replay_shape


async def create_archive(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    archive = await events.archives.create(
        params["ArchiveName"], params["EventSourceArn"],
        pattern=params.get("EventPattern"), description=params.get("Description"),
        retention_days=params.get("RetentionDays"),
    )  # fmt: skip
    return _archive_ack(archive)


async def describe_archive(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    archive = events.archives.get(params["ArchiveName"])
    return {
        **archive_shape(archive, events.archives.stats(archive.name)),
        "ArchiveArn": archive.arn,
        "Description": archive.description,
        "EventPattern": archive.pattern.text if archive.pattern else None,
    }


async def list_archives(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    archives, token = events.archives.page(
        params.get("NamePrefix"), params.get("EventSourceArn"), params.get("State"),
        params.get("NextToken"), params.get("Limit"),
    )  # fmt: skip
    shaped = [archive_shape(a, events.archives.stats(a.name)) for a in archives]
    return {"Archives": shaped, "NextToken": token}


async def update_archive(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    archive = await events.archives.update(
        params["ArchiveName"], pattern=params.get("EventPattern"),
        description=params.get("Description"), retention_days=params.get("RetentionDays"),
    )  # fmt: skip
    return _archive_ack(archive)


async def delete_archive(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    await events.archives.delete(params["ArchiveName"])
    return {}


async def start_replay(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    destination = params["Destination"]
    replay = await events.replays.start_replay(
        params["ReplayName"], params["EventSourceArn"],
        params["EventStartTime"].timestamp(), params["EventEndTime"].timestamp(),
        destination["Arn"], tuple(destination.get("FilterArns") or ()),
        params.get("Description"),
    )  # fmt: skip
    return {"ReplayArn": replay.arn, "State": replay.state.value,
            "ReplayStartTime": replay.started}  # fmt: skip


async def describe_replay(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    replay = events.replays.get(params["ReplayName"])
    return {
        **replay_shape(replay),
        "ReplayArn": replay.arn,
        "Description": replay.description,
        "Destination": destination_shape(replay),
    }


async def list_replays(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    replays, token = events.replays.page(
        params.get("NamePrefix"), params.get("State"), params.get("EventSourceArn"),
        params.get("NextToken"), params.get("Limit"),
    )  # fmt: skip
    return {"Replays": [replay_shape(r) for r in replays], "NextToken": token}


async def cancel_replay(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    replay = await events.replays.cancel(params["ReplayName"])
    return {"ReplayArn": replay.arn, "State": replay.state.value}


HANDLERS: dict[str, Handler[EventsService]] = {
    "CreateArchive": create_archive,
    "DescribeArchive": describe_archive,
    "ListArchives": list_archives,
    "UpdateArchive": update_archive,
    "DeleteArchive": delete_archive,
    "StartReplay": start_replay,
    "DescribeReplay": describe_replay,
    "ListReplays": list_replays,
    "CancelReplay": cancel_replay,
}


def _archive_ack(archive: Archive) -> Params:
    """What CreateArchive and UpdateArchive answer."""
    state = archive.state.value
    return {"ArchiveArn": archive.arn, "State": state, "CreationTime": archive.created}
