"""Buckets: S3's naming rules, creation dates, delete-only-when-empty.

The set of buckets is small and read on every request, so it is kept in memory and
written through to the store (committed before the call returns). Writers hold
`writing(bucket)` around their commits, so a bucket is never deleted under a write whose
row is not committed yet (the delete sees the bucket as not empty).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nimbus.clock import Clock
from nimbus.objects import store
from nimbus.objects.errors import BucketAlreadyOwnedByYou, BucketNotEmpty, NoSuchBucket
from nimbus.objects.model import BucketInfo
from nimbus.objects.names import check_bucket_name
from nimbus.objects.store import ObjectStore


class BucketRegistry:
    def __init__(self, objects: ObjectStore, clock: Clock) -> None:
        self._store = objects
        self._clock = clock
        self._buckets = {bucket.name: bucket for bucket in objects.buckets()}
        self._writes: dict[str, int] = {}

    async def create(self, name: str) -> BucketInfo:
        check_bucket_name(name)
        if name in self._buckets:
            raise BucketAlreadyOwnedByYou(name)
        bucket = BucketInfo(name, self._clock())
        self._buckets[name] = bucket  # claimed now: a concurrent create sees it
        try:
            await self._store.commit([store.put_bucket(bucket)])
        except BaseException:
            del self._buckets[name]
            raise
        return bucket

    def get(self, name: str) -> BucketInfo:
        """The bucket, or NoSuchBucket."""
        try:
            return self._buckets[name]
        except KeyError:
            raise NoSuchBucket(name) from None

    def exists(self, name: str) -> bool:
        return name in self._buckets

    def all(self) -> list[BucketInfo]:
        return sorted(self._buckets.values(), key=lambda bucket: bucket.name)

    @contextmanager
    def writing(self, name: str) -> Iterator[None]:
        """Hold the bucket open for one commit; NoSuchBucket if it is gone."""
        self.get(name)
        self._writes[name] = self._writes.get(name, 0) + 1
        try:
            yield
        finally:
            self._writes[name] -= 1
            if not self._writes[name]:
                del self._writes[name]

    async def delete(self, name: str) -> list[str]:
        """Delete an empty bucket (its unfinished uploads go with it); the blob ids of
        those uploads' parts, for the caller to remove."""
        bucket = self.get(name)
        if name in self._writes or self._store.has_objects(name):
            raise BucketNotEmpty(name)
        parts = [
            part.blob
            for upload in self._store.uploads(name)
            for part in self._store.parts(upload.upload_id)
        ]
        del self._buckets[name]  # no new write can start from here on
        try:
            await self._store.commit(store.delete_bucket(name))
        except BaseException:
            self._buckets[name] = bucket
            raise
        return parts
