"""Objects through ObjectsService: put/get/head/delete, ranges, conditions, copy, tags."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import zlib

import pytest
from objects_harness import EVENT_BRIDGE, Harness, chunks

from nimbus.objects import (
    ChecksumAlgorithm,
    ChecksumRequest,
    Conditions,
    ContentHeaders,
    MetadataDirective,
    ObjectAttributes,
    ObjectLimits,
    ObjectsService,
)
from nimbus.objects.errors import (
    BadDigest,
    EntityTooLarge,
    InvalidDigest,
    InvalidRange,
    InvalidRequest,
    InvalidTag,
    KeyTooLongError,
    NoSuchKey,
    NotModified,
    PreconditionFailed,
)

ATTRIBUTES = ObjectAttributes(
    ContentHeaders(
        content_type="text/plain",
        content_encoding="gzip",
        content_disposition="attachment",
        content_language="en",
        cache_control="max-age=60",
        expires="Wed, 21 Oct 2026 07:28:00 GMT",
    ),
    {"owner": "ana", "purpose": "test"},
    {"team": "core"},
)


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


async def bucket(s: ObjectsService, name: str = "bkt") -> str:
    await s.create_bucket(name)
    return name


def test_put_get_round_trip_with_every_attribute(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        data = b"hello world" * 1000
        put = await s.put_object(
            b, "dir/file.txt", chunks(data[:5], b"", data[5:]), attributes=ATTRIBUTES
        )
        assert put.etag == f'"{hashlib.md5(data).hexdigest()}"'
        assert put.size == len(data)
        assert put.last_modified == harness.clock.now
        read = await s.get_object(b, "dir/file.txt")
        assert read.range is None
        assert await read.body.read() == data
        assert read.info == put
        assert read.info.attributes == ATTRIBUTES
        head = await s.head_object(b, "dir/file.txt")
        assert head == put

    harness.run(body)


def test_default_content_type_and_empty_object(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        info = await s.put_object(b, "empty", b"")
        assert info.attributes.headers.content_type == "binary/octet-stream"
        assert info.etag == '"d41d8cd98f00b204e9800998ecf8427e"'
        assert await (await s.get_object(b, "empty")).body.read() == b""

    harness.run(body)


def test_overwrite_replaces_the_bytes_and_removes_the_old_file(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "k", b"one")
        reading = await s.get_object(b, "k")  # opened before the overwrite
        await s.put_object(b, "k", b"two!")
        assert await reading.body.read() == b"one"
        assert await (await s.get_object(b, "k")).body.read() == b"two!"

    harness.run(body)
    files = [p for p in (harness.data_dir / "objects" / "data").rglob("*") if p.is_file()]
    assert len(files) == 1


def test_keys_are_bytes_not_file_names(harness: Harness) -> None:
    keys = ["../../etc/passwd", "a/b/../c", "ünïcødé 🙂", "with space+plus", "a" * 1024]

    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        for key in keys:
            await s.put_object(b, key, key.encode())
        for key in keys:
            assert await (await s.get_object(b, key)).body.read() == key.encode()
        with pytest.raises(KeyTooLongError) as caught:
            await s.put_object(b, "é" * 513, b"")
        assert caught.value.extra_fields() == {"MaxSizeAllowed": "1024", "Size": "1026"}

    harness.run(body)


def test_missing_key(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        with pytest.raises(NoSuchKey) as caught:
            await s.get_object(b, "nope")
        assert caught.value.status == 404
        assert caught.value.message == "The specified key does not exist."
        assert caught.value.extra_fields() == {"Key": "nope"}
        with pytest.raises(NoSuchKey):
            await s.head_object(b, "nope")

    harness.run(body)


def test_delete_is_idempotent_and_delete_many_reports_each_key(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "a", b"1")
        await s.put_object(b, "b", b"2")
        await s.delete_object(b, "a")
        await s.delete_object(b, "a")
        outcomes = await s.delete_objects(b, ["b", "missing", "x" * 1025])
        assert [(o.key, o.error is None) for o in outcomes] == [
            ("b", True),
            ("missing", True),
            ("x" * 1025, False),
        ]
        assert isinstance(outcomes[2].error, KeyTooLongError)
        assert (await s.list_objects_v2(b)).contents == ()

    harness.run(body)


def test_each_committed_change_is_notified_once_in_sequencer_order(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_bucket_notification_configuration(b, EVENT_BRIDGE)
        await s.put_object(b, "k", b"data")
        await s.copy_object(b, "k", b, "copy")
        await s.delete_object(b, "k")
        await s.delete_object(b, "k")  # nothing deleted: no event
        await harness.recorded.wait_for(3)

    harness.run(body)
    details = sorted(
        (e["detail"] for e in harness.recorded.events), key=lambda d: d["object"]["sequencer"]
    )
    md5 = hashlib.md5(b"data").hexdigest()
    assert [(d["reason"], d["object"]["key"], d["object"].get("etag")) for d in details] == [
        ("PutObject", "k", md5),
        ("CopyObject", "copy", md5),
        ("DeleteObject", "k", None),
    ]
    sequencers = [d["object"]["sequencer"] for d in details]
    assert all(len(q) >= 16 and q == q.upper() for q in sequencers)
    assert len(set(sequencers)) == 3


def test_ranges(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "k", b"0123456789")
        cases = {"bytes=2-4": b"234", "bytes=-3": b"789", "bytes=7-": b"789", "bytes=8-99": b"89"}
        for header, expected in cases.items():
            read = await s.get_object(b, "k", range_header=header)
            assert await read.body.read() == expected
            assert read.range is not None and read.range.length == len(expected)
        whole = await s.get_object(b, "k", range_header="bytes=5-1")
        assert whole.range is None
        whole.body.close()
        with pytest.raises(InvalidRange) as caught:
            await s.get_object(b, "k", range_header="bytes=10-")
        assert (caught.value.status, caught.value.message) == (
            416,
            "The requested range is not satisfiable",
        )

    harness.run(body)


def test_reads_stream_in_chunks(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "k", bytes(range(256)) * 40)
        read = await s.get_object(b, "k", range_header="bytes=100-5099")
        pieces = [piece async for piece in read.body.chunks(chunk_size=1000)]
        assert [len(p) for p in pieces] == [1000] * 5
        assert b"".join(pieces) == (bytes(range(256)) * 40)[100:5100]

    harness.run(body)


def test_conditional_get(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        info = await s.put_object(b, "k", b"v")
        at = int(info.last_modified)
        await s.head_object(b, "k", Conditions(if_match=info.etag))
        await s.head_object(b, "k", Conditions(if_match="*"))
        with pytest.raises(PreconditionFailed) as failed:
            await s.head_object(b, "k", Conditions(if_match='"other"'))
        assert failed.value.status == 412
        with pytest.raises(PreconditionFailed):
            await s.head_object(b, "k", Conditions(if_unmodified_since=at - 1))
        # If-Match holds: If-Unmodified-Since is not consulted
        await s.head_object(b, "k", Conditions(if_match=info.etag, if_unmodified_since=at - 1))
        with pytest.raises(NotModified) as not_modified:
            await s.get_object(b, "k", conditions=Conditions(if_none_match=info.etag))
        assert not_modified.value.status == 304
        assert not_modified.value.etag == info.etag
        with pytest.raises(NotModified):
            await s.get_object(b, "k", conditions=Conditions(if_modified_since=at))
        # If-None-Match does not match: If-Modified-Since is ignored
        await s.head_object(b, "k", Conditions(if_none_match='"x"', if_modified_since=at))
        await s.head_object(b, "k", Conditions(if_modified_since=at - 1))
        # 412 wins over 304
        with pytest.raises(PreconditionFailed):
            await s.head_object(b, "k", Conditions(if_match='"x"', if_none_match=info.etag))

    harness.run(body)


def test_checksums_and_content_md5(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        data = b"checksummed"
        crc = ChecksumRequest(ChecksumAlgorithm.CRC32, crc32(data))
        info = await s.put_object(b, "k", data, checksum=crc, content_md5=md5_b64(data))
        assert info.checksum is not None and info.checksum.value == crc32(data)
        computed = await s.put_object(
            b, "s", data, checksum=ChecksumRequest(ChecksumAlgorithm.SHA256)
        )
        assert computed.checksum is not None
        assert computed.checksum.value == base64.b64encode(hashlib.sha256(data).digest()).decode()
        with pytest.raises(BadDigest) as bad:
            await s.put_object(
                b, "bad", data, checksum=ChecksumRequest(ChecksumAlgorithm.CRC32, crc32(b"x"))
            )
        assert bad.value.message == "The CRC32 you specified did not match the calculated checksum."
        with pytest.raises(BadDigest) as bad_md5:
            await s.put_object(b, "bad", data, content_md5=md5_b64(b"other"))
        assert (
            bad_md5.value.message == "The Content-MD5 you specified did not match what we received."
        )
        with pytest.raises(InvalidDigest) as invalid:
            await s.put_object(b, "bad", data, content_md5="not-base64!")
        assert invalid.value.message == "The Content-MD5 you specified was invalid."
        with pytest.raises(InvalidRequest) as malformed:
            await s.put_object(
                b, "bad", data, checksum=ChecksumRequest(ChecksumAlgorithm.CRC32, "abc")
            )
        assert malformed.value.message == "Value for x-amz-checksum-crc32 header is invalid."
        with pytest.raises(NoSuchKey):
            await s.head_object(b, "bad")

    harness.run(body)
    assert not list((harness.data_dir / "objects" / "tmp").iterdir())


def test_trailer_checksum_is_read_after_the_body(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        trailer: list[str] = []

        async def stream() -> object:
            yield b"abc"
            trailer.append(crc32(b"abc"))

        request = ChecksumRequest(ChecksumAlgorithm.CRC32, lambda: trailer[0] if trailer else None)
        info = await s.put_object(b, "k", stream(), checksum=request)  # type: ignore[arg-type]
        assert info.checksum is not None and info.checksum.value == crc32(b"abc")

    harness.run(body)


def test_unsupported_checksum_algorithm(harness: Harness) -> None:
    from nimbus.objects.checksums import is_supported

    if is_supported(ChecksumAlgorithm.CRC64NVME):
        pytest.skip("awscrt is installed here: every algorithm is supported")

    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        with pytest.raises(InvalidRequest) as caught:
            await s.put_object(b, "k", b"", checksum=ChecksumRequest(ChecksumAlgorithm.CRC64NVME))
        assert caught.value.message.startswith("Checksum algorithm provided is unsupported.")

    harness.run(body)


def test_copy_directives(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        src = await bucket(s, "src-bucket")
        dst = await bucket(s, "dst-bucket")
        original = await s.put_object(src, "k", b"payload", attributes=ATTRIBUTES)
        harness.clock.now += 5
        copied = await s.copy_object(src, "k", dst, "k2")
        assert copied.etag == original.etag
        assert copied.last_modified == harness.clock.now
        assert copied.attributes == ATTRIBUTES
        assert await (await s.get_object(dst, "k2")).body.read() == b"payload"
        new = ObjectAttributes(ContentHeaders(content_type="image/png"), {"m": "1"}, {"t": "2"})
        replaced = await s.copy_object(
            src, "k", dst, "k3", metadata_directive=MetadataDirective.REPLACE, attributes=new
        )
        assert replaced.attributes.headers == new.headers
        assert replaced.attributes.metadata == {"m": "1"}
        assert replaced.attributes.tags == {"team": "core"}  # tagging directive COPY
        retagged = await s.copy_object(
            src, "k", dst, "k4", tagging_directive=MetadataDirective.REPLACE, attributes=new
        )
        assert retagged.attributes.tags == {"t": "2"}
        assert retagged.attributes.metadata == ATTRIBUTES.metadata

    harness.run(body)


def test_copy_onto_itself(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "k", b"v", attributes=ATTRIBUTES)
        with pytest.raises(InvalidRequest) as caught:
            await s.copy_object(b, "k", b, "k")
        assert caught.value.message.startswith(
            "This copy request is illegal because it is trying to copy an object to itself"
        )
        new = ObjectAttributes(metadata={"fresh": "yes"})
        info = await s.copy_object(
            b, "k", b, "k", metadata_directive=MetadataDirective.REPLACE, attributes=new
        )
        assert info.attributes.metadata == {"fresh": "yes"}
        assert await (await s.get_object(b, "k")).body.read() == b"v"

    harness.run(body)


def test_copy_source_conditions_fail_with_412(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        info = await s.put_object(b, "k", b"v")
        with pytest.raises(PreconditionFailed):
            await s.copy_object(b, "k", b, "c", conditions=Conditions(if_none_match=info.etag))
        with pytest.raises(NoSuchKey):
            await s.copy_object(b, "missing", b, "c")

    harness.run(body)


def test_tagging(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "k", b"v", attributes=ObjectAttributes(tags={"a": "1"}))
        assert await s.get_object_tagging(b, "k") == {"a": "1"}
        await s.put_object_tagging(b, "k", {"b": "2", "c": ""})
        assert await s.get_object_tagging(b, "k") == {"b": "2", "c": ""}
        await s.delete_object_tagging(b, "k")
        assert await s.get_object_tagging(b, "k") == {}
        with pytest.raises(NoSuchKey):
            await s.put_object_tagging(b, "missing", {})
        too_many = {str(i): "v" for i in range(11)}
        for tags in (too_many, {"k" * 129: "v"}, {"k": "v" * 257}):
            with pytest.raises(InvalidTag):
                await s.put_object_tagging(b, "k", tags)
        with pytest.raises(InvalidTag):
            await s.put_object(b, "t", b"", attributes=ObjectAttributes(tags=too_many))
        await s.put_object_tagging(b, "k", {"k" * 128: "v" * 256})

    harness.run(body)


def test_concurrent_writes_to_one_key_leave_one_object_and_one_file(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_bucket_notification_configuration(b, EVENT_BRIDGE)
        bodies = [str(i).encode() * 100 for i in range(20)]
        await asyncio.gather(*(s.put_object(b, "hot", data) for data in bodies))
        await asyncio.gather(*(s.put_object(b, f"k{i}", data) for i, data in enumerate(bodies)))
        assert await (await s.get_object(b, "hot")).body.read() in bodies
        assert (await s.list_objects_v2(b)).key_count == 21
        await harness.recorded.wait_for(40)

    harness.run(body)
    files = [p for p in (harness.data_dir / "objects" / "data").rglob("*") if p.is_file()]
    assert len(files) == 21
    keys = [event["detail"]["object"]["key"] for event in harness.recorded.events]
    assert keys.count("hot") == 20


def test_object_size_limit(harness: Harness) -> None:
    harness.limits = ObjectLimits(max_object_size=10)

    async def body(s: ObjectsService) -> None:
        b = await bucket(s)
        await s.put_object(b, "fits", b"x" * 10)
        with pytest.raises(EntityTooLarge) as caught:
            await s.put_object(b, "big", chunks(b"x" * 6, b"x" * 6))
        assert caught.value.extra_fields()["MaxSizeAllowed"] == "10"
        with pytest.raises(NoSuchKey):
            await s.head_object(b, "big")

    harness.run(body)
    assert not list((harness.data_dir / "objects" / "tmp").iterdir())
