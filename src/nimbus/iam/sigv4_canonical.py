"""The canonical request of SigV4, rebuilt from the request exactly as it came off the wire.

Two dialects: non-S3 requests have dot segments removed from the path and the path
percent-encoded a second time; S3 uses the path as sent. Query keys and values are
re-encoded the canonical way at the byte level, so invalid UTF-8 survives unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from nimbus.iam.sigv4_claim import Claim
from nimbus.iam.sigv4_failures import SIGNATURE_MISMATCH, Failure, fail

# Already canonical: unreserved characters and upper-case escapes of reserved bytes only.
_CANONICAL_COMPONENT = re.compile(
    r"(?:[A-Za-z0-9\-_.~]|%(?!3[0-9]|4[1-9A-F]|5[0-9AF]|6[1-9A-F]|7[0-9AE]|2[DE])[0-9A-F]{2})*"
)
_COMPONENT_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.~]+")
_PLAIN_ENCODED_PATH = re.compile(r"[A-Za-z0-9\-_.~/%]*")
_PATH_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.~/]+")


def canonical_request(
    method: str,
    raw_path: str,
    headers: dict[str, list[str]],
    pairs: list[tuple[str, str]],
    claim: Claim,
    payload_hash: str,
    *,
    s3: bool,
) -> str:
    if claim.expires is not None:
        pairs = [(key, value) for key, value in pairs if key != "X-Amz-Signature"]
    return "\n".join(
        (
            method.upper(),
            _canonical_uri(raw_path, s3),
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
            raise fail(Failure.MISMATCH, SIGNATURE_MISMATCH)
        lines.append(f"{name}:{','.join(' '.join(value.split()) for value in values)}\n")
    return "".join(lines)


def index_headers(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for name, value in headers:
        index.setdefault(name.lower(), []).append(value)
    return index


def query_pairs(query_string: str) -> list[tuple[str, str]]:
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
