"""S3's Signature Version 2 query authentication (presigned URLs), verification only.

boto3 presigns S3 URLs with it in us-east-1 unless told `signature_version='s3v4'`
(aws-semantics §3.6). The query carries `AWSAccessKeyId`, `Expires` (absolute epoch
seconds) and `Signature` (base64 HMAC-SHA1). The string to sign is, one per line: the
method, Content-MD5, Content-Type, Expires, the `x-amz-*` headers (lower-cased, sorted,
`name:value`; presigners move them into the query, so both places count), and the
resource: the path as sent plus the sorted sub-resources S3 signs (`?uploadId=...`).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl, unquote

from nimbus.errors import S3AccessDenied
from nimbus.iam.sigv4_failures import SIGNATURE_MISMATCH, Failure, fail

REQUIRED: Final = ("AWSAccessKeyId", "Expires", "Signature")
MISSING_PARAMETERS: Final = (
    "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
)
# The query parameters that are part of the resource S3 signs.
SUBRESOURCES: Final = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


class RequestExpired(S3AccessDenied):
    """A presigned URL used after its `Expires`; S3 names both times in the body."""

    def __init__(self, expires: datetime, now: datetime) -> None:
        super().__init__("Request has expired")
        self.expires, self.now = expires, now

    def extra_fields(self) -> dict[str, str]:
        return {
            "Expires": self.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ServerTime": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def is_presigned_v2(query_string: str) -> bool:
    names = {name for name, _ in parse_qsl(query_string, keep_blank_values=True)}
    return "AWSAccessKeyId" in names or ("Signature" in names and "Expires" in names)


def string_to_sign(
    method: str, raw_path: str, query_string: str, headers: Sequence[tuple[str, str]]
) -> str:
    query = parse_qsl(query_string, keep_blank_values=True)
    params = dict(query)
    lowered = [(name.lower(), value.strip()) for name, value in headers]
    plain = dict(lowered)
    custom: dict[str, list[str]] = {}
    for name, value in [*lowered, *((k.lower(), v) for k, v in query)]:
        if name.startswith("x-amz-"):
            custom.setdefault(name, []).append(value.strip())
    lines = [
        method.upper(),
        plain.get("content-md5", params.get("content-md5", "")),
        plain.get("content-type", params.get("content-type", "")),
        params.get("Expires", ""),
        *(f"{name}:{','.join(values)}" for name, values in sorted(custom.items())),
        raw_path + _subresources(query_string),
    ]
    return "\n".join(lines)


def _subresources(query_string: str) -> str:
    picked = []
    for pair in query_string.split("&") if query_string else []:
        name, has_value, value = pair.partition("=")
        if name in SUBRESOURCES:
            picked.append((name, f"{name}={unquote(value)}" if has_value else name))
    picked.sort(key=lambda item: item[0])
    return "?" + "&".join(text for _, text in picked) if picked else ""


def verify_presigned(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> str:
    """Check a SigV2 presigned request; return its access key id; raise an AuthError."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    if any(not params.get(name) for name in REQUIRED):
        raise S3AccessDenied(MISSING_PARAMETERS)
    try:
        expires = datetime.fromtimestamp(int(params["Expires"]), UTC)
    except (ValueError, OverflowError, OSError):
        raise S3AccessDenied(MISSING_PARAMETERS) from None
    if now > expires:
        raise RequestExpired(expires, now)
    access_key = params["AWSAccessKeyId"]
    secret = secret_for(access_key)
    if secret is None:
        raise fail(
            Failure.UNKNOWN_KEY,
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    text = string_to_sign(method, raw_path, query_string, headers)
    expected = base64.b64encode(hmac.digest(secret.encode(), text.encode(), "sha1"))
    provided = params["Signature"].encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected, provided):
        raise fail(Failure.MISMATCH, SIGNATURE_MISMATCH)
    return access_key
