"""The consumers of one SQS event source mapping, and the manager that runs them all.

A fleet is a controller plus 0..N consumer tasks. Idle (no consumers), the controller waits
in a long poll on the queue's notification (`QueuesService.wait_for_messages`), so an
empty queue costs no CPU. When messages arrive it asks the `Scaler` how many consumers the
backlog needs every `TICK_S`, starts them at once and lets surplus ones finish their batch
and exit after the cooldown. Each consumer gathers a batch, drops the messages the filters
reject (deleted, as Lambda does), invokes the function synchronously with Lambda's SQS
event, and deletes what succeeded: the whole batch, or all but the reported
`batchItemFailures`. A failed batch is left to come back after the visibility timeout and,
through the queue's redrive policy, to reach its dead-letter queue.

Gathering a batch. Without a batching window a consumer sends what one receive returns.
With MaximumBatchingWindowInSeconds the window opens at the batch's first message and the
consumer keeps long-polling (each receive returns as soon as a message arrives; nothing
sleeps) until the batch holds BatchSize messages, the window has passed, or the next
message would take the event past the synchronous payload limit (6 MB). Only one consumer
of a fleet gathers under a window at a time, so a trickle of messages makes one batch, not
one per consumer; invocations still overlap. A message that did not fit is carried into
the same consumer's next batch (so a FIFO group's order holds); if the batch before it
failed on a FIFO queue, carried messages are made visible again instead, behind the
failed ones.
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

from nimbus.clock import Clock
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
MAX_RECEIVE_WAIT_S = 20.0  # SQS's longest long poll
MAX_RECEIVE = 10  # SQS's most messages per receive (and per delete or visibility batch)
THROTTLE_BACKOFF_S = 0.5
HISTORY = 2400  # decisions kept per mapping (10 minutes at one per tick)
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda's synchronous invocation payload
_OPEN, _SEPARATOR, _CLOSE = b'{"Records": [', b", ", b"]}"  # json.dumps({"Records": [...]})

Invoke = Callable[[InvokeRequest], Awaitable[InvokeResult]]


@dataclass(frozen=True, slots=True)
class Item:
    """One received message with the record Lambda's event carries for it, as JSON."""

    message: ReceivedMessage
    record: dict[str, Any]
    encoded: bytes


class Batch:
    """The items of one invocation: at most `size`, and an event within `payload_limit`."""

    def __init__(self, size: int, payload_limit: int) -> None:
        self.items: list[Item] = []
        self._size = size
        self._room = payload_limit - len(_OPEN) - len(_CLOSE)
        self._closed = False

    @property
    def full(self) -> bool:
        """BatchSize reached, or a message did not fit in the payload."""
        return self._closed or len(self.items) >= self._size

    @property
    def wanted(self) -> int:
        return self._size - len(self.items)

    def add(self, items: Sequence[Item]) -> list[Item]:
        """Take `items` in order while they fit; the rest (to carry to a next batch)."""
        for position, item in enumerate(items):
            cost = len(item.encoded) + (len(_SEPARATOR) if self.items else 0)
            if len(self.items) >= self._size or (self.items and cost > self._room):
                self._closed = True
                return list(items[position:])
            self.items.append(item)  # a lone record always goes, whatever its size
            self._room -= cost
        return []

    @staticmethod
    def payload(items: Sequence[Item]) -> bytes:
        """The event `{"Records": [...]}`, byte for byte what json.dumps would give."""
        return _OPEN + _SEPARATOR.join(item.encoded for item in items) + _CLOSE


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
        payload_limit: int = SYNC_PAYLOAD_LIMIT,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self.mapping = mapping
        self._queues = queues
        self._invoke = invoke
        self._scaler = Scaler(policy)
        self._region = region
        self._payload_limit = payload_limit
        self._gathering = asyncio.Lock()  # one consumer gathers under a batching window
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
            observation = Observation(self._clock(), stats.visible, stats.in_flight,
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
        carry: list[Item] = []
        try:
            while index < self._desired:
                batch, carry = await self._collect(url, index, carry)
                if batch and not await self._process(url, batch) and carry and self.mapping.fifo:
                    await self._release(url, carry)  # behind the failed ones, in order
                    carry = []
            await self._release(url, carry)
        except asyncio.CancelledError:
            raise
        except NimbusError as error:  # the queue was deleted under us, and the like
            logger.warning("mapping %s: consumer stopped: %s", self.mapping.uuid, error.message)

    async def _collect(
        self, url: str, index: int, carry: list[Item]
    ) -> tuple[list[Item], list[Item]]:
        """The next batch and what is carried past it (see the module's docstring)."""
        if not self.mapping.batching_window_s:
            return await self._gather(url, carry)
        async with self._gathering:
            if index >= self._desired:  # scaled in while waiting for its turn
                return [], carry
            return await self._gather(url, carry)

    async def _gather(self, url: str, carry: list[Item]) -> tuple[list[Item], list[Item]]:
        mapping = self.mapping
        batch = Batch(mapping.batch_size, self._payload_limit)
        carry = batch.add(carry)
        if not batch.items:
            carry = batch.add(await self._receive(url, batch.wanted, RECEIVE_WAIT_S))
            if not batch.items:
                return [], carry
        loop = asyncio.get_running_loop()
        deadline = loop.time() + mapping.batching_window_s  # opens at the first message
        while not batch.full and (remaining := deadline - loop.time()) > 0:
            wait = min(remaining, MAX_RECEIVE_WAIT_S)
            carry = batch.add(await self._receive(url, batch.wanted, wait))
        return batch.items, carry

    async def _receive(self, url: str, count: int, wait: float) -> list[Item]:
        """Up to `count` messages (10 at most), long-polling up to `wait` seconds."""
        received = await self._queues.receive_message(
            url, min(MAX_RECEIVE, count), wait_seconds=wait,
            attribute_names=["All"], message_attribute_names=["All"],
        )  # fmt: skip
        items = []
        for message in received:
            record = self._record(message)
            items.append(Item(message, record, json.dumps(record).encode()))
        return items

    async def _process(self, url: str, batch: list[Item]) -> bool:
        """Filter, invoke and delete what succeeded; True if nothing failed."""
        started = time.monotonic()
        wanted: list[Item] = []
        dropped: list[Item] = []
        for item in batch:
            (wanted if self._passes(item.record) else dropped).append(item)
        if dropped:
            self.filtered += len(dropped)
            await self._delete(url, dropped)
        if not wanted:
            return True
        request = InvokeRequest(function=self.mapping.function_arn, payload=Batch.payload(wanted))
        try:
            result = await self._invoke(request)
        except TooManyRequests:
            await asyncio.sleep(THROTTLE_BACKOFF_S)  # the batch returns after its timeout
            return False
        failed_ids = self._failures(result, [item.record for item in wanted])
        succeeded = [item for item in wanted if item.message.message_id not in failed_ids]
        self.failed += len(wanted) - len(succeeded)
        self.processed += len(succeeded)
        await self._delete(url, succeeded)
        self._scaler.observe_batch(len(batch), time.monotonic() - started)
        return not failed_ids

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

    async def _delete(self, url: str, items: Sequence[Item]) -> None:
        for start in range(0, len(items), MAX_RECEIVE):
            chunk = items[start : start + MAX_RECEIVE]
            entries = [HandleEntry(str(i), it.message.receipt_handle) for i, it in enumerate(chunk)]
            await self._queues.delete_message_batch(url, entries)

    async def _release(self, url: str, items: Sequence[Item]) -> None:
        """Make received messages visible again at once (they were not sent)."""
        for start in range(0, len(items), MAX_RECEIVE):
            chunk = items[start : start + MAX_RECEIVE]
            entries = [
                HandleEntry(str(i), item.message.receipt_handle, visibility_timeout=0)
                for i, item in enumerate(chunk)
            ]
            await self._queues.change_message_visibility_batch(url, entries)

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
        payload_limit: int = SYNC_PAYLOAD_LIMIT,
        clock: Clock = time.time,
    ) -> None:
        self._clock = clock
        self._queues = queues
        self._invoke = invoke
        self._region = region
        self._payload_limit = payload_limit  # the invoker's synchronous payload limit
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
                mapping, self._queues, self._invoke, self.policy(mapping), self._region,
                self._payload_limit, self._clock,
            )  # fmt: skip
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
