"""The EventBridge awsJson 1.1 API (`AWSEvents.*`): one handler per operation.

Parameters arrive as the botocore model's input members, already shape-validated (target
ids, name patterns, lengths, the 10-entry PutEvents limit); EventBridge's own rules live
in `nimbus.events`. Shapes are converted in `events_shapes`; archives and replays have
their handlers in `events_archive_api`.
"""

from __future__ import annotations

from nimbus.events.envelope import EntryFailure
from nimbus.events.service import EventsService
from nimbus.gateway import events_archive_api
from nimbus.gateway.adapters import Handler, Params, RequestContext
from nimbus.gateway.events_shapes import bus_shape, entry_of, rule_shape, target_of, target_shape


async def create_event_bus(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    bus = await events.create_event_bus(params["Name"], params.get("Description"))
    return {"EventBusArn": bus.arn, "Description": bus.description}


async def describe_event_bus(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    return bus_shape(events.describe_event_bus(params.get("Name")))


async def list_event_buses(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    buses, token = events.list_event_buses(
        params.get("NamePrefix"), params.get("NextToken"), params.get("Limit")
    )
    return {"EventBuses": [bus_shape(b) for b in buses], "NextToken": token}


async def delete_event_bus(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    await events.delete_event_bus(params["Name"])
    return {}


async def put_rule(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    rule = await events.put_rule(
        params["Name"], params.get("EventBusName"),
        pattern=params.get("EventPattern"), schedule=params.get("ScheduleExpression"),
        state=params.get("State"), description=params.get("Description"),
        role_arn=params.get("RoleArn"),
    )  # fmt: skip
    return {"RuleArn": rule.arn}


async def describe_rule(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    rule = events.describe_rule(params["Name"], params.get("EventBusName"))
    return {**rule_shape(rule), "CreatedBy": ctx.account_id}


async def list_rules(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    rules, token = events.list_rules(
        params.get("EventBusName"), params.get("NamePrefix"),
        params.get("NextToken"), params.get("Limit"),
    )  # fmt: skip
    return {"Rules": [rule_shape(r) for r in rules], "NextToken": token}


async def enable_rule(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    await events.enable_rule(params["Name"], params.get("EventBusName"))
    return {}


async def disable_rule(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    await events.disable_rule(params["Name"], params.get("EventBusName"))
    return {}


async def delete_rule(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    await events.delete_rule(params["Name"], params.get("EventBusName"))
    return {}


async def list_rule_names_by_target(
    events: EventsService, params: Params, ctx: RequestContext
) -> Params:
    names, token = events.list_rule_names_by_target(
        params["TargetArn"], params.get("EventBusName"),
        params.get("NextToken"), params.get("Limit"),
    )  # fmt: skip
    return {"RuleNames": names, "NextToken": token}


async def put_targets(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    targets = [target_of(wire) for wire in params["Targets"]]
    failed = await events.put_targets(params["Rule"], params.get("EventBusName"), targets)
    return {
        "FailedEntryCount": len(failed),
        "FailedEntries": [
            {"TargetId": f.target_id, "ErrorCode": f.code, "ErrorMessage": f.message}
            for f in failed
        ],
    }


async def list_targets_by_rule(
    events: EventsService, params: Params, ctx: RequestContext
) -> Params:
    targets, token = events.list_targets_by_rule(
        params["Rule"], params.get("EventBusName"), params.get("NextToken"), params.get("Limit")
    )
    return {"Targets": [target_shape(t) for t in targets], "NextToken": token}


async def remove_targets(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    await events.remove_targets(params["Rule"], params.get("EventBusName"), params["Ids"])
    return {"FailedEntryCount": 0, "FailedEntries": []}


async def put_events(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    results = await events.put_events([entry_of(wire) for wire in params["Entries"]])
    shaped = [
        {"ErrorCode": r.code, "ErrorMessage": r.message}
        if isinstance(r, EntryFailure)
        else {"EventId": r.event_id}
        for r in results
    ]
    failed = sum(isinstance(r, EntryFailure) for r in results)
    return {"FailedEntryCount": failed, "Entries": shaped}


async def test_event_pattern(events: EventsService, params: Params, ctx: RequestContext) -> Params:
    return {"Result": events.test_event_pattern(params["EventPattern"], params["Event"])}


HANDLERS: dict[str, Handler[EventsService]] = {
    "CreateEventBus": create_event_bus,
    "DescribeEventBus": describe_event_bus,
    "ListEventBuses": list_event_buses,
    "DeleteEventBus": delete_event_bus,
    "PutRule": put_rule,
    "DescribeRule": describe_rule,
    "ListRules": list_rules,
    "EnableRule": enable_rule,
    "DisableRule": disable_rule,
    "DeleteRule": delete_rule,
    "ListRuleNamesByTarget": list_rule_names_by_target,
    "PutTargets": put_targets,
    "ListTargetsByRule": list_targets_by_rule,
    "RemoveTargets": remove_targets,
    "PutEvents": put_events,
    "TestEventPattern": test_event_pattern,
    **events_archive_api.HANDLERS,
}
