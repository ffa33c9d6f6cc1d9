"""ListObjects(V2): prefix, delimiter roll-up, MaxKeys, StartAfter and continuation tokens
against a reference computed from a sorted list."""

from __future__ import annotations

import asyncio
import bisect
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from objects_harness import FakeClock, Harness

from nimbus.objects import ObjectsService
from nimbus.objects.errors import InvalidArgument
from nimbus.objects.listing import list_entries, successor
from nimbus.objects.tokens import TokenCodec

ALPHABET = st.one_of(st.sampled_from(list("ab/+ .é🙂")), st.characters(exclude_categories=("Cs",)))
KEYS = st.lists(st.text(ALPHABET, min_size=1, max_size=6), max_size=25, unique=True)
DELIMITERS = st.sampled_from([None, "/", "+", " ", "a/", "é"])
PREFIXES = st.one_of(st.sampled_from(["", "a", "a/", "b+", "é"]), st.text(ALPHABET, max_size=2))


def reference(keys: list[str], prefix: str, delimiter: str | None, marker: str) -> list[str]:
    """Every entry (key or rolled-up common prefix) after `marker`, in UTF-8 byte order."""
    entries = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            entries.add(prefix + rest[: rest.index(delimiter) + len(delimiter)])
        else:
            entries.add(key)
    ordered = sorted(entries, key=lambda entry: entry.encode())
    return [entry for entry in ordered if entry.encode() > marker.encode()]


class SortedKeys:
    def __init__(self, keys: list[str]) -> None:
        self.keys = sorted(key.encode() for key in keys)
        self.scans = 0

    def scan(self, start: bytes, stop: bytes | None, limit: int) -> list[tuple[bytes, None]]:
        self.scans += 1
        at = bisect.bisect_left(self.keys, start)
        found = [key for key in self.keys[at : at + limit] if stop is None or key < stop]
        return [(key, None) for key in found]


@given(KEYS, PREFIXES, DELIMITERS, st.integers(1, 7), st.text(ALPHABET, max_size=3))
@settings(max_examples=400, deadline=None)
def test_pages_concatenate_to_the_reference(
    keys: list[str], prefix: str, delimiter: str | None, max_keys: int, start_after: str
) -> None:
    source = SortedKeys(keys)
    expected = reference(keys, prefix, delimiter, start_after)
    seen: list[str] = []
    marker = start_after.encode() or None
    while True:
        page = list_entries(
            source.scan,
            prefix=prefix.encode(),
            delimiter=delimiter.encode() if delimiter else None,
            marker=marker,
            max_keys=max_keys,
        )
        entries = [key for key, _ in page.contents] + page.common_prefixes
        assert len(entries) <= max_keys
        seen += sorted((entry.decode() for entry in entries), key=str.encode)
        if not page.is_truncated:
            break
        assert page.count == max_keys
        marker = page.last
    assert seen == expected


def test_max_keys_zero_returns_nothing() -> None:
    page = list_entries(SortedKeys(["a", "b"]).scan, max_keys=0)
    assert (page.count, page.is_truncated) == (0, False)


def test_a_large_common_prefix_is_jumped_over_not_read() -> None:
    source = SortedKeys([f"logs/{i:05}" for i in range(5000)] + ["z"])
    page = list_entries(source.scan, delimiter=b"/", max_keys=10)
    assert page.common_prefixes == [b"logs/"]
    assert [key for key, _ in page.contents] == [b"z"]
    assert source.scans <= 3


def test_successor() -> None:
    assert successor(b"a/") == b"a0"
    assert successor(b"a\xff\xff") == b"b"
    assert successor(b"\xff") is None


def test_tokens_are_checked() -> None:
    codec = TokenCodec(b"secret")
    token = codec.encode("bkt", b"photos/2024/")
    assert codec.decode("bkt", token) == b"photos/2024/"
    for bad in ("", "garbage", token[:-2] + "AA", "%%%"):
        with pytest.raises(InvalidArgument) as caught:
            codec.decode("bkt", bad)
        assert caught.value.message == "The continuation token provided is incorrect"
    with pytest.raises(InvalidArgument):
        codec.decode("other-bucket", token)
    with pytest.raises(InvalidArgument):
        TokenCodec(b"another secret").decode("bkt", token)


async def _all_pages(
    s: ObjectsService, prefix: str, delimiter: str | None, max_keys: int, start_after: str
) -> list[str]:
    seen: list[str] = []
    token: str | None = None
    while True:
        page = await s.list_objects_v2(
            "bkt",
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            start_after=start_after or None,
            continuation_token=token,
        )
        assert page.key_count == len(page.contents) + len(page.common_prefixes) <= max_keys
        entries = [c.key for c in page.contents] + list(page.common_prefixes)
        seen += sorted(entries, key=str.encode)
        if not page.is_truncated:
            assert page.next_token is None
            return seen
        assert page.next_token is not None
        token = page.next_token


@given(KEYS, PREFIXES, DELIMITERS, st.integers(1, 5), st.text(ALPHABET, max_size=2))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_service_pages_with_tokens_match_the_reference(
    keys: list[str], prefix: str, delimiter: str | None, max_keys: int, start_after: str
) -> None:
    async def main(directory: Path) -> list[str]:
        s = ObjectsService(directory, clock=FakeClock())
        await s.start()
        try:
            await s.create_bucket("bkt")
            for key in keys:
                await s.put_object("bkt", key, key.encode())
            return await _all_pages(s, prefix, delimiter, max_keys, start_after)
        finally:
            await s.stop()

    with tempfile.TemporaryDirectory() as directory:
        seen = asyncio.run(main(Path(directory)))
    assert seen == reference(keys, prefix, delimiter, start_after)


def test_listing_contents_and_v1_markers(harness: Harness) -> None:
    async def body(s: ObjectsService) -> None:
        await s.create_bucket("bkt")
        for key in ["a/1", "a/2", "b", "c/x/y", "d"]:
            await s.put_object("bkt", key, b"12345")
        page = await s.list_objects_v2("bkt", delimiter="/")
        assert [c.key for c in page.contents] == ["b", "d"]
        assert page.common_prefixes == ("a/", "c/")
        assert page.contents[0].size == 5
        assert page.contents[0].etag.startswith('"')
        assert page.contents[0].last_modified == harness.clock.now
        first = await s.list_objects("bkt", delimiter="/", max_keys=2)
        assert (first.common_prefixes, first.is_truncated, first.next_marker) == (
            ("a/",),
            True,
            "b",
        )
        rest = await s.list_objects("bkt", delimiter="/", marker=first.next_marker)
        assert ([c.key for c in rest.contents], rest.common_prefixes) == (["d"], ("c/",))
        assert not rest.is_truncated and rest.next_marker is None
        assert (await s.list_objects_v2("bkt", max_keys=5000)).key_count == 5
        with pytest.raises(InvalidArgument) as caught:
            await s.list_objects_v2("bkt", continuation_token="forged")
        assert caught.value.extra_fields()["ArgumentName"] == "continuation-token"
        with pytest.raises(InvalidArgument):
            await s.list_objects_v2("bkt", max_keys=-1)

    harness.run(body)
