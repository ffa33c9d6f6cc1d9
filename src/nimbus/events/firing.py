"""One firing of a scheduled rule: the event EventBridge sends, and how it is committed.

A scheduled rule's event (../shared/aws-semantics.md §1.1) has `source` "aws.events",
`detail-type` "Scheduled Event", the rule's ARN as its only resource, an empty detail and
the scheduled time (whole seconds, UTC) as its `time`. It goes to that rule's targets
only, never matched against other rules' patterns, through the router's delivery path
(rows committed, then delivered with retries). The rule's schedule mark is committed with
those rows, so a firing is neither lost nor doubled by a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from nimbus.events import store
from nimbus.events.envelope import Envelope, iso_time
from nimbus.events.model import Rule
from nimbus.store.groupcommit import Statement

SCHEDULED_SOURCE = "aws.events"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"

Fire = Callable[[Rule, float], Awaitable[None]]
"""Fire `rule` for its scheduled time (epoch seconds): deliver and mark, atomically."""


class RuleRouter(Protocol):
    """The router's one call a firing needs (`EventRouter.put_to_rule`)."""

    async def put_to_rule(
        self, rule: Rule, envelope: Envelope, also: Sequence[Statement] = ()
    ) -> None: ...


def scheduled_event(rule: Rule, fired: float, *, account: str, region: str) -> Envelope:
    """The envelope of `rule`'s firing for the scheduled time `fired`."""
    event_id = str(uuid.uuid4())
    fields = {
        "version": "0",
        "id": event_id,
        "detail-type": SCHEDULED_DETAIL_TYPE,
        "source": SCHEDULED_SOURCE,
        "account": account,
        "time": iso_time(fired),
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }
    return Envelope(event_id, fields)


def fire_scheduled(router: RuleRouter, *, account: str, region: str) -> Fire:
    """A `Fire` that hands each firing, with its schedule mark, to `router` in one commit."""

    async def fire(rule: Rule, fired: float) -> None:
        envelope = scheduled_event(rule, fired, account=account, region=region)
        await router.put_to_rule(rule, envelope, [store.mark_schedule(rule.arn, fired)])

    return fire
