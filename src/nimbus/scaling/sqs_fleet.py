"""The consumers of one SQS event source mapping, and the manager that runs them all.

A fleet is a controller plus 0..N consumer tasks. Idle (no consumers), the controller waits
in a long poll on the queue's notification (`QueuesService.wait_for_messages`), so an
empty queue costs no CPU. When messages arrive it asks the `Scaler` how many consumers the
backlog needs every `TICK_S`, starts them at once and lets surplus ones finish their batch
and exit after the cooldown. Each consumer receives a batch (up to BatchSize, waiting up
to MaximumBatchingWindowInSeconds), drops the messages the filters reject (deleted, as
Lambda does), invokes the function synchronously with Lambda's SQS event, and deletes what
succeeded: the whole batch, or all but the reported `batchItemFailures`. A failed batch is
left to come back after the visibility timeout and, through the queue's redrive policy,
to reach its dead-letter queue.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.errors import NimbusError, TooManyRequests
from nimbus.events.pattern import EventPattern
from nimbus.functions.invoke import InvokeRequest, InvokeResult
from nimbus.functions.mappings import EventSourceMapping
from nimbus.queues.md5 import md5_of_attributes, md5_of_body
from nimbus.queues.model import HandleEntry, MessageAttribute, ReceivedMessage
from nimbus.queues.service import QueuesService
from nimbus.scaling.scaler import Decision, Observation, Scaler, ScalingPolicy

logger = logging.getLogger(__name__)
TICK_S = 0.25
IDLE_WAIT_S = 20.0  # one long poll per 20 s while the queue stays empty
RECEIVE_WAIT_S = 1
THROTTLE_BACKOFF_S = 0.5
HISTORY = 2400  # decisions kept per mapping (10 minutes at one per tick)

Invoke = Callable[[InvokeRequest], Awaitable[InvokeResult]]


@dataclass(frozen=True)
class FleetStatus:
    mapping: EventSourceMapping
    running: int
    last: Decision | None
    processed: int
    failed: int
    filtered: int


class QueueFleet:
    def __init__(
        self,
        mapping: EventSourceMapping,
        queues: QueuesService,
        invoke: Invoke,
        policy: ScalingPolicy,
        region: str,
    ) -> None:
        self.mapping = mapping
        self._queues = queues
        self._invoke = invoke
        self._scaler = Scaler(policy)
        self._region = region
        self._patterns: list[EventPattern] = mapping.patterns()
        self._desired = 0
        self._consumers: set[asyncio.Task[None]] = set()
        self._controller: asyncio.Task[None] | None = None
        self.decisions: deque[Decision] = deque(maxlen=HISTORY)
        self.processed = self.failed = self.filtered = 0

    def start(self) -> None:
        self._controller = asyncio.create_task(self._control(), name=f"fleet-{self.mapping.uuid}")

    def reconfigure(self, mapping: EventSourceMapping, policy: ScalingPolicy) -> None:
        self.mapping = mapping
        self._patterns = mapping.patterns()
        self._scaler.policy = policy

    async def stop(self) -> None:
        tasks = [t for t in (self._controller, *self._consumers) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def status(self) -> FleetStatus:
        last = self.decisions[-1] if self.decisions else None
        return FleetStatus(self.mapping, len(self._consumers), last, self.processed,
                           self.failed, self.filtered)  # fmt: skip

    # -- the controller ----------------------------------------------------------------------

    async def _control(self) -> None:
        while True:
            try:
                url = self._queues.url_for_arn(self.mapping.event_source_arn)
            except NimbusError:
                await asyncio.sleep(IDLE_WAIT_S)  # the queue is gone; it may come back
                continue
            if not self._consumers and not await self._queues.wait_for_messages(url, IDLE_WAIT_S):
                continue
            stats = self._queues.stats(url)
            observation = Observation(time.time(), stats.visible, stats.in_flight,
                                      stats.oldest_age_s)  # fmt: skip
            decision = self._scaler.decide(observation, len(self._consumers))
            self.decisions.append(decision)
            self._resize(decision.desired, url)
            await asyncio.sleep(TICK_S)

    def _resize(self, desired: int, url: str) -> None:
        self._desired = desired
        while len(self._consumers) < desired:
            index = len(self._consumers)
            task = asyncio.create_task(self._consume(url, index))
            self._consumers.add(task)
            task.add_done_callback(self._consumers.discard)

    # -- one consumer --------------------------------------------------------------------------

    async def _consume(self, url: str, index: int) -> None:
        try:
            while index < self._desired:
                batch = await self._collect(url)
                if batch:
                    await self._process(url, batch)
        except asyncio.CancelledError:
            raise
        except NimbusError as error:  # the queue was deleted under us, and the like
            logger.warning("mapping %s: consumer stopped: %s", self.mapping.uuid, error.message)

    async def _collect(self, url: str) -> list[ReceivedMessage]:
        """Up to BatchSize messages, waiting at most the batching window for a full batch."""
        mapping = self.mapping
        loop = asyncio.get_running_loop()
        deadline = loop.time() + mapping.batching_window_s
        batch: list[ReceivedMessage] = []
        while len(batch) < mapping.batch_size:
            remaining = deadline - loop.time()
            wait = RECEIVE_WAIT_S if not batch else max(0, min(20, int(remaining)))
            received = await self._queues.receive_message(
                url, min(10, mapping.batch_size - len(batch)), wait_seconds=wait,
                attribute_names=["All"], message_attribute_names=["All"],
            )  # fmt: skip
            batch += received
            if not received and (not batch or remaining <= 0):
                break
            if remaining <= 0 and batch:
                break
        return batch

    async def _process(self, url: str, batch: list[ReceivedMessage]) -> None:
        started = time.monotonic()
        records = [self._record(message) for message in batch]
        wanted = [r for r in records if self._passes(r)]
        dropped = [r for r in records if r not in wanted]
        if dropped:
            self.filtered += len(dropped)
            await self._delete(url, dropped)
        if not wanted:
            return
        payload = json.dumps({"Records": wanted}).encode()
        request = InvokeRequest(function=self.mapping.function_arn, payload=payload)
        try:
            result = await self._invoke(request)
        except TooManyRequests:
            await asyncio.sleep(THROTTLE_BACKOFF_S)  # the batch returns after its timeout
            return
        failed_ids = self._failures(result, wanted)
        succeeded = [r for r in wanted if r["messageId"] not in failed_ids]
        self.failed += len(wanted) - len(succeeded)
        self.processed += len(succeeded)
        await self._delete(url, succeeded)
        self._scaler.observe_batch(len(batch), time.monotonic() - started)

    def _failures(self, result: InvokeResult, records: Sequence[dict[str, Any]]) -> set[str]:
        """The message ids to leave in the queue (Lambda's partial batch response rules)."""
        every = {str(r["messageId"]) for r in records}
        if result.function_error:
            return every
        if not self.mapping.report_item_failures:
            return set()
        return reported_failures(result.payload, every)

    def _passes(self, record: dict[str, Any]) -> bool:
        if not self._patterns:
            return True
        subject = dict(record)
        with contextlib.suppress(ValueError, TypeError):
            body = json.loads(record["body"])
            if isinstance(body, dict):
                subject["body"] = body
        return any(pattern.matches(subject) for pattern in self._patterns)

    async def _delete(self, url: str, records: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            entries = [HandleEntry(str(i), r["receiptHandle"]) for i, r in enumerate(chunk)]
            await self._queues.delete_message_batch(url, entries)

    def _record(self, message: ReceivedMessage) -> dict[str, Any]:
        return {
            "messageId": message.message_id,
            "receiptHandle": message.receipt_handle,
            "body": message.body,
            "attributes": message.attributes,
            "messageAttributes": {
                name: _attribute(value) for name, value in message.message_attributes.items()
            },
            "md5OfMessageAttributes": md5_of_attributes(message.message_attributes),  # or null
            "md5OfBody": md5_of_body(message.body),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.event_source_arn,
            "awsRegion": self._region,
        }


def reported_failures(payload: bytes, every: set[str]) -> set[str]:
    """`batchItemFailures` of a partial batch response; all of `every` if it is malformed.

    No response, an empty or null list, or a payload that is not a JSON object is complete
    success; an item without a string `itemIdentifier` naming a message of the batch fails
    the whole batch.
    """
    try:
        response = json.loads(payload) if payload else None
    except ValueError:
        return set()
    items = response.get("batchItemFailures") if isinstance(response, dict) else None
    if not items:
        return set()
    failed: set[str] = set()
    for item in items if isinstance(items, list) else [None]:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in every:
            return every
        failed.add(identifier)
    return failed


def _attribute(value: MessageAttribute) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.data_type,
    }
    if value.string_value is not None:
        shaped["stringValue"] = value.string_value
    if value.binary_value is not None:
        shaped["binaryValue"] = base64.b64encode(value.binary_value).decode()
    return shaped


class FleetManager:
    """One fleet per enabled mapping; follows the mapping registry's changes."""

    def __init__(
        self,
        queues: QueuesService,
        invoke: Invoke,
        region: str,
        default_maximum: int,
        target_drain_s: float,
        scale_in_cooldown_s: float,
    ) -> None:
        self._queues = queues
        self._invoke = invoke
        self._region = region
        self._default_maximum = default_maximum
        self._target_drain_s = target_drain_s
        self._cooldown_s = scale_in_cooldown_s
        self._fleets: dict[str, QueueFleet] = {}
        self._started = False
        self._stopping: set[asyncio.Task[None]] = set()

    def policy(self, mapping: EventSourceMapping) -> ScalingPolicy:
        maximum = mapping.maximum_concurrency or self._default_maximum
        return ScalingPolicy(maximum, self._target_drain_s, self._cooldown_s,
                             initial=min(5, maximum))  # fmt: skip

    def start(self, mappings: Sequence[EventSourceMapping]) -> None:
        self._started = True
        for mapping in mappings:
            self.changed(mapping, deleted=False)

    def changed(self, mapping: EventSourceMapping, deleted: bool) -> None:
        """Registry listener: start, reconfigure or stop the mapping's fleet."""
        if not self._started:
            return
        fleet = self._fleets.get(mapping.uuid)
        if deleted or not mapping.enabled:
            if fleet is not None:
                del self._fleets[mapping.uuid]
                task = asyncio.create_task(fleet.stop())
                self._stopping.add(task)
                task.add_done_callback(self._stopping.discard)
            return
        if fleet is None:
            fleet = self._fleets[mapping.uuid] = QueueFleet(
                mapping, self._queues, self._invoke, self.policy(mapping), self._region
            )
            fleet.start()
        else:
            fleet.reconfigure(mapping, self.policy(mapping))

    def statuses(self) -> list[FleetStatus]:
        return [fleet.status() for fleet in self._fleets.values()]

    def fleet(self, mapping_id: str) -> QueueFleet | None:
        return self._fleets.get(mapping_id)

    async def stop(self) -> None:
        fleets, self._fleets = list(self._fleets.values()), {}
        for fleet in fleets:
            await fleet.stop()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
