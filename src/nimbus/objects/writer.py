"""Committing object versions: the one path every create and delete takes.

For one key at a time (a per-key lock, held only around the commit, never while a body
streams): read the row being replaced, commit the new row with the next sequencer and
the change's notification outbox rows (one transaction: a change is never durable
without its notifications), then wake the outbox dispatcher and unlink the replaced
blob. An object is therefore visible, and acknowledged, only once its file is renamed
into place and its row committed; a blob whose commit failed is removed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from nimbus.clock import Clock
from nimbus.objects import store
from nimbus.objects.blobs import BlobStore
from nimbus.objects.buckets import BucketRegistry
from nimbus.objects.model import EventName, ObjectChange, RequestInfo
from nimbus.objects.notifications.notifier import Notifier
from nimbus.objects.sequencer import Sequencer
from nimbus.objects.store import ObjectRecord, ObjectStore
from nimbus.store.groupcommit import Statement


class KeyLocks:
    """One asyncio lock per (bucket, key) in use; forgotten when nobody holds it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, bytes], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, bucket: str, key: bytes) -> AsyncIterator[None]:
        name = (bucket, key)
        lock, users = self._locks.get(name, (asyncio.Lock(), 0))
        self._locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[name]
            if users == 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)


class ObjectWriter:
    def __init__(
        self,
        objects: ObjectStore,
        buckets: BucketRegistry,
        blobs: BlobStore,
        sequencer: Sequencer,
        clock: Clock,
        notifier: Notifier,
    ) -> None:
        self._store = objects
        self._buckets = buckets
        self._blobs = blobs
        self._sequencer = sequencer
        self._clock = clock
        self._notifier = notifier
        self._locks = KeyLocks()

    async def publish(
        self,
        record: ObjectRecord,
        event: EventName,
        request: RequestInfo,
        also: Sequence[Statement] = (),
        *,
        owned: bool = True,
    ) -> None:
        """Make `record` the key's object, with `also` and its notifications in the same
        commit. If the commit fails, `record`'s files are removed when `owned` (nothing
        else refers to them)."""
        info = record.info
        key = info.key.encode()
        async with self._locks.hold(info.bucket, key):
            old = self._store.get_object(info.bucket, key)
            sequencer, counter = self._sequencer.next()
            change = ObjectChange(
                info.bucket,
                info.key,
                event,
                sequencer,
                info.last_modified,
                request,
                info.size,
                info.etag.strip('"'),
            )
            try:
                with self._buckets.writing(info.bucket):
                    await self._commit([store.put_object(record), counter, *also], change)
            except BaseException:
                if owned:
                    await self._blobs.remove([record.blob])
                raise
            if old is not None:
                await self._blobs.remove([old.blob])

    async def delete(self, bucket: str, key: str, request: RequestInfo) -> bool:
        """Remove the key's object if there is one; whether there was."""
        raw = key.encode()
        async with self._locks.hold(bucket, raw):
            old = self._store.get_object(bucket, raw)
            if old is None:
                return False
            sequencer, counter = self._sequencer.next()
            change = ObjectChange(bucket, key, EventName.DELETE, sequencer, self._clock(), request)
            await self._commit([store.delete_object(bucket, raw), counter], change)
            await self._blobs.remove([old.blob])
        return True

    async def set_tags(self, bucket: str, key: str, tags: dict[str, str]) -> bool:
        """Replace the key's tag set; False if there is no such object."""
        raw = key.encode()
        async with self._locks.hold(bucket, raw):
            if self._store.get_object(bucket, raw) is None:
                return False
            await self._store.commit([store.set_tags(bucket, raw, tags)])
        return True

    async def _commit(self, statements: list[Statement], change: ObjectChange) -> None:
        notifications = self._notifier.outbox_statements(change)
        await self._store.commit([*statements, *notifications])
        if notifications:
            self._notifier.wake()
