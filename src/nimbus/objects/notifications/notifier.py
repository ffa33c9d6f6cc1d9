"""Bucket notifications: each bucket's configuration, and the outbox rows of a change.

The configurations are few and read on every write, so they are kept in memory and
written through to the store. For each committed change the writer asks
`outbox_statements` for the rows of the entries the change matches and commits them with
the object row; `wake()` then tells the dispatcher. Without targets nothing is queued
(configurations are still kept), as there is nowhere to deliver to.
"""

from __future__ import annotations

import json
import logging

from nimbus.clock import Clock
from nimbus.objects.errors import UnableToValidateDestinations
from nimbus.objects.model import ObjectChange, RequestInfo
from nimbus.objects.notifications import config as configs
from nimbus.objects.notifications import outbox
from nimbus.objects.notifications.config import (
    Destination,
    DestinationKind,
    NotificationConfiguration,
)
from nimbus.objects.notifications.matching import matching
from nimbus.objects.notifications.outbox import (
    NotificationSettings,
    OutboxDispatcher,
    OutboxKind,
)
from nimbus.objects.notifications.records import Origin, event_bridge_event, s3_record, test_event
from nimbus.objects.notifications.targets import NotificationTargets
from nimbus.objects.notifications.validation import validated
from nimbus.objects.store import ObjectStore
from nimbus.store.groupcommit import Statement

log = logging.getLogger(__name__)

_KINDS = {DestinationKind.QUEUE: OutboxKind.QUEUE, DestinationKind.FUNCTION: OutboxKind.FUNCTION}


class Notifier:
    def __init__(
        self,
        objects: ObjectStore,
        targets: NotificationTargets | None,
        origin: Origin,
        clock: Clock,
        settings: NotificationSettings,
    ) -> None:
        self._store = objects
        self._targets = targets
        self._origin = origin
        self._clock = clock
        rows = objects.read("SELECT bucket, config FROM notification_configs")
        self._configs = {bucket: configs.load(text) for bucket, text in rows}
        self._dispatcher = OutboxDispatcher(objects, targets, settings) if targets else None

    def start(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.start()

    async def stop(self) -> None:
        if self._dispatcher is not None:
            await self._dispatcher.stop()

    def configuration(self, bucket: str) -> NotificationConfiguration:
        return self._configs.get(bucket, NotificationConfiguration())

    async def checked(
        self, config: NotificationConfiguration, skip_destination_validation: bool
    ) -> NotificationConfiguration:
        """The configuration as stored, or the InvalidArgument S3 answers for it."""
        config = validated(config)
        if not skip_destination_validation:
            failures = [f for d in config.destinations if (f := await self._failure(d))]
            if failures:
                raise UnableToValidateDestinations(failures)
        return config

    async def save(self, bucket: str, config: NotificationConfiguration) -> None:
        """Replace the bucket's configuration (the caller holds the bucket open)."""
        if config.is_empty:
            statement: Statement = (
                "DELETE FROM notification_configs WHERE bucket = ?",
                (bucket,),
            )
        else:
            statement = (
                "INSERT OR REPLACE INTO notification_configs VALUES (?, ?)",
                (bucket, configs.dump(config)),
            )
        await self._store.commit([statement])
        if config.is_empty:
            self._configs.pop(bucket, None)
        else:
            self._configs[bucket] = config

    async def send_test_events(
        self, bucket: str, config: NotificationConfiguration, request: RequestInfo
    ) -> None:
        """S3's `s3:TestEvent` to each queue of a saved configuration (not durable)."""
        if self._targets is None:
            return
        body = json.dumps(test_event(bucket, request, self._clock()))
        for arn in dict.fromkeys(d.arn for d in config.queues):
            try:
                await self._targets.send_to_queue(arn, body)
            # The configuration is saved either way; consumers skip test events anyway.
            except Exception:
                log.warning("Could not send s3:TestEvent to %s", arn, exc_info=True)

    def forget(self, bucket: str) -> None:
        """The bucket is deleted (its row went with it)."""
        self._configs.pop(bucket, None)

    def outbox_statements(self, change: ObjectChange) -> list[Statement]:
        """The outbox rows of `change`, to commit with it (none without targets)."""
        config = self._configs.get(change.bucket)
        if config is None or self._dispatcher is None:
            return []
        statements = []
        for destination in matching(config.destinations, "s3:" + change.event.value, change.key):
            kind = _KINDS.get(destination.kind)
            if kind is None:  # topics: there is no SNS to deliver to
                continue
            record = s3_record(change, destination.id or "", self._origin)
            body = json.dumps({"Records": [record]})
            statements.append(outbox.insert(kind, destination.arn, body))
        if config.event_bridge:
            event = json.dumps(event_bridge_event(change, self._origin))
            statements.append(outbox.insert(OutboxKind.EVENT_BUS, "", event))
        return statements

    def wake(self) -> None:
        """Rows were committed: deliver them."""
        if self._dispatcher is not None:
            self._dispatcher.wake()

    async def _failure(self, destination: Destination) -> tuple[str, str] | None:
        """(ArgumentName, ArgumentValue) if the destination does not exist, else None."""
        arn = destination.arn
        if destination.kind is DestinationKind.QUEUE:
            if self._targets and await self._targets.queue_exists(arn):
                return None
            return arn, "The destination queue does not exist"
        if destination.kind is DestinationKind.FUNCTION:
            if self._targets and await self._targets.function_exists(arn):
                return None
            # AWS's recorded answer for a function it cannot invoke (or that is missing).
            return f"{arn}, null", f"Not authorized to invoke function [{arn}]"
        return arn, "The destination topic does not exist"
