"""QueuesService: SQS queues and messages, durable before acknowledged (no HTTP here).

Queues are addressed by URL (`{endpoint}/{account}/{name}`; any URL whose last two parts
are the account and the name is accepted, so AWS-style URLs work too). Queue state lives
in memory (`Queue`, `MessageIndex`) and every change is group-committed to SQLite
(`QueueStore`) before the call returns; `start` rebuilds memory from the file.

Notification hook for pollers (e.g. a Lambda event source mapping):
`subscribe(queue_arn, callback)` calls `callback()` on the event loop whenever messages
may have become receivable (send, visibility expiry, delay end, visibility set to 0);
it returns the function that unsubscribes. `wait_for_messages(url, timeout)` is the
awaitable form: True as soon as the queue has visible messages, False after `timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from nimbus.queues import store
from nimbus.queues.engine import Delivery, MessageEngine, Outgoing
from nimbus.queues.errors import (
    BatchRequestTooLong,
    InvalidParameterValue,
    QueueDoesNotExist,
    QueueError,
)
from nimbus.queues.index import State
from nimbus.queues.model import (
    BatchFailure,
    BatchResult,
    HandleEntry,
    MessageAttribute,
    QueueStats,
    ReceivedMessage,
    SendEntry,
    SentMessage,
)
from nimbus.queues.receipts import ReceiptCodec
from nimbus.queues.registry import QueueRegistry
from nimbus.queues.validation import validate_batch_entry_ids
from nimbus.store.groupcommit import Statement

SWEEP_INTERVAL_S = 60.0
E = TypeVar("E", SendEntry, HandleEntry)
R = TypeVar("R")


class QueuesService(QueueRegistry):
    """SQS semantics over in-memory indexes and a group-committed SQLite file."""

    def __init__(
        self,
        store_path: Path,
        region: str,
        account: str,
        endpoint: str,
        max_message_size: int = 1_048_576,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(region, account, endpoint, clock)
        self._store_path = store_path
        self._max_message_size = max_message_size
        self._engine: MessageEngine | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the store and rebuild every queue's index from it."""
        self._store = store.QueueStore(self._store_path)
        now = self._clock()
        snapshot = await self._store.load(now)
        self._engine = MessageEngine(
            ReceiptCodec(snapshot.secret),
            self._clock,
            self._account,
            self._max_message_size,
            self._by_arn.get,
        )
        self._restore(snapshot, now)
        self._engine.resume_sequence(max((m.seq for _, m in snapshot.messages), default=0))
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        """Stop the sweeper, wake every waiter and close the store (all commits done)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for queue in self._queues.values():
            queue.close()
        await asyncio.to_thread(self._store.close)

    async def send_message(
        self,
        url: str,
        body: str,
        delay_seconds: int | None = None,
        attributes: Mapping[str, MessageAttribute] | None = None,
        system_attributes: Mapping[str, MessageAttribute] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> SentMessage:
        queue = self._queue(url)
        outgoing = Outgoing(
            body, delay_seconds, attributes or {}, system_attributes or {}, group_id, dedup_id
        )
        sent, statements = self._messages.send(queue, outgoing, batch=False)
        await self._commit(statements)
        return sent

    async def send_message_batch(
        self, url: str, entries: Sequence[SendEntry]
    ) -> BatchResult[SentMessage]:
        """Request errors (ids, count, total size over the largest message) refuse the whole
        batch; an entry's own fault is its failure and the other entries are sent."""
        queue = self._queue(url)
        validate_batch_entry_ids([e.id for e in entries], "SendMessageBatchRequestEntry")
        total = sum(_entry_bytes(entry) for entry in entries)
        if total > self._max_message_size:
            raise BatchRequestTooLong(
                f"Batch requests cannot be longer than {self._max_message_size} bytes. "
                f"You have sent {total} bytes."
            )
        return await self._batch(
            entries,
            lambda e: self._messages.send(queue, _outgoing(e), batch=True),
        )

    async def receive_message(
        self,
        url: str,
        max_messages: int | None = None,
        wait_seconds: float | None = None,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        """Messages now, or (long polling) as soon as any arrive within the wait.

        The API passes whole seconds; in-process pollers may wait a fraction of one.
        """
        queue = self._queue(url)
        limit = 1 if max_messages is None else max_messages
        _check_receive(limit, wait_seconds, visibility_timeout)
        ask = Delivery(
            limit, visibility_timeout, attribute_names, message_attribute_names, attempt_id
        )
        wait = queue.settings.wait_seconds if wait_seconds is None else wait_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            signal = queue.signal
            received, statements = self._messages.receive(queue, ask)
            await self._commit(statements)
            remaining = deadline - loop.time()
            if received or remaining <= 0:
                return received
            await queue.wait(signal, remaining)
            if queue.deleted:
                raise QueueDoesNotExist()

    async def delete_message(self, url: str, receipt_handle: str) -> None:
        queue = self._queue(url)
        await self._commit(self._messages.delete(queue, receipt_handle))

    async def delete_message_batch(
        self, url: str, entries: Sequence[HandleEntry]
    ) -> BatchResult[None]:
        queue = self._queue(url)
        validate_batch_entry_ids([e.id for e in entries], "DeleteMessageBatchRequestEntry")
        return await self._batch(
            entries, lambda e: (None, self._messages.delete(queue, e.receipt_handle))
        )

    async def change_message_visibility(
        self, url: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = self._queue(url)
        statements = self._messages.change_visibility(queue, receipt_handle, visibility_timeout)
        await self._commit(statements)

    async def change_message_visibility_batch(
        self, url: str, entries: Sequence[HandleEntry]
    ) -> BatchResult[None]:
        queue = self._queue(url)
        validate_batch_entry_ids(
            [e.id for e in entries], "ChangeMessageVisibilityBatchRequestEntry"
        )
        return await self._batch(
            entries,
            lambda e: (
                None,
                self._messages.change_visibility(queue, e.receipt_handle, e.visibility_timeout),
            ),
        )

    async def expire(self, now: float) -> int:
        """Delete every message past its queue's retention period; how many went."""
        statements: list[Statement] = [store.expire_dedup(now)]
        for queue in list(self._queues.values()):
            statements += self._messages.expire(queue, now)
        self._forget_deleted(now)
        await self._commit(statements)
        return len(statements) - 1

    def stats(self, url: str) -> QueueStats:
        """Depth of a queue for autoscaling: visible, in flight, delayed, oldest age."""
        queue = self._queue(url)
        now = self._clock()
        queue.index.promote(now)
        counts = queue.index.counts
        oldest = next(iter(queue.index.messages.values()), None)
        age = max(0.0, now - oldest.sent_ms / 1000) if oldest is not None else 0.0
        return QueueStats(
            counts[State.VISIBLE], counts[State.IN_FLIGHT], counts[State.DELAYED], age
        )

    def subscribe(self, queue_arn: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` whenever messages may have become receivable; → unsubscribe."""
        return self._queue(self.url_for_arn(queue_arn)).subscribe(callback)

    async def wait_for_messages(self, url: str, timeout: float) -> bool:
        """True as soon as the queue has visible messages; False after `timeout` seconds."""
        queue = self._queue(url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = queue.signal
            queue.index.promote(self._clock())
            if queue.index.counts[State.VISIBLE]:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0 or queue.deleted:
                return False
            await queue.wait(signal, remaining)

    @property
    def _messages(self) -> MessageEngine:
        if self._engine is None:
            raise RuntimeError("QueuesService.start() was not awaited")
        return self._engine

    async def _batch(
        self, entries: Sequence[E], run: Callable[[E], tuple[R, list[Statement]]]
    ) -> BatchResult[R]:
        """Run each entry; entry errors become failures; one commit for all the rest."""
        successful: list[tuple[str, R]] = []
        failed: list[BatchFailure] = []
        statements: list[Statement] = []
        for entry in entries:
            try:
                value, entry_statements = run(entry)
            except QueueError as error:
                failed.append(BatchFailure(entry.id, error.query_code or error.code, error.message))
                continue
            successful.append((entry.id, value))
            statements += entry_statements
        await self._commit(statements)
        return BatchResult(successful, failed)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            await self.expire(self._clock())


def _check_receive(limit: int, wait: float | None, visibility: int | None) -> None:
    if not 1 <= limit <= 10:
        raise InvalidParameterValue(
            f"Value {limit} for parameter MaxNumberOfMessages is invalid. Reason: Must be "
            "between 1 and 10, if provided."
        )
    if wait is not None and not 0 <= wait <= 20:
        raise InvalidParameterValue(
            f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and "
            "<= 20, if provided."
        )
    if visibility is not None and not 0 <= visibility <= 43_200:
        raise InvalidParameterValue(
            f"Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be "
            "between 0 and 43200, if provided."
        )


def _outgoing(entry: SendEntry) -> Outgoing:
    return Outgoing(
        entry.body,
        entry.delay_seconds,
        entry.attributes,
        entry.system_attributes,
        entry.group_id,
        entry.dedup_id,
    )


def _entry_bytes(entry: SendEntry) -> int:
    """An entry's payload as AWS counts it for the batch limit: body and attributes."""
    size = len(entry.body.encode("utf-8"))
    for name, value in entry.attributes.items():
        size += len(name.encode()) + len(value.data_type.encode())
        size += len((value.string_value or "").encode()) + len(value.binary_value or b"")
    return size
