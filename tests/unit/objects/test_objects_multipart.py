"""Multipart uploads: parts, listings, Complete's checks, the ETag, abort."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from objects_harness import EVENT_BRIDGE, Harness, chunks

from nimbus.objects import (
    ChecksumAlgorithm,
    ChecksumRequest,
    CompletedPart,
    ContentHeaders,
    ObjectAttributes,
    ObjectsService,
)
from nimbus.objects.errors import (
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchUpload,
)
from nimbus.objects.multipart import multipart_etag

ATTRIBUTES = ObjectAttributes(ContentHeaders(content_type="video/mp4"), {"m": "1"}, {"t": "2"})


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@given(st.lists(st.binary(max_size=64), min_size=1, max_size=20))
def test_multipart_etag_is_md5_of_part_md5s(parts: list[bytes]) -> None:
    etags = [f'"{hashlib.md5(part).hexdigest()}"' for part in parts]
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    assert multipart_etag(etags) == f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def test_known_multipart_etag() -> None:
    # two parts "a" * 5 and "b": the value any S3 gives for these parts
    etags = [f'"{hashlib.md5(b"aaaaa").hexdigest()}"', f'"{hashlib.md5(b"b").hexdigest()}"']
    digest = hashlib.md5(hashlib.md5(b"aaaaa").digest() + hashlib.md5(b"b").digest())
    assert multipart_etag(etags) == f'"{digest.hexdigest()}-2"'


def test_upload_complete_round_trip(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "video", attributes=ATTRIBUTES)
        assert [u.upload_id for u in await s.list_multipart_uploads("bkt")] == [upload.upload_id]
        p1 = await s.upload_part("bkt", "video", upload.upload_id, 1, chunks(b"aaa", b"aa"))
        p2 = await s.upload_part("bkt", "video", upload.upload_id, 2, b"bbbbbb")
        p3 = await s.upload_part("bkt", "video", upload.upload_id, 3, b"c")
        assert p1.etag == f'"{hashlib.md5(b"aaaaa").hexdigest()}"'
        await s.put_bucket_notification_configuration("bkt", EVENT_BRIDGE)
        done = await s.complete_multipart_upload(
            "bkt",
            "video",
            upload.upload_id,
            [
                CompletedPart(1, p1.etag),
                CompletedPart(2, p2.etag.strip('"')),
                CompletedPart(3, p3.etag),
            ],
        )
        assert done.etag == multipart_etag([p1.etag, p2.etag, p3.etag])
        assert done.etag.endswith('-3"')
        assert done.parts_count == 3
        assert done.size == 12
        assert done.attributes == ATTRIBUTES
        assert await (await s.get_object("bkt", "video")).body.read() == b"aaaaabbbbbbc"
        assert await s.list_multipart_uploads("bkt") == []
        with pytest.raises(NoSuchUpload):
            await s.list_parts("bkt", "video", upload.upload_id)
        await harness.recorded.wait_for(1)

    harness.run(body)
    [event] = harness.recorded.events
    assert event["detail"]["reason"] == "CompleteMultipartUpload"
    files = [p for p in (harness.data_dir / "objects").rglob("*") if p.is_file()]
    assert len(files) == 3  # the object is its parts' files: nothing was copied


def test_an_assembled_object_reads_across_its_parts_and_deletes_them(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        p1 = await s.upload_part("bkt", "k", upload.upload_id, 1, b"01234")
        await s.upload_part("bkt", "k", upload.upload_id, 2, b"not listed")
        p3 = await s.upload_part("bkt", "k", upload.upload_id, 3, b"56789")
        parts = [CompletedPart(1, p1.etag), CompletedPart(3, p3.etag)]
        await s.complete_multipart_upload("bkt", "k", upload.upload_id, parts)
        for header, expected in [("bytes=3-6", b"3456"), ("bytes=5-", b"56789"),
                                 ("bytes=-2", b"89"), ("bytes=0-4", b"01234")]:  # fmt: skip
            read = await s.get_object("bkt", "k", range_header=header)
            assert await read.body.read() == expected
        assert len(data_files(harness)) == 2  # the part not listed is gone
        await s.delete_object("bkt", "k")
        assert data_files(harness) == []

    harness.run(body)


def test_an_assembled_object_survives_a_restart(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        p1 = await s.upload_part("bkt", "k", upload.upload_id, 1, b"abcde")
        p2 = await s.upload_part("bkt", "k", upload.upload_id, 2, b"fg")
        parts = [CompletedPart(1, p1.etag), CompletedPart(2, p2.etag)]
        await s.complete_multipart_upload("bkt", "k", upload.upload_id, parts)

    async def after(s: ObjectsService) -> None:  # start-up's sweep keeps every segment
        assert await (await s.get_object("bkt", "k")).body.read() == b"abcdefg"

    harness.run(body)
    harness.run(after)


def data_files(harness: Harness) -> list[Path]:
    return [p for p in (harness.data_dir / "objects" / "data").rglob("*") if p.is_file()]


def test_only_the_listed_parts_are_assembled(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        p1 = await s.upload_part("bkt", "k", upload.upload_id, 1, b"11111")
        await s.upload_part("bkt", "k", upload.upload_id, 2, b"skipped")
        p3 = await s.upload_part("bkt", "k", upload.upload_id, 3, b"33")
        parts = [CompletedPart(1, p1.etag), CompletedPart(3, p3.etag)]
        await s.complete_multipart_upload("bkt", "k", upload.upload_id, parts)
        assert await (await s.get_object("bkt", "k")).body.read() == b"1111133"

    harness.run(body)


def test_reuploading_a_part_replaces_it(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        await s.upload_part("bkt", "k", upload.upload_id, 1, b"old")
        new = await s.upload_part("bkt", "k", upload.upload_id, 1, b"new!")
        listed = await s.list_parts("bkt", "k", upload.upload_id)
        assert [(p.part_number, p.size, p.etag) for p in listed.parts] == [(1, 4, new.etag)]

    harness.run(body)


def test_list_parts_pages(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        for number in (1, 2, 5, 7):
            await s.upload_part("bkt", "k", upload.upload_id, number, b"x" * number)
        first = await s.list_parts("bkt", "k", upload.upload_id, max_parts=2)
        assert [p.part_number for p in first.parts] == [1, 2]
        assert (first.is_truncated, first.next_part_number_marker) == (True, 2)
        rest = await s.list_parts("bkt", "k", upload.upload_id, part_number_marker=2)
        assert [p.part_number for p in rest.parts] == [5, 7]
        assert (rest.is_truncated, rest.next_part_number_marker) == (False, None)
        assert rest.parts[0].size == 5

    harness.run(body)


def test_part_numbers(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        for number in (0, 10001, -1):
            with pytest.raises(InvalidArgument) as caught:
                await s.upload_part("bkt", "k", upload.upload_id, number, b"")
            assert caught.value.message == (
                "Part number must be an integer between 1 and 10000, inclusive"
            )
        await s.upload_part("bkt", "k", upload.upload_id, 10000, b"")

    harness.run(body)


def test_complete_checks_the_part_list(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        uid = upload.upload_id
        small = await s.upload_part("bkt", "k", uid, 1, b"tiny")  # limit is 5 bytes here
        big = await s.upload_part("bkt", "k", uid, 2, b"big enough")
        with pytest.raises(InvalidRequest) as empty:
            await s.complete_multipart_upload("bkt", "k", uid, [])
        assert empty.value.message == "You must specify at least one part"
        with pytest.raises(InvalidPartOrder):
            await s.complete_multipart_upload(
                "bkt", "k", uid, [CompletedPart(2, big.etag), CompletedPart(1, small.etag)]
            )
        with pytest.raises(InvalidPartOrder):
            await s.complete_multipart_upload(
                "bkt", "k", uid, [CompletedPart(2, big.etag), CompletedPart(2, big.etag)]
            )
        with pytest.raises(InvalidPart) as unknown:
            await s.complete_multipart_upload("bkt", "k", uid, [CompletedPart(3, big.etag)])
        assert unknown.value.message.startswith("One or more of the specified parts could not")
        with pytest.raises(InvalidPart):
            await s.complete_multipart_upload("bkt", "k", uid, [CompletedPart(2, '"0000"')])
        with pytest.raises(EntityTooSmall) as too_small:
            await s.complete_multipart_upload(
                "bkt", "k", uid, [CompletedPart(1, small.etag), CompletedPart(2, big.etag)]
            )
        assert too_small.value.extra_fields() == {
            "ProposedSize": "4",
            "MinSizeAllowed": "5",
            "PartNumber": "1",
            "ETag": small.etag,
        }
        # the last part may be small
        done = await s.complete_multipart_upload("bkt", "k", uid, [CompletedPart(2, big.etag)])
        assert done.size == 10

    harness.run(body)


def test_checksum_algorithm_of_the_upload(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload(
            "bkt", "k", checksum_algorithm=ChecksumAlgorithm.CRC32
        )
        uid = upload.upload_id
        p1 = await s.upload_part("bkt", "k", uid, 1, b"12345")
        assert p1.checksum is not None and p1.checksum.value == crc32(b"12345")
        request = ChecksumRequest(ChecksumAlgorithm.CRC32, crc32(b"678"))
        p2 = await s.upload_part("bkt", "k", uid, 2, b"678", checksum=request)
        with pytest.raises(InvalidRequest) as missing:
            await s.complete_multipart_upload(
                "bkt", "k", uid, [CompletedPart(1, p1.etag), CompletedPart(2, p2.etag)]
            )
        assert missing.value.message == (
            "The upload was created using a crc32 checksum. The complete request must include "
            "the checksum for each part. It was missing for part 1 in the request."
        )
        with pytest.raises(InvalidPart):
            await s.complete_multipart_upload(
                "bkt", "k", uid, [CompletedPart(1, p1.etag, crc32(b"wrong"))]
            )
        done = await s.complete_multipart_upload(
            "bkt",
            "k",
            uid,
            [CompletedPart(1, p1.etag, crc32(b"12345")), CompletedPart(2, p2.etag, crc32(b"678"))],
        )
        assert done.checksum is not None and done.checksum.value.endswith("-2")

    harness.run(body)


def test_abort_and_unknown_uploads(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        upload = await s.create_multipart_upload("bkt", "k")
        await s.upload_part("bkt", "k", upload.upload_id, 1, b"part")
        await s.abort_multipart_upload("bkt", "k", upload.upload_id)
        with pytest.raises(NoSuchUpload) as caught:
            await s.upload_part("bkt", "k", upload.upload_id, 1, b"late")
        assert caught.value.status == 404
        assert caught.value.message == (
            "The specified upload does not exist. The upload ID may be invalid, or the upload "
            "may have been aborted or completed."
        )
        with pytest.raises(NoSuchUpload):
            await s.abort_multipart_upload("bkt", "k", upload.upload_id)
        other = await s.create_multipart_upload("bkt", "k")
        with pytest.raises(NoSuchUpload):  # an upload id belongs to its key
            await s.upload_part("bkt", "other-key", other.upload_id, 1, b"")

    harness.run(body)
    files = [p for p in (harness.data_dir / "objects").rglob("*") if p.is_file()]
    assert files == []
