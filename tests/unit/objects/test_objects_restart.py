"""Durability: a reopened data dir has every acknowledged object; crash leftovers go."""

from __future__ import annotations

import pytest
from objects_harness import EVENT_BRIDGE, Harness

from nimbus.objects import CompletedPart, ObjectAttributes, ObjectsService
from nimbus.objects.errors import InvalidArgument


def test_objects_buckets_and_uploads_survive_a_restart(harness: Harness) -> None:
    saved: dict[str, object] = {}

    async def first(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        await s.put_bucket_notification_configuration("bkt", EVENT_BRIDGE)
        saved["put"] = await s.put_object(
            "bkt", "dir/k", b"persisted", attributes=ObjectAttributes(metadata={"a": "b"})
        )
        await s.put_object("bkt", "gone", b"x")
        await s.delete_object("bkt", "gone")
        upload = await s.create_multipart_upload("bkt", "big")
        saved["upload"] = upload.upload_id
        saved["part"] = await s.upload_part("bkt", "big", upload.upload_id, 1, b"part one")
        for key in ("a", "b", "c"):
            await s.put_object("bkt", f"page/{key}", b"")
        page = await s.list_objects_v2("bkt", prefix="page/", max_keys=1)
        saved["token"] = page.next_token
        await harness.recorded.wait_for(6)  # 5 puts, 1 delete

    harness.run(first)
    tmp = harness.data_dir / "objects" / "tmp"
    (tmp / "deadbeef.tmp").write_bytes(b"half a body")  # a crash mid-upload
    stray = harness.data_dir / "objects" / "data" / "ff" / "ff00"
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(b"renamed, never committed")
    sequencer = max(sequencers(harness))

    async def second(s: ObjectsService) -> None:
        assert [b.name for b in await s.list_buckets()] == ["bkt"]
        read = await s.get_object("bkt", "dir/k")
        assert read.info == saved["put"]
        assert await read.body.read() == b"persisted"
        assert [c.key for c in (await s.list_objects_v2("bkt", prefix="dir/")).contents] == [
            "dir/k"
        ]
        upload_id = str(saved["upload"])
        parts = await s.list_parts("bkt", "big", upload_id)
        assert parts.parts == (saved["part"],)
        page = await s.list_objects_v2(
            "bkt", prefix="page/", continuation_token=str(saved["token"])
        )
        assert [c.key for c in page.contents] == ["page/b", "page/c"]
        done = await s.complete_multipart_upload(
            "bkt", "big", upload_id, [CompletedPart(1, parts.parts[0].etag)]
        )
        assert done.size == 8
        await s.put_object("bkt", "after", b"")
        await harness.recorded.wait_for(8)

    harness.run(second)
    assert list(tmp.iterdir()) == []
    assert not stray.exists()
    assert min(sequencers(harness)[6:]) > sequencer


def sequencers(harness: Harness) -> list[str]:
    return [event["detail"]["object"]["sequencer"] for event in harness.recorded.events]


def test_tokens_do_not_survive_a_new_data_dir(harness: Harness) -> None:
    saved: dict[str, str | None] = {}

    async def first(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        for key in ("a", "b"):
            await s.put_object("bkt", key, b"")
        saved["token"] = (await s.list_objects_v2("bkt", max_keys=1)).next_token

    harness.run(first)
    other = Harness(harness.data_dir.parent / "other")

    async def second(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        with pytest.raises(InvalidArgument):
            await s.list_objects_v2("bkt", continuation_token=saved["token"])

    other.run(second)
