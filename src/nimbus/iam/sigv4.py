"""AWS Signature Version 4 verification: the Authorization header and presigned URLs.

The server rebuilds the canonical request from the request exactly as it came off the
wire and compares HMACs (aws-semantics §5.4, §5.6). Two dialects exist:

- **non-S3** (`s3=False`): the path has dot segments removed and is percent-encoded a
  second time (botocore double-encodes, so `%3A` in a Lambda ARN is signed as `%253A`);
  the payload hash is the SHA-256 of the body unless a signed `x-amz-content-sha256`
  header says otherwise; clock skew is 5 minutes.
- **S3** (`s3=True`): the path is used as sent; `x-amz-content-sha256` is required and
  used literally (presigned URLs use `UNSIGNED-PAYLOAD`); every `x-amz-*` header must be
  signed; clock skew is 15 minutes.

`Verifier` holds a bounded LRU cache of derived signing keys (four HMACs per miss), so
build one per process and reuse it; `verify()` is the thin functional entry point.
The claim a request makes is read by `sigv4_claim`, checked without the secret by
`sigv4_checks`, and the canonical request is rebuilt by `sigv4_canonical`. Failures
raise `nimbus.errors` auth errors chosen by `sigv4_failures` (one table, keyed by
`Failure`), so the S3 adapter can later map the same failures to S3's own codes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final
from urllib.parse import unquote

from nimbus.iam.sigv4_canonical import canonical_request, index_headers, query_pairs
from nimbus.iam.sigv4_checks import (
    check_coverage,
    check_payload,
    check_time,
    signed_payload_hash,
)
from nimbus.iam.sigv4_claim import (
    ALGORITHM,
    TERMINATOR,
    CredentialScope,
    parse_scope,
    read_claim,
)
from nimbus.iam.sigv4_failures import SIGNATURE_MISMATCH, Failure, fail

SKEW: Final = timedelta(minutes=5)
S3_SKEW: Final = timedelta(minutes=15)


@dataclass(frozen=True)
class SignedRequest:
    """A request as received; every field is wire-exact so the signature can be rebuilt."""

    method: str
    raw_path: str  # still percent-encoded; non-ASCII bytes decoded as UTF-8
    query_string: str  # without '?'
    headers: Sequence[tuple[str, str]]  # any case, repeats allowed, in arrival order
    body: bytes


@dataclass(frozen=True)
class Verification:
    """What a successful verification established, for the steps that follow it.

    `signature` and `timestamp` seed aws-chunked chunk signatures; `payload_hash` is
    the literal hash that was signed (hex, UNSIGNED-PAYLOAD or a STREAMING-* mode);
    `security_token` must be checked against the session when present.
    """

    scope: CredentialScope
    timestamp: str
    signature: str
    payload_hash: str
    security_token: str | None
    signing_key: bytes = b""  # for aws-chunked chunk signatures


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning of SigV4: the key the string to sign is HMAC'd with."""
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, TERMINATOR):
        key = _hmac(key, part)
    return key


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")


class Verifier:
    """Verifies SigV4 requests, caching derived signing keys.

    The cache maps (secret, date, region, service) to the signing key, bounded to
    `cache_size` entries (LRU); it is thread-safe. Build one per process.
    """

    def __init__(self, cache_size: int = 512) -> None:
        self._signing_key = lru_cache(maxsize=cache_size)(derive_signing_key)

    def signing_key(self, secret: str, scope: CredentialScope) -> bytes:
        return self._signing_key(secret, scope.date, scope.region, scope.service)

    def verify(
        self,
        request: SignedRequest,
        secret_for: Callable[[str], str | None],
        now: datetime,
        *,
        s3: bool = False,
    ) -> CredentialScope:
        """Verify the signature; return the scope; raise a `nimbus.errors.AuthError`."""
        return self.check(request, secret_for, now, s3=s3).scope

    def check(
        self,
        request: SignedRequest,
        secret_for: Callable[[str], str | None],
        now: datetime,
        *,
        s3: bool = False,
        verify_payload: bool = True,
    ) -> Verification:
        """Like `verify`, but return everything later steps may need.

        `verify_payload=False` leaves the signed payload hash to the caller, which checks
        it while the body streams (`request.body` is then not the body)."""
        headers = index_headers(request.headers)
        pairs = query_pairs(request.query_string)
        claim = read_claim(headers, pairs)
        check_time(claim, now, S3_SKEW if s3 else SKEW)
        token = check_coverage(claim, headers, pairs, s3)
        payload_hash = signed_payload_hash(request.body, headers, claim, s3)
        secret = secret_for(claim.scope.access_key_id)
        if secret is None:
            raise fail(
                Failure.UNKNOWN_KEY, "The security token included in the request is invalid."
            )
        canonical = canonical_request(
            request.method, request.raw_path, headers, pairs, claim, payload_hash, s3=s3
        )
        to_sign = f"{ALGORITHM}\n{claim.timestamp}\n{claim.scope.path}\n{_sha256_hex(canonical)}"
        signing_key = self.signing_key(secret, claim.scope)
        expected = _hmac(signing_key, to_sign).hex().encode()
        # bytes, because compare_digest refuses str with non-ASCII characters
        provided = claim.signature.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected, provided):
            raise fail(Failure.MISMATCH, SIGNATURE_MISMATCH)
        if verify_payload:
            check_payload(request.body, payload_hash)
        return Verification(
            claim.scope, claim.timestamp, claim.signature, payload_hash, token, signing_key
        )


def verify(
    request: SignedRequest,
    secret_for: Callable[[str], str | None],
    now: datetime,
    *,
    s3: bool = False,
    verifier: Verifier | None = None,
) -> CredentialScope:
    """Verify the signature; return the scope on success; raise nimbus auth errors.

    Without `verifier` nothing is cached; long-lived callers should pass their own.
    """
    return (verifier or Verifier(cache_size=1)).verify(request, secret_for, now, s3=s3)


def credential_scope(request: SignedRequest) -> CredentialScope | None:
    """The scope from the Authorization header or X-Amz-Credential, verifying nothing.

    None if the request is unsigned or the credential is unparsable. The gateway uses
    this to route a request to its service before the service verifies it.
    """
    for name, value in request.headers:
        if name.lower() == "authorization":
            credential = _header_credential(value)
            return None if credential is None else parse_scope(credential)
    for pair in request.query_string.split("&"):
        key, _, value = pair.partition("=")
        if key == "X-Amz-Credential":
            return parse_scope(unquote(value))
    return None


def _header_credential(value: str) -> str | None:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    for piece in rest.replace(",", " ").split():
        key, _, credential = piece.partition("=")
        if key == "Credential":
            return credential
    return None


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
