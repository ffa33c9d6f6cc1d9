"""S3 wire shapes ⇄ the object store's domain values (no HTTP, no service calls).

Inputs arrive as botocore's S3 input members (`Bucket`, `Key`, `ContentType`,
`Metadata`, `IfModifiedSince` as a datetime, ...); outputs are output members.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from nimbus.errors import InvalidArgument
from nimbus.objects.checksums import ChecksumAlgorithm
from nimbus.objects.model import (
    DEFAULT_CONTENT_TYPE,
    Checksum,
    ChecksumRequest,
    Conditions,
    ContentHeaders,
    ObjectAttributes,
    ObjectInfo,
)
from nimbus.objects.notifications.config import (
    Destination,
    DestinationKind,
    FilterRule,
    NotificationConfiguration,
)

Params = dict[str, Any]

CHECKSUM_MEMBERS = {algorithm: f"Checksum{algorithm.value}" for algorithm in ChecksumAlgorithm}


def when(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def attributes(params: Mapping[str, Any]) -> ObjectAttributes:
    """Content headers, `x-amz-meta-*` and the `x-amz-tagging` query string of a write."""
    expires = params.get("Expires")
    headers = ContentHeaders(
        content_type=params.get("ContentType") or DEFAULT_CONTENT_TYPE,
        content_encoding=_without_aws_chunked(params.get("ContentEncoding")),
        content_disposition=params.get("ContentDisposition"),
        content_language=params.get("ContentLanguage"),
        cache_control=params.get("CacheControl"),
        expires=format_datetime(expires, usegmt=True) if isinstance(expires, datetime) else None,
    )
    metadata = {name.lower(): value for name, value in (params.get("Metadata") or {}).items()}
    return ObjectAttributes(headers, metadata, tagging(params.get("Tagging")))


def _without_aws_chunked(encoding: str | None) -> str | None:
    """aws-chunked is how the body travelled, not what it is: S3 does not store it."""
    if encoding is None:
        return None
    kept = [part.strip() for part in encoding.split(",") if part.strip() != "aws-chunked"]
    return ", ".join(kept) or None


def tagging(query: str | None) -> dict[str, str]:
    """`x-amz-tagging: k1=v1&k2=v2` as a dict."""
    if not query:
        return {}
    return dict(parse_qsl(query, keep_blank_values=True))


def checksum_request(params: Mapping[str, Any], trailer: Any = None) -> ChecksumRequest | None:
    """The flexible checksum a write asks for: a value sent, or an algorithm to compute.

    `trailer` is a callable giving the aws-chunked trailer's value once the body ends."""
    sent = [(a, params[m]) for a, m in CHECKSUM_MEMBERS.items() if params.get(m) is not None]
    if len(sent) > 1:
        raise InvalidArgument(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    if sent:
        algorithm, value = sent[0]
        return ChecksumRequest(algorithm, value)
    named = params.get("ChecksumAlgorithm")
    if named:
        algorithm = ChecksumAlgorithm.parse(named)
        return ChecksumRequest(algorithm, trailer)
    return None


def conditions(params: Mapping[str, Any], prefix: str = "") -> Conditions | None:
    """If-Match & co. (`prefix="CopySource"` for the x-amz-copy-source-if-* headers)."""
    found = Conditions(
        if_match=params.get(f"{prefix}IfMatch"),
        if_none_match=params.get(f"{prefix}IfNoneMatch"),
        if_modified_since=epoch(params.get(f"{prefix}IfModifiedSince")),
        if_unmodified_since=epoch(params.get(f"{prefix}IfUnmodifiedSince")),
    )
    return None if found == Conditions() else found


def copy_source(value: str) -> tuple[str, str]:
    """`x-amz-copy-source`: `bucket/key` (URL-encoded, maybe a leading `/`)."""
    path, _, query = value.partition("?")
    if "versionId=" in query and not query.endswith("versionId=null"):
        raise InvalidArgument("Invalid version id specified", "x-amz-copy-source", value)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise InvalidArgument(
            "Invalid copy source object key", "x-amz-copy-source", value
        )  # fmt: skip
    return bucket, key


def checksum_members(checksum: Checksum | None) -> Params:
    if checksum is None:
        return {}
    return {CHECKSUM_MEMBERS[checksum.algorithm]: checksum.value}


def object_headers(info: ObjectInfo, overrides: Mapping[str, Any] | None = None) -> Params:
    """GET/HEAD's headers; `response-*` query overrides replace the stored ones."""
    headers = info.attributes.headers
    given = overrides or {}
    out: Params = {
        "AcceptRanges": "bytes",
        "ETag": info.etag,
        "LastModified": when(info.last_modified),
        "ContentType": given.get("ResponseContentType") or headers.content_type,
        "ContentEncoding": given.get("ResponseContentEncoding") or headers.content_encoding,
        "ContentDisposition": given.get("ResponseContentDisposition")
        or headers.content_disposition,
        "ContentLanguage": given.get("ResponseContentLanguage") or headers.content_language,
        "CacheControl": given.get("ResponseCacheControl") or headers.cache_control,
        "Metadata": dict(info.attributes.metadata),
    }
    expires = given.get("ResponseExpires")
    if expires is None and headers.expires:
        with contextlib.suppress(TypeError, ValueError):
            expires = parsedate_to_datetime(headers.expires)
    out["Expires"] = expires
    if info.attributes.tags:
        out["TagCount"] = len(info.attributes.tags)
    if info.parts_count is not None:
        out["PartsCount"] = info.parts_count
    return {name: value for name, value in out.items() if value is not None}


def url_encoded(value: str | None, encode: bool) -> str | None:
    """`encoding-type=url`: botocore decodes with unquote_plus, so `+` must be `%2B`."""
    if value is None or not encode:
        return value
    return quote(value, safe="/")


# Notification configuration: the three destination lists of the API and their ARN member.
_DESTINATION_LISTS = (
    (DestinationKind.QUEUE, "QueueConfigurations", "QueueArn"),
    (DestinationKind.FUNCTION, "LambdaFunctionConfigurations", "LambdaFunctionArn"),
    (DestinationKind.TOPIC, "TopicConfigurations", "TopicArn"),
)


def notification_configuration(wire: Mapping[str, Any]) -> NotificationConfiguration:
    destinations = []
    for kind, list_name, arn_member in _DESTINATION_LISTS:
        for entry in wire.get(list_name) or []:
            rules = ((entry.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
            destinations.append(
                Destination(
                    kind,
                    entry.get(arn_member, ""),
                    tuple(entry.get("Events") or ()),
                    tuple(FilterRule(r.get("Name", ""), r.get("Value", "")) for r in rules),
                    entry.get("Id"),
                )
            )
    return NotificationConfiguration(tuple(destinations), "EventBridgeConfiguration" in wire)


def notification_members(config: NotificationConfiguration) -> Params:
    out: Params = {}
    for kind, list_name, arn_member in _DESTINATION_LISTS:
        entries = []
        for destination in config.of_kind(kind):
            entry: Params = {
                "Id": destination.id, arn_member: destination.arn,
                "Events": list(destination.events),
            }  # fmt: skip
            if destination.filter_rules:
                rules = [{"Name": r.name, "Value": r.value} for r in destination.filter_rules]
                entry["Filter"] = {"Key": {"FilterRules": rules}}
            entries.append(entry)
        if entries:
            out[list_name] = entries
    if config.event_bridge:
        out["EventBridgeConfiguration"] = {}
    return out
