"""Checksum values as S3 sends them: base64 of the big-endian digest."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.objects.checksums import (
    BodyDigests,
    ChecksumAlgorithm,
    composite,
    compute,
    is_supported,
)
from nimbus.objects.errors import BadDigest, InvalidRequest


def test_known_values() -> None:
    assert (
        compute(ChecksumAlgorithm.CRC32, b"hello")
        == base64.b64encode(zlib.crc32(b"hello").to_bytes(4, "big")).decode()
    )
    assert compute(ChecksumAlgorithm.CRC32, b"") == "AAAAAA=="
    assert compute(ChecksumAlgorithm.SHA1, b"abc") == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
    assert compute(ChecksumAlgorithm.SHA256, b"") == (
        base64.b64encode(hashlib.sha256(b"").digest()).decode()
    )


@given(st.lists(st.binary(max_size=50), max_size=10))
def test_streaming_equals_whole(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    digests = BodyDigests(algorithm=ChecksumAlgorithm.CRC32)
    for chunk in chunks:
        digests.update(chunk)
    md5, value = digests.finish()
    assert md5 == hashlib.md5(data).digest()
    assert value == compute(ChecksumAlgorithm.CRC32, data)
    assert digests.size == len(data)


def test_mismatch_names_the_algorithm() -> None:
    digests = BodyDigests(None, ChecksumAlgorithm.SHA256, compute(ChecksumAlgorithm.SHA256, b"x"))
    digests.update(b"y")
    with pytest.raises(BadDigest) as caught:
        digests.finish()
    assert caught.value.message == "The SHA256 you specified did not match the calculated checksum."


def test_parse_and_unsupported() -> None:
    assert ChecksumAlgorithm.parse("crc32") is ChecksumAlgorithm.CRC32
    with pytest.raises(InvalidRequest) as caught:
        ChecksumAlgorithm.parse("MD4")
    assert caught.value.message == (
        "Checksum algorithm provided is unsupported. Please try again with any of the valid "
        "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
    )
    assert is_supported(ChecksumAlgorithm.CRC32)
    assert is_supported(ChecksumAlgorithm.SHA1)


def test_crc32c_comes_from_the_pinned_library() -> None:
    # The CRC-32C check value of "123456789" (RFC 3720's Castagnoli polynomial)
    assert is_supported(ChecksumAlgorithm.CRC32C)
    digest = base64.b64decode(compute(ChecksumAlgorithm.CRC32C, b"123456789"))
    assert digest.hex() == "e3069283"


def test_composite_is_the_checksum_of_the_part_digests() -> None:
    values = [compute(ChecksumAlgorithm.CRC32, b"a"), compute(ChecksumAlgorithm.CRC32, b"b")]
    raw = b"".join(base64.b64decode(v) for v in values)
    assert composite(ChecksumAlgorithm.CRC32, values) == (
        compute(ChecksumAlgorithm.CRC32, raw) + "-2"
    )
