"""The queues themselves: create, look up, list, attributes, tags, delete, purge.

`QueueRegistry` is the queue half of `QueuesService` (the message half is in service.py
and engine.py). It owns the in-memory map of queues and the store they are committed to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from nimbus.paging import InvalidToken, name_page
from nimbus.queues import attributes as attrs
from nimbus.queues import store
from nimbus.queues.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from nimbus.queues.index import State
from nimbus.queues.queue import Queue
from nimbus.queues.store import QueueRow, QueueStore, Snapshot
from nimbus.store.groupcommit import Statement

_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")
PURGE_INTERVAL_S = 60.0
RECREATE_DELAY_S = 60.0
MAX_TAGS = 50


class QueueRegistry:
    """Queues by name and ARN, with the operations that manage them."""

    _store: QueueStore

    def __init__(
        self, region: str, account: str, endpoint: str, clock: Callable[[], float]
    ) -> None:
        self._region = region
        self._account = account
        self._endpoint = endpoint.rstrip("/")
        self._clock = clock
        self._queues: dict[str, Queue] = {}
        self._by_arn: dict[str, Queue] = {}
        self._deleted: dict[str, float] = {}
        self._next_id = 1

    async def create_queue(
        self, name: str, attributes: Mapping[str, str], tags: Mapping[str, str] | None = None
    ) -> str:
        """The queue's URL; idempotent when every given attribute matches the existing one."""
        fifo = attributes.get("FifoQueue", "").lower() == "true"
        _check_name(name, fifo)
        given = attrs.validate(attributes, fifo=fifo)
        existing = self._queues.get(name)
        if existing is not None:
            return _same_queue(existing, given)
        self._check_redrive(given, fifo, self.arn_of(name))
        now = self._clock()
        if now - self._deleted.get(name, -RECREATE_DELAY_S) < RECREATE_DELAY_S:
            raise QueueDeletedRecently(
                "You must wait 60 seconds after deleting a queue before you can create "
                "another with the same name."
            )
        row = QueueRow(self._next_id, name, given, dict(tags or {}), int(now), int(now))
        self._next_id += 1
        queue = self._add(row)
        await self._commit([store.put_queue(row)])
        return queue.url

    def get_queue_url(self, name: str, owner_account: str | None = None) -> str:
        if owner_account not in (None, self._account) or name not in self._queues:
            raise QueueDoesNotExist()
        return self._queues[name].url

    def list_queues(
        self,
        prefix: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[str], str | None]:
        names = (name for name in self._queues if name.startswith(prefix or ""))
        return self._page(names, max_results, next_token)

    def list_dead_letter_source_queues(
        self, url: str, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        arn = self._queue(url).arn
        names = (
            name
            for name, queue in self._queues.items()
            if queue.settings.redrive is not None and queue.settings.redrive.target_arn == arn
        )
        return self._page(names, max_results, next_token)

    def get_queue_attributes(self, url: str, names: Sequence[str]) -> dict[str, str]:
        queue = self._queue(url)
        for name in names:
            unknown = name not in attrs.READABLE or (
                not queue.settings.fifo and name in attrs.FIFO_NAMES
            )
            if name != "All" and unknown:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        values = self._attribute_values(queue)
        if "All" in names:
            return values
        return {name: values[name] for name in names if name in values}

    async def set_queue_attributes(self, url: str, attributes: Mapping[str, str]) -> None:
        queue = self._queue(url)
        fifo = queue.settings.fifo
        if "FifoQueue" in attributes:
            if not fifo:
                raise InvalidAttributeName("Unknown Attribute FifoQueue.")
            raise InvalidAttributeValue(
                "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is "
                "not supported."
            )
        given = attrs.validate(attributes, fifo=fifo)
        self._check_redrive(given, fifo, queue.arn)
        merged = {k: v for k, v in (queue.attributes | given).items() if v != ""}
        modified = int(self._clock())
        queue.set_attributes(merged, modified)
        queue.schedule(self._clock)
        await self._commit([store.update_queue(queue.id, merged, modified)])

    async def delete_queue(self, url: str) -> None:
        queue = self._queue(url)
        del self._queues[queue.name]
        del self._by_arn[queue.arn]
        self._deleted[queue.name] = self._clock()
        queue.index.clear()
        queue.close()
        await self._commit(store.drop_queue(queue.id))

    async def purge_queue(self, url: str) -> None:
        """Delete every message, in flight or not; once per 60 seconds per queue."""
        queue = self._queue(url)
        now = self._clock()
        if queue.purged_at is not None and now - queue.purged_at < PURGE_INTERVAL_S:
            raise PurgeQueueInProgress(
                f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
            )
        queue.purged_at = now
        queue.index.clear()
        await self._commit(store.purge(queue.id))

    async def tag_queue(self, url: str, tags: Mapping[str, str]) -> None:
        queue = self._queue(url)
        merged = queue.tags | dict(tags)
        if len(merged) > MAX_TAGS:
            raise InvalidParameterValue(f"Too many tags added for queue {queue.name}.")
        queue.tags = merged
        await self._commit([store.update_tags(queue.id, merged)])

    async def untag_queue(self, url: str, keys: Sequence[str]) -> None:
        queue = self._queue(url)
        queue.tags = {k: v for k, v in queue.tags.items() if k not in keys}
        await self._commit([store.update_tags(queue.id, queue.tags)])

    def list_queue_tags(self, url: str) -> dict[str, str]:
        return dict(self._queue(url).tags)

    def queue_arn(self, url: str) -> str:
        return self._queue(url).arn

    def url_for_arn(self, arn: str) -> str:
        queue = self._by_arn.get(arn)
        if queue is None:
            raise QueueDoesNotExist()
        return queue.url

    def arn_of(self, name: str) -> str:
        return f"arn:aws:sqs:{self._region}:{self._account}:{name}"

    def _queue(self, url: str) -> Queue:
        """The queue a URL names by its last two parts (account, name)."""
        parts = url.rstrip("/").rsplit("/", 2)
        if len(parts) < 2 or parts[-2] != self._account:
            raise QueueDoesNotExist()
        queue = self._queues.get(parts[-1])
        if queue is None:
            raise QueueDoesNotExist()
        return queue

    def _add(self, row: QueueRow) -> Queue:
        queue = Queue(row, f"{self._endpoint}/{self._account}/{row.name}", self.arn_of(row.name))
        self._queues[row.name] = queue
        self._by_arn[queue.arn] = queue
        self._next_id = max(self._next_id, row.id + 1)
        return queue

    def _restore(self, snapshot: Snapshot, now: float) -> None:
        """Rebuild queues, message indexes and dedup windows from the store."""
        by_id = {row.id: self._add(row) for row in snapshot.queues}
        for queue_id, message in snapshot.messages:
            by_id[queue_id].index.add(message, now)
        for dedup in snapshot.dedup:
            by_id[dedup.queue].remember(dedup)
        for queue in by_id.values():
            queue.schedule(self._clock)

    async def _commit(self, statements: list[Statement]) -> None:
        if statements:
            await self._store.commit(statements)

    def _forget_deleted(self, now: float) -> None:
        self._deleted = {n: t for n, t in self._deleted.items() if now - t < RECREATE_DELAY_S}

    def _attribute_values(self, queue: Queue) -> dict[str, str]:
        index = queue.index
        index.promote(self._clock())
        return attrs.effective(queue.attributes) | {
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(index.counts[State.VISIBLE]),
            "ApproximateNumberOfMessagesNotVisible": str(index.counts[State.IN_FLIGHT]),
            "ApproximateNumberOfMessagesDelayed": str(index.counts[State.DELAYED]),
            "CreatedTimestamp": str(queue.created),
            "LastModifiedTimestamp": str(queue.modified),
        }

    def _check_redrive(self, given: Mapping[str, str], fifo: bool, source_arn: str) -> None:
        """A RedrivePolicy must name an existing queue of the same type that allows it."""
        policy = attrs.parse_redrive_policy(given.get("RedrivePolicy", ""))
        if policy is None:
            return
        text = given["RedrivePolicy"]
        target = self._by_arn.get(policy.target_arn)
        if target is None:
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Dead letter "
                "target does not exist."
            )
        if target.settings.fifo != fifo:
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Dead-letter "
                "queue must be same type of queue as the source."
            )
        if not attrs.allows_source(target.attributes.get("RedriveAllowPolicy", ""), source_arn):
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Queue "
                f"{target.arn} does not allow this queue to use it as a dead-letter queue."
            )

    def _page(
        self, names: Iterable[str], max_results: int | None, next_token: str | None
    ) -> tuple[list[str], str | None]:
        """Queue URLs in name order after `next_token`, at most `max_results` of them."""
        if max_results is not None and not 1 <= max_results <= 1000:
            raise InvalidParameterValue(
                f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults "
                "must be an integer between 1 and 1000."
            )
        try:
            page, token = name_page(names, str, next_token, max_results or 1000)
        except InvalidToken:
            raise InvalidParameterValue("Invalid NextToken value.") from None
        # SQS gives a NextToken only to a caller who set MaxResults
        return [self._queues[name].url for name in page], token if max_results else None


def _check_name(name: str, fifo: bool) -> None:
    if fifo or name.endswith(".fifo"):
        if not (fifo and _FIFO_NAME.fullmatch(name)):
            raise InvalidParameterValue(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, "
                "or underscores, must end with .fifo suffix and be 1 to 80 in length."
            )
    elif not _NAME.fullmatch(name):
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def _same_queue(queue: Queue, given: Mapping[str, str]) -> str:
    current = attrs.effective(queue.attributes)
    for name, value in given.items():
        if current.get(name, "") != value:
            raise QueueNameExists(
                "A queue already exists with the same name and a different value for "
                f"attribute {name}"
            )
    return queue.url
