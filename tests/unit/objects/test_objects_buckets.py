"""Buckets: S3's name rules, conflicts, listing and delete-only-when-empty."""

from __future__ import annotations

import pytest
from objects_harness import Harness

from nimbus.objects import ObjectsService
from nimbus.objects.errors import (
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
)
from nimbus.objects.names import is_valid_bucket_name


@pytest.mark.parametrize(
    "name",
    ["abc", "my-bucket.logs", "a" * 63, "1bucket", "bucket-1"],
)
def test_valid_bucket_names(name: str) -> None:
    assert is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper",
        "under_score",
        "-start",
        "end-",
        "two..dots",
        "192.168.1.1",
        "xn--bucket",
        "sthree-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "with space",
        "",
    ],
)
def test_invalid_bucket_names(harness: Harness, name: str) -> None:
    async def body(s: ObjectsService) -> None:
        with pytest.raises(InvalidBucketName) as caught:
            await s.create_bucket(name)
        assert caught.value.message == "The specified bucket is not valid."
        assert caught.value.status == 400
        assert caught.value.extra_fields() == {"BucketName": name}

    harness.run(body)


def test_create_head_list_delete(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        created = await s.create_bucket("photos")
        assert created.created == harness.clock.now
        harness.clock.now += 10
        await s.create_bucket("archive")
        assert [b.name for b in await s.list_buckets()] == ["archive", "photos"]
        assert (await s.head_bucket("photos")).created == created.created
        assert await s.bucket_exists("photos")
        with pytest.raises(BucketAlreadyOwnedByYou) as caught:
            await s.create_bucket("photos")
        assert caught.value.status == 409
        assert caught.value.message == (
            "Your previous request to create the named bucket succeeded and you already own it."
        )
        await s.delete_bucket("photos")
        assert not await s.bucket_exists("photos")
        with pytest.raises(NoSuchBucket) as missing:
            await s.head_bucket("photos")
        assert (missing.value.status, missing.value.message) == (
            404,
            "The specified bucket does not exist",
        )
        with pytest.raises(NoSuchBucket):
            await s.delete_bucket("photos")

    harness.run(body)


def test_delete_refuses_a_bucket_with_objects(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("full")
        await s.put_object("full", "k", b"x")
        with pytest.raises(BucketNotEmpty) as caught:
            await s.delete_bucket("full")
        assert (caught.value.status, caught.value.message) == (
            409,
            "The bucket you tried to delete is not empty",
        )
        await s.delete_object("full", "k")
        await s.delete_bucket("full")

    harness.run(body)


def test_delete_bucket_drops_its_unfinished_uploads(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        await s.upload_part("bkt", "k", upload.upload_id, 1, b"part")
        await s.delete_bucket("bkt")
        await s.create_bucket("bkt")
        assert await s.list_multipart_uploads("bkt") == []

    harness.run(body)
    files = [p for p in (harness.data_dir / "objects").rglob("*") if p.is_file()]
    assert files == []


def test_operations_on_a_missing_bucket(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        with pytest.raises(NoSuchBucket):
            await s.put_object("nope", "k", b"")
        with pytest.raises(NoSuchBucket):
            await s.list_objects_v2("nope")
        with pytest.raises(NoSuchBucket):
            await s.delete_object("nope", "k")

    harness.run(body)
