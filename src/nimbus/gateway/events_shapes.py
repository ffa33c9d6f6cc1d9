"""EventBridge wire shapes ⇄ the event router's values (buses, rules, targets, entries,
archives, replays)."""

from __future__ import annotations

from datetime import datetime

from nimbus.events.archive import ArchiveStats
from nimbus.events.envelope import EventEntry
from nimbus.events.model import Archive, EventBus, Replay, RetryPolicy, Rule, Target
from nimbus.events.target_input import InputTransformer, TargetInput
from nimbus.gateway.adapters import Params


def bus_shape(bus: EventBus) -> Params:
    return {
        "Name": bus.name,
        "Arn": bus.arn,
        "Description": bus.description,
        "CreationTime": bus.created,
        "LastModifiedTime": bus.created,
    }


def rule_shape(rule: Rule) -> Params:
    return {
        "Name": rule.name,
        "Arn": rule.arn,
        "EventPattern": rule.pattern.text if rule.pattern else None,
        "ScheduleExpression": rule.schedule,
        "State": rule.state.value,
        "Description": rule.description,
        "RoleArn": rule.role_arn,
        "EventBusName": rule.bus,
    }


def target_of(wire: Params) -> Target:
    transformer = wire.get("InputTransformer")
    retry = wire.get("RetryPolicy")
    dead_letter = wire.get("DeadLetterConfig") or {}
    return Target(
        id=wire["Id"],
        arn=wire["Arn"],
        input=TargetInput(
            wire.get("Input"),
            wire.get("InputPath"),
            None
            if transformer is None
            else InputTransformer.of(
                transformer.get("InputPathsMap") or {}, transformer["InputTemplate"]
            ),
        ),
        retry=None
        if retry is None
        else RetryPolicy(retry.get("MaximumRetryAttempts"), retry.get("MaximumEventAgeInSeconds")),
        dead_letter_arn=dead_letter.get("Arn"),
        message_group_id=(wire.get("SqsParameters") or {}).get("MessageGroupId"),
    )


def target_shape(target: Target) -> Params:
    spec = target.input
    shape: Params = {"Id": target.id, "Arn": target.arn, "Input": spec.input,
                     "InputPath": spec.input_path}  # fmt: skip
    if spec.transformer is not None:
        shape["InputTransformer"] = {
            "InputPathsMap": dict(spec.transformer.paths) or None,
            "InputTemplate": spec.transformer.template,
        }
    if target.retry is not None:
        shape["RetryPolicy"] = {
            "MaximumRetryAttempts": target.retry.maximum_retry_attempts,
            "MaximumEventAgeInSeconds": target.retry.maximum_event_age_s,
        }
    if target.dead_letter_arn is not None:
        shape["DeadLetterConfig"] = {"Arn": target.dead_letter_arn}
    if target.message_group_id is not None:
        shape["SqsParameters"] = {"MessageGroupId": target.message_group_id}
    return shape


def entry_of(wire: Params) -> EventEntry:
    when = wire.get("Time")
    return EventEntry(
        source=wire.get("Source"),
        detail_type=wire.get("DetailType"),
        detail=wire.get("Detail"),
        resources=tuple(wire.get("Resources") or ()),
        time=when.timestamp() if isinstance(when, datetime) else None,
        bus=wire.get("EventBusName"),
    )


def archive_shape(archive: Archive, stats: ArchiveStats) -> Params:
    """ListArchives' Archive; DescribeArchive adds ArchiveArn, Description, EventPattern."""
    return {
        "ArchiveName": archive.name,
        "EventSourceArn": archive.bus_arn,
        "State": archive.state.value,
        "RetentionDays": archive.retention_days,
        "SizeBytes": stats.size,
        "EventCount": stats.count,
        "CreationTime": archive.created,
    }


def replay_shape(replay: Replay) -> Params:
    """ListReplays' Replay; DescribeReplay adds ReplayArn, Description, Destination."""
    return {
        "ReplayName": replay.name,
        "EventSourceArn": replay.archive_arn,
        "State": replay.state.value,
        "StateReason": replay.reason,
        "EventStartTime": replay.start,
        "EventEndTime": replay.end,
        "EventLastReplayedTime": replay.last_replayed,
        "ReplayStartTime": replay.started,
        "ReplayEndTime": replay.ended,
    }


def destination_shape(replay: Replay) -> Params:
    shape: Params = {"Arn": replay.destination}
    if replay.filter_arns:
        shape["FilterArns"] = list(replay.filter_arns)
    return shape
