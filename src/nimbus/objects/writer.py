"""Committing object versions: the one path every create and delete takes.

For one key at a time (a per-key lock, held only around the commit, never while a body
streams): read the row being replaced, commit the new row with the next sequencer, then
unlink the replaced blob and tell the `on_change` hook. An object is therefore visible,
and acknowledged, only once its file is renamed into place and its row committed; a
blob whose commit failed is removed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from nimbus.clock import Clock
from nimbus.objects import store
from nimbus.objects.blobs import BlobStore
from nimbus.objects.buckets import BucketRegistry
from nimbus.objects.model import ChangeHook, EventName, ObjectChange
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
        on_change: ChangeHook | None,
    ) -> None:
        self._store = objects
        self._buckets = buckets
        self._blobs = blobs
        self._sequencer = sequencer
        self._clock = clock
        self._on_change = on_change
        self._locks = KeyLocks()

    async def publish(
        self, record: ObjectRecord, event: EventName, also: Sequence[Statement] = ()
    ) -> None:
        """Make `record` the key's object (with `also` in the same commit), then notify."""
        info = record.info
        key = info.key.encode()
        async with self._locks.hold(info.bucket, key):
            old = self._store.get_object(info.bucket, key)
            sequencer, counter = self._sequencer.next()
            try:
                with self._buckets.writing(info.bucket):
                    await self._store.commit([store.put_object(record), counter, *also])
            except BaseException:
                await self._blobs.remove([record.blob])
                raise
            if old is not None:
                await self._blobs.remove([old.blob])
        change = ObjectChange(
            info.bucket,
            info.key,
            event,
            sequencer,
            info.last_modified,
            info.size,
            info.etag.strip('"'),
        )
        await self._notify(change)

    async def delete(self, bucket: str, key: str) -> bool:
        """Remove the key's object if there is one; whether there was."""
        raw = key.encode()
        async with self._locks.hold(bucket, raw):
            old = self._store.get_object(bucket, raw)
            if old is None:
                return False
            sequencer, counter = self._sequencer.next()
            await self._store.commit([store.delete_object(bucket, raw), counter])
            await self._blobs.remove([old.blob])
        await self._notify(ObjectChange(bucket, key, EventName.DELETE, sequencer, self._clock()))
        return True

    async def set_tags(self, bucket: str, key: str, tags: dict[str, str]) -> bool:
        """Replace the key's tag set; False if there is no such object."""
        raw = key.encode()
        async with self._locks.hold(bucket, raw):
            if self._store.get_object(bucket, raw) is None:
                return False
            await self._store.commit([store.set_tags(bucket, raw, tags)])
        return True

    async def _notify(self, change: ObjectChange) -> None:
        if self._on_change is not None:
            await self._on_change(change)
