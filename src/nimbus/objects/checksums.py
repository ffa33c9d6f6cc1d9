"""Flexible checksums and Content-MD5, computed while a body streams.

CRC32 (zlib) and SHA1/SHA256 (hashlib) are always available; CRC32C and CRC64NVME only
when a library for them is importable (`crc32c`, or `awscrt`), as nimbus adds no
dependency for them. Values are the base64 of the big-endian digest, as S3 sends them.
`BodyDigests` is fed each chunk and verifies everything once the body has ended, before
anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import importlib
import zlib
from collections.abc import Callable
from typing import Any, Protocol

from nimbus.objects.errors import BadDigest, InvalidDigest, InvalidRequest

UNSUPPORTED = (
    "Checksum algorithm provided is unsupported. Please try again with any of the valid "
    "types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
)


class ChecksumAlgorithm(enum.Enum):
    CRC32 = "CRC32"
    CRC32C = "CRC32C"
    CRC64NVME = "CRC64NVME"
    SHA1 = "SHA1"
    SHA256 = "SHA256"

    @property
    def header(self) -> str:
        return f"x-amz-checksum-{self.value.lower()}"

    @property
    def digest_size(self) -> int:
        return _DIGEST_SIZES[self]

    @classmethod
    def parse(cls, name: str) -> ChecksumAlgorithm:
        """The algorithm named (any case), or InvalidRequest with AWS's unsupported text."""
        try:
            return cls(name.upper())
        except ValueError:
            raise InvalidRequest(UNSUPPORTED) from None


_DIGEST_SIZES = {
    ChecksumAlgorithm.CRC32: 4,
    ChecksumAlgorithm.CRC32C: 4,
    ChecksumAlgorithm.CRC64NVME: 8,
    ChecksumAlgorithm.SHA1: 20,
    ChecksumAlgorithm.SHA256: 32,
}


class Hasher(Protocol):
    def update(self, data: bytes) -> None: ...
    def digest(self) -> bytes: ...


class _Crc:
    """A CRC as a hasher: `step(data, crc) -> crc`, digest big-endian."""

    def __init__(self, step: Callable[[bytes, int], int], size: int) -> None:
        self._step = step
        self._size = size
        self._crc = 0

    def update(self, data: bytes) -> None:
        self._crc = self._step(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(self._size, "big")


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _crc_step(algorithm: ChecksumAlgorithm) -> Callable[[bytes, int], int] | None:
    if algorithm is ChecksumAlgorithm.CRC32:
        return zlib.crc32
    crt = _optional("awscrt.checksums")
    if algorithm is ChecksumAlgorithm.CRC32C:
        lib = _optional("crc32c")
        if lib is not None:
            return lambda data, crc: int(lib.crc32c(data, crc))
        if crt is not None:
            return lambda data, crc: int(crt.crc32c(data, crc))
    if algorithm is ChecksumAlgorithm.CRC64NVME and crt is not None:
        return lambda data, crc: int(crt.crc64nvme(data, crc))
    return None


def is_supported(algorithm: ChecksumAlgorithm) -> bool:
    return algorithm in (ChecksumAlgorithm.SHA1, ChecksumAlgorithm.SHA256) or (
        _crc_step(algorithm) is not None
    )


def new_hasher(algorithm: ChecksumAlgorithm) -> Hasher:
    """A fresh hasher for `algorithm`; InvalidRequest when this host cannot compute it."""
    if algorithm is ChecksumAlgorithm.SHA1:
        return hashlib.sha1()
    if algorithm is ChecksumAlgorithm.SHA256:
        return hashlib.sha256()
    step = _crc_step(algorithm)
    if step is None:
        raise InvalidRequest(UNSUPPORTED)
    return _Crc(step, algorithm.digest_size)


def encode(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def compute(algorithm: ChecksumAlgorithm, data: bytes) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return encode(hasher.digest())


def validate_value(algorithm: ChecksumAlgorithm, value: str) -> None:
    """InvalidRequest unless `value` is the base64 of a digest of the right size."""
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != algorithm.digest_size:
        raise InvalidRequest(f"Value for {algorithm.header} header is invalid.")


def composite(algorithm: ChecksumAlgorithm, part_values: list[str]) -> str:
    """A multipart object's checksum: the checksum of the parts' digests, `-N`."""
    hasher = new_hasher(algorithm)
    for value in part_values:
        hasher.update(base64.b64decode(value))
    return f"{encode(hasher.digest())}-{len(part_values)}"


def decode_content_md5(value: str) -> bytes:
    """The 16 bytes a Content-MD5 header carries, or InvalidDigest."""
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise InvalidDigest() from None
    if len(raw) != 16:
        raise InvalidDigest()
    return raw


class BodyDigests:
    """MD5 (the ETag) and at most one flexible checksum over one streamed body."""

    def __init__(
        self,
        content_md5: str | None = None,
        algorithm: ChecksumAlgorithm | None = None,
        expected: str | Callable[[], str | None] | None = None,
    ) -> None:
        self._expected_md5 = decode_content_md5(content_md5) if content_md5 else None
        self._md5 = hashlib.md5()
        self._algorithm = algorithm
        self._checksum = new_hasher(algorithm) if algorithm is not None else None
        if algorithm is not None and isinstance(expected, str):
            validate_value(algorithm, expected)
        self._expected = expected
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        if self._checksum is not None:
            self._checksum.update(chunk)
        self.size += len(chunk)

    def finish(self) -> tuple[bytes, str | None]:
        """(binary MD5, base64 checksum or None) once verified; BadDigest on a mismatch."""
        md5 = self._md5.digest()
        if self._expected_md5 is not None and md5 != self._expected_md5:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
        if self._checksum is None or self._algorithm is None:
            return md5, None
        value = encode(self._checksum.digest())
        expected = self._expected() if callable(self._expected) else self._expected
        if expected is not None:
            validate_value(self._algorithm, expected)
            if expected != value:
                raise BadDigest(
                    f"The {self._algorithm.value} you specified did not match the "
                    "calculated checksum."
                )
        return md5, value
