"""S3 request bodies as they stream: payload hash, aws-chunked framing, chunk signatures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimbus.errors import NimbusError, XAmzContentSHA256Mismatch
from nimbus.gateway.s3_body import ChunkSignatureMismatch, IncompleteBody, InvalidChunk, RequestBody
from nimbus.iam.sigv4 import Verification, derive_signing_key
from nimbus.iam.sigv4_claim import CredentialScope

EMPTY = hashlib.sha256(b"").hexdigest()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read(body: RequestBody) -> bytes:
    async def drain() -> bytes:
        return b"".join([chunk async for chunk in body])

    return asyncio.run(drain())


def chunked(data: bytes, chunk: int, trailer: str = "") -> bytes:
    out = b""
    for start in range(0, len(data), chunk):
        piece = data[start : start + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n" + trailer.encode() + b"\r\n"


@given(data=st.binary(max_size=3000), chunk=st.integers(1, 700), wire=st.integers(1, 900))
def test_aws_chunked_round_trips_whatever_the_network_split(
    data: bytes, chunk: int, wire: int
) -> None:
    framed = chunked(data, chunk, "x-amz-checksum-crc32:AAAAAA==\r\n")
    body = RequestBody(pieces(framed, wire), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", None)
    assert read(body) == data
    assert body.trailer("X-Amz-Checksum-CRC32") == "AAAAAA=="
    assert body.decoded_length == len(data)


@given(data=st.binary(max_size=2000), wire=st.integers(1, 500))
def test_a_signed_hash_is_checked_at_the_end(data: bytes, wire: int) -> None:
    good = RequestBody(pieces(data, wire), hashlib.sha256(data).hexdigest(), None)
    assert read(good) == data
    bad = RequestBody(pieces(data + b"!", wire), hashlib.sha256(data).hexdigest(), None)
    with pytest.raises(XAmzContentSHA256Mismatch):
        read(bad)


@pytest.mark.parametrize(
    "framed",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcX\r\n0\r\n\r\n", b"3\r\nabc\r\n0\r\nno-colon\r\n\r\n"],
)
def test_malformed_framing_is_an_invalid_request(framed: bytes) -> None:
    with pytest.raises(InvalidChunk):
        read(RequestBody(pieces(framed, 4), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", None))


def test_a_body_cut_short_is_incomplete() -> None:
    with pytest.raises(IncompleteBody):
        read(RequestBody(pieces(b"a\r\n0123", 3), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", None))


def signed_chunks(data: bytes, chunk: int, auth: Verification) -> bytes:
    previous, out = auth.signature, b""
    pieces_ = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for piece in pieces_:
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256-PAYLOAD", auth.timestamp, auth.scope.path, previous, EMPTY,
             hashlib.sha256(piece).hexdigest()]
        )  # fmt: skip
        signature = hmac.digest(auth.signing_key, to_sign.encode(), "sha256").hex()
        out += f"{len(piece):x};chunk-signature={signature}\r\n".encode() + piece + b"\r\n"
        previous = signature
    return out


def verification() -> Verification:
    scope = CredentialScope("AKID", "20261204", "us-east-1", "s3")
    key = derive_signing_key("secret", "20261204", "us-east-1", "s3")
    return Verification(scope, "20261204T000000Z", "ab" * 32, "", None, key)


def test_signed_chunks_are_verified_and_a_changed_byte_is_refused() -> None:
    auth = verification()
    data = bytes(range(256)) * 10
    framed = signed_chunks(data, 1000, auth)
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    assert read(RequestBody(pieces(framed, 333), mode, auth)) == data
    tampered = framed.replace(bytes(range(10)), b"\xff" * 10, 1)
    with pytest.raises(ChunkSignatureMismatch):
        read(RequestBody(pieces(tampered, 333), mode, auth))


def test_signed_chunks_need_a_sigv4_request() -> None:
    with pytest.raises(NimbusError):
        read(RequestBody(pieces(b"0\r\n\r\n", 5), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", None))
