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
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    UnrecognizedClient,
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


def fail(failure: Failure, message: str) -> AuthError:
    return _ERRORS[failure](message)
