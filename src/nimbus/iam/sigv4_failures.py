"""Why a SigV4 check failed, and the client-visible error each failure becomes.

Every check raises through `fail`, which picks the `nimbus.errors` auth error from one
table keyed by `Failure`, so the S3 adapter can later map the same failures to S3's own
codes.
"""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType
from typing import Final

from nimbus.errors import (
    AccessDenied,
    AuthError,
    AuthorizationHeaderMalformed,
    IncompleteSignature,
    InvalidAccessKeyId,
    InvalidSignature,
    MissingAuthenticationToken,
    RequestTimeTooSkewed,
    S3AccessDenied,
    SignatureDoesNotMatch,
    UnrecognizedClient,
    XAmzContentSHA256Mismatch,
)

SIGNATURE_MISMATCH = (
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


# JSON-protocol codes for every failure; S3's are the second table.
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


# S3's codes and texts (None: keep the check's own message).
_S3_ERRORS: Final = MappingProxyType(
    {
        Failure.MISSING: (S3AccessDenied, "Access Denied"),
        Failure.MALFORMED: (AuthorizationHeaderMalformed, None),
        Failure.UNKNOWN_KEY: (
            InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        Failure.MISMATCH: (
            SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you "
            "provided. Check your key and signing method.",
        ),
        Failure.SKEWED: (
            RequestTimeTooSkewed,
            "The difference between the request time and the current time is too large.",
        ),
        Failure.EXPIRED: (S3AccessDenied, "Request has expired"),
        Failure.PAYLOAD_MISMATCH: (XAmzContentSHA256Mismatch, None),
        Failure.UNSIGNED_HEADERS: (
            S3AccessDenied,
            "There were headers present in the request which were not signed",
        ),
    }
)


def fail(failure: Failure, message: str) -> AuthError:
    error = _ERRORS[failure](message)
    error.failure = failure
    return error


def for_s3(error: AuthError) -> AuthError:
    """The same authentication failure as S3 reports it (its codes and texts)."""
    failure = error.failure
    if not isinstance(failure, Failure):
        return error
    kind, text = _S3_ERRORS[failure]
    converted = kind(text or error.message)
    converted.failure = failure
    return converted
