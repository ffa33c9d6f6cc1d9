"""Conditional requests (RFC 7232 section 6, in the order S3 applies them).

1. If-Match fails → 412; when present (and true), If-Unmodified-Since is not consulted.
2. Otherwise If-Unmodified-Since fails (modified after the date) → 412.
3. If-None-Match matches → 304 on GET/HEAD; when present, If-Modified-Since is ignored.
4. Otherwise If-Modified-Since fails (not modified since the date) → 304.

Dates compare at whole seconds (HTTP dates carry no fractions). For a copy source every
failure is 412 (S3's x-amz-copy-source-if-* headers), so `check` takes a flag.
"""

from __future__ import annotations

import math

from nimbus.objects.errors import NotModified, PreconditionFailed
from nimbus.objects.model import Conditions, ObjectInfo


def etag_matches(header: str, etag: str) -> bool:
    """True if any entity tag in the (comma separated) header is `etag` or `*`."""
    bare = etag.strip('"')
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == bare:
            return True
    return False


def check(conditions: Conditions | None, info: ObjectInfo, *, copy_source: bool = False) -> None:
    """Raise PreconditionFailed or NotModified when `conditions` say not to serve `info`."""
    if conditions is None:
        return
    modified = math.floor(info.last_modified)
    if_match, if_none_match = conditions.if_match, conditions.if_none_match
    unmodified_since = conditions.if_unmodified_since
    modified_since = conditions.if_modified_since
    if if_match is not None and not etag_matches(if_match, info.etag):
        raise PreconditionFailed("If-Match")
    if if_match is None and unmodified_since is not None and modified > unmodified_since:
        raise PreconditionFailed("If-Unmodified-Since")
    if if_none_match is not None and etag_matches(if_none_match, info.etag):
        _not_modified(info, copy_source, "If-None-Match")
    if if_none_match is None and modified_since is not None and modified <= modified_since:
        _not_modified(info, copy_source, "If-Modified-Since")


def _not_modified(info: ObjectInfo, copy_source: bool, condition: str) -> None:
    if copy_source:
        raise PreconditionFailed(condition)
    raise NotModified(info.etag, info.last_modified)
