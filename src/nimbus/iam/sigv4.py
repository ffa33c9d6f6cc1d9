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
Failures raise `nimbus.errors` auth errors chosen through `_ERRORS` (one table, keyed by
`Failure`), so the S3 adapter can later map the same failures to S3's own codes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NamedTuple
from urllib.parse import unquote, unquote_to_bytes

from nimbus.errors import (
    AccessDenied,
    AuthError,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    UnrecognizedClient,
)

ALGORITHM: Final = "AWS4-HMAC-SHA256"
TERMINATOR: Final = "aws4_request"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOADS: Final = frozenset(
    {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)
MAX_PRESIGN_EXPIRES: Final = 604_800
SKEW: Final = timedelta(minutes=5)
S3_SKEW: Final = timedelta(minutes=15)

_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Already canonical: unreserved characters and upper-case escapes of reserved bytes only.
_CANONICAL_COMPONENT = re.compile(
    r"(?:[A-Za-z0-9\-_.~]|%(?!3[0-9]|4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE]|2[DE])[0-9A-F]{2})*"
)
_COMPONENT_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.~]+")
_PLAIN_ENCODED_PATH = re.compile(r"[A-Za-z0-9\-_.~/%]*")
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.~/]+")
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


class Failure(Enum):
    """Why a request failed authentication; each maps to one client-visible error."""

    MISSING = "missing"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown-key"
    MISMATCH = "mismatch"
    SKEWED = "skewed"
    EXPIRED = "expired"
    PAYLOAD_MISMATCH = "payload-mismatch"
    UNSIGNED_HEADERS = "unsigned-headers"


# JSON-protocol codes for every failure; S3's codes (SignatureDoesNotMatch,
# RequestTimeTooSkewed, XAmzContentSHA256Mismatch, ...) will be a second table.
_ERRORS: Final = MappingProxyType(
    {
        Failure.MISSING: MissingAuthenticationToken,
        Failure.MALFORMED: IncompleteSignature,
        Failure.UNKNOWN_KEY: UnrecognizedClient,
        Failure.MISMATCH: InvalidSignature,
        Failure.SKEWED: InvalidSignature,
        Failure.EXPIRED: AccessDenied,
        Failure.PAYLOAD_MISMATCH: InvalidSignature,
        Failure.UNSIGNED_HEADERS: AccessDenied,
    }
)


def _fail(failure: Failure, message: str) -> AuthError:
    return _ERRORS[failure](message)


@dataclass(frozen=True)
class SignedRequest:
    """A request as received; every field is wire-exact so the signature can be rebuilt."""

    method: str
    raw_path: str  # still percent-encoded; non-ASCII bytes decoded as UTF-8
    query_string: str  # without '?'
    headers: Sequence[tuple[str, str]]  # any case, repeats allowed, in arrival order
    body: bytes


@dataclass(frozen=True)
class CredentialScope:
    """Who signed, and for which day, region and service."""

    access_key_id: str
    date: str  # yyyymmdd
    region: str
    service: str

    @property
    def path(self) -> str:
        """The scope as it appears in the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


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


class _Claim(NamedTuple):
    """The signature a request claims to carry, from its header or its query."""

    scope: CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    expires: int | None  # seconds; set only for presigned URLs


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
    ) -> Verification:
        """Like `verify`, but return everything later steps may need."""
        headers = _index_headers(request.headers)
        pairs = _query_pairs(request.query_string)
        claim = _claim(headers, pairs)
        _check_time(claim, now, S3_SKEW if s3 else SKEW)
        token = _check_coverage(claim, headers, pairs, s3)
        payload_hash = _payload_hash(request.body, headers, claim, s3)
        secret = secret_for(claim.scope.access_key_id)
        if secret is None:
            raise _fail(
                Failure.UNKNOWN_KEY, "The security token included in the request is invalid."
            )
        canonical = _canonical_request(request, headers, pairs, claim, payload_hash, s3=s3)
        to_sign = f"{ALGORITHM}\n{claim.timestamp}\n{claim.scope.path}\n{_sha256_hex(canonical)}"
        expected = _hmac(self.signing_key(secret, claim.scope), to_sign).hex().encode()
        # bytes, because compare_digest refuses str with non-ASCII characters
        provided = claim.signature.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(expected, provided):
            raise _fail(Failure.MISMATCH, _MISMATCH)
        _check_payload(request.body, payload_hash)
        return Verification(claim.scope, claim.timestamp, claim.signature, payload_hash, token)


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
            return None if credential is None else _parse_scope(credential)
    for pair in request.query_string.split("&"):
        key, _, value = pair.partition("=")
        if key == "X-Amz-Credential":
            return _parse_scope(unquote(value))
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


def _parse_scope(credential: str) -> CredentialScope | None:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != TERMINATOR or not parts[0]:
        return None
    if len(parts[1]) != 8 or not parts[1].isdigit():
        return None
    return CredentialScope(parts[0], parts[1], parts[2], parts[3])


# --- the claim: what the request says about its own signature -----------------------


def _claim(headers: dict[str, list[str]], pairs: list[tuple[str, str]]) -> _Claim:
    authorization = headers.get("authorization")
    if authorization is not None and any(key == "X-Amz-Algorithm" for key, _ in pairs):
        raise _fail(
            Failure.MALFORMED,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
            "or the Authorization header should be specified",
        )
    if authorization is not None:
        return _header_claim(authorization[0], headers)
    if any(key in _QUERY_AUTH_PARAMS for key, _ in pairs):
        return _query_claim(dict(reversed(pairs)))
    raise _fail(Failure.MISSING, "Missing Authentication Token")


def _header_claim(value: str, headers: dict[str, list[str]]) -> _Claim:
    timestamp = _header_timestamp(headers)
    fields = _authorization_fields(value, has_date=bool(timestamp))
    scope = _parse_scope(fields["Credential"])
    if scope is None:
        raise _fail(
            Failure.MALFORMED,
            f"Credential is malformed; expecting "
            f'"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/{TERMINATOR}": '
            f"'{fields['Credential']}'.",
        )
    signed = tuple(fields["SignedHeaders"].split(";"))
    return _Claim(scope, signed, fields["Signature"], timestamp, None)


def _authorization_fields(value: str, *, has_date: bool) -> dict[str, str]:
    algorithm, _, rest = value.strip().partition(" ")
    fields: dict[str, str] = {}
    if algorithm == ALGORITHM:
        # AWS splits on commas and whitespace alike: "Credential=AKID /2026..." is malformed.
        for piece in rest.replace(",", " ").split():
            key, equals, field = piece.partition("=")
            if not equals:
                raise _fail(
                    Failure.MALFORMED,
                    f"'{piece}' not a valid key=value pair (missing equal-sign) in "
                    f"Authorization header: '{value}'.",
                )
            fields[key] = field
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if not has_date:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise _fail(Failure.MALFORMED, " ".join([*problems, f"Authorization={value}"]))
    return fields


def _header_timestamp(headers: dict[str, list[str]]) -> str:
    """The signing time as yyyymmddTHHMMSSZ from X-Amz-Date, else Date; "" if neither."""
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        return amz_date[0].strip()
    date = headers.get("date")
    if date is None:
        return ""
    try:
        parsed = parsedate_to_datetime(date[0])
    except (TypeError, ValueError):
        raise _fail(
            Failure.MALFORMED, f"Date header is not a valid HTTP date: '{date[0]}'."
        ) from None
    if parsed.tzinfo is None:  # "-0000" means UTC with no zone information
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _query_claim(params: dict[str, str]) -> _Claim:
    values = {key: unquote(params[key]) for key in _QUERY_AUTH_PARAMS if params.get(key)}
    if len(values) != len(_QUERY_AUTH_PARAMS):
        raise _fail(
            Failure.MALFORMED,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        )
    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise _fail(Failure.MALFORMED, f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    scope = _parse_scope(values["X-Amz-Credential"])
    if scope is None:
        raise _fail(
            Failure.MALFORMED,
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            f'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/{TERMINATOR}".',
        )
    signed = tuple(values["X-Amz-SignedHeaders"].split(";"))
    expires = _presign_expires(values["X-Amz-Expires"])
    return _Claim(scope, signed, values["X-Amz-Signature"], values["X-Amz-Date"], expires)


def _presign_expires(value: str) -> int:
    if not value.isdigit():
        raise _fail(Failure.MALFORMED, "X-Amz-Expires should be a number")
    expires = int(value)
    if expires > MAX_PRESIGN_EXPIRES:
        raise _fail(
            Failure.MALFORMED,
            f"X-Amz-Expires must be less than a week (in seconds) that is; {MAX_PRESIGN_EXPIRES}",
        )
    return expires


# --- checks that need no secret ----------------------------------------------------


def _check_time(claim: _Claim, now: datetime, skew: timedelta) -> None:
    signed_at = _parse_amz_date(claim.timestamp)
    if claim.timestamp[:8] != claim.scope.date:
        raise _fail(
            Failure.MISMATCH,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{claim.scope.date}' != '{claim.timestamp[:8]}', "
            f"from '{claim.timestamp}'.",
        )
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    age = now - signed_at
    if claim.expires is not None and age > timedelta(seconds=claim.expires):
        raise _fail(Failure.EXPIRED, "Request has expired")
    if claim.expires is None and age > skew:
        raise _fail(Failure.SKEWED, _skew_message(claim.timestamp, now, -skew))
    if -age > skew:
        raise _fail(Failure.SKEWED, _skew_message(claim.timestamp, now, skew))


def _skew_message(timestamp: str, now: datetime, limit: timedelta) -> str:
    minutes = int(abs(limit).total_seconds() // 60)
    bound, base = _amz_date(now + limit), _amz_date(now)
    if limit < timedelta(0):
        return (
            f"Signature expired: {timestamp} is now earlier than {bound} ({base} - {minutes} min.)"
        )
    return (
        f"Signature not yet current: {timestamp} is still later than {bound} "
        f"({base} + {minutes} min.)"
    )


def _parse_amz_date(value: str) -> datetime:
    match = _AMZ_DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = map(int, match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise _fail(
            Failure.MALFORMED,
            f"Date must be in ISO-8601 'basic format': yyyyMMdd'T'HHmmss'Z'. Got '{value}'.",
        ) from None


def _amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _check_coverage(
    claim: _Claim, headers: dict[str, list[str]], pairs: list[tuple[str, str]], s3: bool
) -> str | None:
    """Reject requests whose signature leaves out what it must cover; return the token."""
    signed = set(claim.signed_headers)
    if "host" not in signed:
        raise _fail(
            Failure.MALFORMED,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    if s3 and any(name.startswith("x-amz-") and name not in signed for name in headers):
        raise _fail(
            Failure.UNSIGNED_HEADERS,
            "There were headers present in the request which were not signed",
        )
    token = headers.get("x-amz-security-token")
    if token is not None:
        if "x-amz-security-token" not in signed:
            raise _fail(
                Failure.UNKNOWN_KEY, "The security token included in the request is invalid."
            )
        return token[0].strip()
    queried = [value for key, value in pairs if key == "X-Amz-Security-Token"]
    return unquote(queried[0]) if queried else None


def _payload_hash(body: bytes, headers: dict[str, list[str]], claim: _Claim, s3: bool) -> str:
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and "x-amz-content-sha256" in claim.signed_headers:
        value = declared[0].strip()
        if (
            _HEX64.fullmatch(value)
            or value == UNSIGNED_PAYLOAD
            or (s3 and value in STREAMING_PAYLOADS)
        ):
            return value
        raise _fail(Failure.MALFORMED, f"x-amz-content-sha256 has an unsupported value: '{value}'.")
    if s3 and claim.expires is None:
        raise _fail(
            Failure.MALFORMED, "Missing required header for this request: x-amz-content-sha256"
        )
    return UNSIGNED_PAYLOAD if s3 else hashlib.sha256(body).hexdigest()


def _check_payload(body: bytes, payload_hash: str) -> None:
    """A signed hex hash must match the body the signature came with."""
    if _HEX64.fullmatch(payload_hash) and hashlib.sha256(body).hexdigest() != payload_hash:
        raise _fail(
            Failure.PAYLOAD_MISMATCH,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )


# --- the canonical request ------------------------------------------------------------


def _canonical_request(
    request: SignedRequest,
    headers: dict[str, list[str]],
    pairs: list[tuple[str, str]],
    claim: _Claim,
    payload_hash: str,
    *,
    s3: bool,
) -> str:
    if claim.expires is not None:
        pairs = [(key, value) for key, value in pairs if key != "X-Amz-Signature"]
    return "\n".join(
        (
            request.method.upper(),
            _canonical_uri(request.raw_path, s3),
            "&".join(f"{key}={value}" for key, value in sorted(pairs)),
            _canonical_headers(headers, claim.signed_headers),
            ";".join(claim.signed_headers),
            payload_hash,
        )
    )


def _canonical_uri(raw_path: str, s3: bool) -> str:
    if s3:
        return raw_path or "/"
    path = _remove_dot_segments(raw_path)
    if _PLAIN_ENCODED_PATH.fullmatch(path):
        return path.replace("%", "%25")  # the common case: only the escapes need escaping
    return _PATH_UNSAFE.sub(_percent_encode, path)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal that also drops empty segments, as AWS does."""
    if not path:
        return "/"
    if "//" not in path and "/." not in path and path[0] == "/":
        return path
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    leading = "/" if path[0] == "/" else ""
    trailing = "/" if path[-1] == "/" and kept else ""
    return leading + "/".join(kept) + trailing


def _canonical_headers(headers: dict[str, list[str]], signed: tuple[str, ...]) -> str:
    lines = []
    for name in signed:
        values = headers.get(name)
        if values is None:
            raise _fail(Failure.MISMATCH, _MISMATCH)
        lines.append(f"{name}:{','.join(' '.join(value.split()) for value in values)}\n")
    return "".join(lines)


def _index_headers(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    return index


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    """Query pairs with key and value re-encoded the canonical way, in arrival order."""
    pairs = []
    for pair in query_string.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            pairs.append((_canonical_component(key), _canonical_component(value)))
    return pairs


def _canonical_component(raw: str) -> str:
    if _CANONICAL_COMPONENT.fullmatch(raw):
        return raw
    # Byte-level round trip: invalid UTF-8 in the wire form must survive unchanged.
    decoded = unquote_to_bytes(raw).decode("utf-8", "surrogateescape")
    return _COMPONENT_UNSAFE.sub(_percent_encode, decoded)


def _percent_encode(match: re.Match[str]) -> str:
    # surrogateescape gives back the original bytes of anything that was not UTF-8
    return "".join([f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogateescape")])


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
