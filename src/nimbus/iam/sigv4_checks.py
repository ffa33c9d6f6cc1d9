"""The checks of a claim that need no secret: signing time, coverage and payload hash."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import unquote

from nimbus.iam.sigv4_claim import Claim
from nimbus.iam.sigv4_failures import Failure, fail

UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOADS: Final = frozenset(
    {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)

_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def check_time(claim: Claim, now: datetime, skew: timedelta) -> None:
    signed_at = _parse_amz_date(claim.timestamp)
    if claim.timestamp[:8] != claim.scope.date:
        raise fail(
            Failure.MISMATCH,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{claim.scope.date}' != '{claim.timestamp[:8]}', "
            f"from '{claim.timestamp}'.",
        )
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    age = now - signed_at
    if claim.expires is not None and age > timedelta(seconds=claim.expires):
        raise fail(Failure.EXPIRED, "Request has expired")
    if claim.expires is None and age > skew:
        raise fail(Failure.SKEWED, _skew_message(claim.timestamp, now, -skew))
    if -age > skew:
        raise fail(Failure.SKEWED, _skew_message(claim.timestamp, now, skew))


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
        raise fail(
            Failure.MALFORMED,
            f"Date must be in ISO-8601 'basic format': yyyyMMdd'T'HHmmss'Z'. Got '{value}'.",
        ) from None


def _amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_coverage(
    claim: Claim, headers: dict[str, list[str]], pairs: list[tuple[str, str]], s3: bool
) -> str | None:
    """Reject requests whose signature leaves out what it must cover; return the token."""
    signed = set(claim.signed_headers)
    if "host" not in signed:
        raise fail(
            Failure.MALFORMED,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    if s3 and any(name.startswith("x-amz-") and name not in signed for name in headers):
        raise fail(
            Failure.UNSIGNED_HEADERS,
            "There were headers present in the request which were not signed",
        )
    token = headers.get("x-amz-security-token")
    if token is not None:
        if "x-amz-security-token" not in signed:
            raise fail(
                Failure.UNKNOWN_KEY, "The security token included in the request is invalid."
            )
        return token[0].strip()
    queried = [value for key, value in pairs if key == "X-Amz-Security-Token"]
    return unquote(queried[0]) if queried else None


def signed_payload_hash(body: bytes, headers: dict[str, list[str]], claim: Claim, s3: bool) -> str:
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and "x-amz-content-sha256" in claim.signed_headers:
        value = declared[0].strip()
        if (
            _HEX64.fullmatch(value)
            or value == UNSIGNED_PAYLOAD
            or (s3 and value in STREAMING_PAYLOADS)
        ):
            return value
        raise fail(Failure.MALFORMED, f"x-amz-content-sha256 has an unsupported value: '{value}'.")
    if s3 and claim.expires is None:
        raise fail(
            Failure.MALFORMED, "Missing required header for this request: x-amz-content-sha256"
        )
    return UNSIGNED_PAYLOAD if s3 else hashlib.sha256(body).hexdigest()


def check_payload(body: bytes, payload_hash: str) -> None:
    """A signed hex hash must match the body the signature came with."""
    if _HEX64.fullmatch(payload_hash) and hashlib.sha256(body).hexdigest() != payload_hash:
        raise fail(
            Failure.PAYLOAD_MISMATCH,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
