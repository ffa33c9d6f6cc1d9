"""Rules, targets, archives and replays as events.db stores them (a rule's targets as JSON)."""

from __future__ import annotations

import json
from typing import Any

from nimbus.events.model import (
    Archive,
    ArchiveState,
    Replay,
    ReplayState,
    RetryPolicy,
    Rule,
    RuleState,
    Target,
)
from nimbus.events.pattern import compile_pattern
from nimbus.events.target_input import InputTransformer, TargetInput


def rule_from_row(row: tuple[Any, ...]) -> Rule:
    targets = tuple(target_from_json(t) for t in json.loads(row[9]))
    return Rule(
        row[0], row[1], row[2], RuleState(row[3]),
        compile_pattern(row[4]) if row[4] else None,
        row[5], row[6], row[7], row[8], targets,
    )  # fmt: skip


def targets_to_json(targets: tuple[Target, ...]) -> str:
    return json.dumps([target_to_json(t) for t in targets])


def target_to_json(target: Target) -> dict[str, Any]:
    spec = target.input
    transformer = spec.transformer
    retry = target.retry
    return {
        "id": target.id,
        "arn": target.arn,
        "input": spec.input,
        "input_path": spec.input_path,
        "paths": dict(transformer.paths) if transformer else None,
        "template": transformer.template if transformer else None,
        "retry": _retry_json(retry),
        "dlq": target.dead_letter_arn,
        "group": target.message_group_id,
    }


def target_from_json(data: dict[str, Any]) -> Target:
    transformer = None
    if data["template"] is not None:
        transformer = InputTransformer.of(data["paths"] or {}, data["template"])
    retry = data["retry"]
    return Target(
        id=data["id"],
        arn=data["arn"],
        input=TargetInput(data["input"], data["input_path"], transformer),
        retry=None if retry is None else RetryPolicy(*retry),
        dead_letter_arn=data["dlq"],
        message_group_id=data["group"],
    )


def _retry_json(retry: RetryPolicy | None) -> list[int | None] | None:
    return None if retry is None else [retry.maximum_retry_attempts, retry.maximum_event_age_s]


def archive_from_row(row: tuple[Any, ...]) -> Archive:
    name, arn, bus_arn, description, pattern, retention, created, state = row
    compiled = compile_pattern(pattern) if pattern else None
    return Archive(
        name, arn, bus_arn, description, compiled, retention, created, ArchiveState(state)
    )


def replay_from_row(row: tuple[Any, ...]) -> Replay:
    return Replay(
        name=row[0], arn=row[1], archive_arn=row[2], description=row[3], start=row[4],
        end=row[5], destination=row[6], filter_arns=tuple(json.loads(row[7])),
        state=ReplayState(row[8]), reason=row[9], started=row[10], ended=row[11],
        last_replayed=row[12], cursor=row[13],
    )  # fmt: skip
