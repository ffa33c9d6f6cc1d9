"""An S3 request body as it streams: the signed payload hash checked, aws-chunked undone.

`x-amz-content-sha256` says what the signature covers (aws-semantics §3.5, §5.5):

- a hex SHA-256: the bytes are hashed as they pass; a mismatch at the end raises
  `XAmzContentSHA256Mismatch` before the consumer can commit anything;
- `UNSIGNED-PAYLOAD`: the bytes pass as they are;
- `STREAMING-...`: the body is aws-chunked (`<hex size>[;chunk-signature=<sig>]\\r\\n
  <bytes>\\r\\n` ..., `0\\r\\n`, trailer lines, `\\r\\n`). The framing is removed, signed
  chunks are verified against the seed signature, and trailers (`x-amz-checksum-crc32:`)
  are kept for the checksum check, which reads them once the body has ended.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Final

from nimbus.errors import ClientError, XAmzContentSHA256Mismatch
from nimbus.iam.sigv4 import Verification

UNSIGNED: Final = "UNSIGNED-PAYLOAD"
SIGNED_CHUNKS: Final = frozenset(
    {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"}
)
_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_MAX_LINE: Final = 4096
HASH_BATCH: Final = 1024 * 1024
PAYLOAD_MISMATCH: Final = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)


class IncompleteBody(ClientError):
    code = "IncompleteBody"

    def __init__(
        self,
        message: str = "The request body terminated unexpectedly",
    ) -> None:
        super().__init__(message)


class InvalidChunk(ClientError):
    code = "InvalidRequest"


class ChunkSignatureMismatch(ClientError):
    code = "SignatureDoesNotMatch"
    status = 403


class RequestBody:
    """One request's body as an async iterator of the object's bytes, and its trailers."""

    def __init__(
        self, source: AsyncIterator[bytes], payload_hash: str, auth: Verification | None
    ) -> None:
        self._source = source
        self._payload_hash = payload_hash
        self._auth = auth
        self.trailers: dict[str, str] = {}
        self.decoded_length = 0

    def trailer(self, name: str) -> str | None:
        """A trailer's value, once the body has been read to its end."""
        return self.trailers.get(name.lower())

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._payload_hash.startswith("STREAMING-"):
            return self._chunked()
        if self._payload_hash == UNSIGNED or not self._payload_hash:
            return self._plain()
        return self._hashed()

    async def _plain(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            if chunk:
                self.decoded_length += len(chunk)
                yield chunk

    async def _hashed(self) -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        hashing: asyncio.Future[None] | None = None
        batch: list[bytes] = []
        batched = 0
        async for chunk in self._plain():
            batch.append(chunk)
            batched += len(chunk)
            if batched >= HASH_BATCH:
                # Hashed in a worker thread while the consumer stores the same chunks
                # (another thread): both cores work on one upload. Updates stay in order.
                if hashing is not None:
                    await hashing
                hashing = asyncio.ensure_future(asyncio.to_thread(_update_all, digest, batch))
                for piece in batch:
                    yield piece
                batch, batched = [], 0
        if hashing is not None:
            await hashing
        _update_all(digest, batch)  # a small remainder: not worth a thread hand-off
        for piece in batch:
            yield piece
        if not hmac.compare_digest(digest.hexdigest(), self._payload_hash):
            raise XAmzContentSHA256Mismatch(PAYLOAD_MISMATCH)

    async def _chunked(self) -> AsyncIterator[bytes]:
        reader = _Reader(self._source)
        signer = _ChunkSigner(self._auth) if self._payload_hash in SIGNED_CHUNKS else None
        while True:
            size, signature = _chunk_header(await reader.line())
            digest = hashlib.sha256() if signer is not None else None
            remaining = size
            while remaining:
                piece = await reader.take(remaining)
                remaining -= len(piece)
                if digest is not None:
                    digest.update(piece)
                self.decoded_length += len(piece)
                yield piece
            if signer is not None and digest is not None:
                signer.check(signature, digest.hexdigest())
            if size == 0:
                break
            if await reader.line() != b"":
                raise InvalidChunk("The chunk is not followed by CRLF")
        while line := await reader.line():
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise InvalidChunk(f"Malformed trailer: {line[:80]!r}")
            self.trailers[name.strip().lower()] = value.strip()


def _update_all(digest: hashlib._Hash, chunks: list[bytes]) -> None:
    for chunk in chunks:  # no join: copying the bytes would cost as much as hashing them
        digest.update(chunk)


def _chunk_header(line: bytes) -> tuple[int, str | None]:
    size_text, _, extension = line.partition(b";")
    try:
        size = int(size_text, 16)
    except ValueError:
        raise InvalidChunk("Invalid chunk size in aws-chunked body") from None
    signature = None
    if extension.startswith(b"chunk-signature="):
        signature = extension.removeprefix(b"chunk-signature=").decode("latin-1")
    return size, signature


class _ChunkSigner:
    """Chunk signatures chain from the request's (seed) signature (aws-semantics §5.5)."""

    def __init__(self, auth: Verification | None) -> None:
        if auth is None or not auth.signing_key:
            raise InvalidChunk("Signed chunks need a SigV4-signed request")
        self._auth = auth
        self._previous = auth.signature

    def check(self, signature: str | None, chunk_sha256: str) -> None:
        if signature is None:
            raise InvalidChunk("A chunk of a signed aws-chunked body has no signature")
        auth = self._auth
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                auth.timestamp,
                auth.scope.path,
                self._previous,
                _EMPTY_SHA256,
                chunk_sha256,
            ]
        )
        expected = hmac.digest(auth.signing_key, to_sign.encode(), "sha256").hex()
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise ChunkSignatureMismatch(
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method."
            )
        self._previous = signature


class _Reader:
    """Lines and byte runs over an async iterator of arbitrary chunks."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source = source
        self._buffer = bytearray()
        self._ended = False

    async def _more(self) -> bool:
        if self._ended:
            return False
        try:
            chunk = await anext(self._source)
        except StopAsyncIteration:
            self._ended = True
            return False
        self._buffer += chunk
        return True

    async def line(self) -> bytes:
        """The next line without its CRLF."""
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > _MAX_LINE:
                raise InvalidChunk("An aws-chunked line is too long")
            if not await self._more():
                raise IncompleteBody()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def take(self, limit: int) -> bytes:
        """Up to `limit` bytes (at least one)."""
        if not self._buffer and not await self._more():
            raise IncompleteBody()
        piece = bytes(self._buffer[:limit])
        del self._buffer[:limit]
        return piece
