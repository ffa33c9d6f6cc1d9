"""Route S3 requests: path style, shared templates, greedy keys kept byte for byte.

S3's model gives several operations one template (``PUT /{Bucket}/{Key+}`` is
PutObject, CopyObject, UploadPart and UploadPartCopy). `RouteTable` picks the
template, as for any REST service; `SharedTemplate.choose` then picks the
operation whose *required* query and header members the request carries, most
demanding first: UploadPartCopy needs ``partNumber``, ``uploadId`` and
``x-amz-copy-source``, PutObject none. Deprecated twins (PutBucketNotification)
and S3 Express's ListDirectoryBuckets lose ties; they share their twin's wire
form exactly.

`RouteTable` trims slashes, right for Lambda and wrong for keys (``dir/``,
``a//b`` and ``/`` are keys), so it only sees the path's shape and the key is
cut from the raw path here, then percent-decoded once (a ``+`` stays a plus).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from nimbus.errors import UnknownOperation
from nimbus.gateway.protocols.rest_json import MessagePlan
from nimbus.gateway.protocols.rest_routing import OperationModel, RouteTable


def path_style(host: str | None, raw_path: str, base_hosts: Collection[str]) -> str:
    """`raw_path` as path style: ``bucket.<base host>`` + ``/key`` becomes ``/bucket/key``.

    Requests to a base host itself, to an IP address or to an unknown host are
    left as they are. `base_hosts` are lower-case host names without ports.
    """
    if not host:
        return raw_path
    name = host.lower()
    if not name.endswith("]"):  # "[::1]" has colons of its own
        name = name.rsplit(":", 1)[0]
    if name in base_hosts or _is_ip(name):
        return raw_path
    for base in base_hosts:
        if name.endswith("." + base):
            bucket = name[: -len(base) - 1]
            return "/" + bucket + ("" if raw_path in ("", "/") else raw_path)
    return raw_path


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def split_s3_path(raw_path: str) -> tuple[str | None, str | None]:
    """The still-encoded bucket and key of a path-style path (None where absent)."""
    path = raw_path.partition("?")[0]
    bucket, slash, key = path.removeprefix("/").partition("/")
    return (bucket or None), (key if slash and key else None)


@dataclass(frozen=True)
class Candidate:
    """One operation of a shared template and what the request must carry for it."""

    operation: OperationModel
    query: frozenset[str]  # required query keys
    headers: frozenset[str]  # required header names, lower-case
    rank: tuple[int, bool, bool]  # sorts the most demanding, current, general first

    @classmethod
    def of(cls, op: OperationModel, request: MessagePlan) -> Candidate:
        required = set(request.shape.required_members) if request.shape is not None else set()
        query = frozenset(b.wire for b in request.query if b.name in required)
        headers = frozenset(b.wire for b in request.headers if b.name in required)
        express = any(p.name == "UseS3ExpressControlEndpoint" for p in op.static_context_parameters)
        return cls(op, query, headers, (-(len(query) + len(headers)), op.deprecated, express))


@dataclass(frozen=True)
class SharedTemplate:
    """The operations of one (method, requestUri); quacks as an operation to RouteTable."""

    name: str
    http: Mapping[str, Any]
    candidates: tuple[Candidate, ...]

    def choose(self, query: AbstractSet[str], headers: AbstractSet[str]) -> OperationModel:
        for candidate in self.candidates:
            if candidate.query <= query and candidate.headers <= headers:
                return candidate.operation
        return self.candidates[-1].operation


class S3Router:
    """The operation and labels of a path-style S3 request."""

    def __init__(self, requests: Mapping[str, tuple[OperationModel, MessagePlan]]) -> None:
        grouped: dict[tuple[str, str], list[Candidate]] = {}
        for op, plan in requests.values():
            key = (op.http["method"], op.http["requestUri"])
            grouped.setdefault(key, []).append(Candidate.of(op, plan))
        templates = [
            SharedTemplate(
                name=f"{method} {uri}",
                http={"method": method, "requestUri": uri},
                candidates=tuple(sorted(candidates, key=lambda c: c.rank)),
            )
            for (method, uri), candidates in grouped.items()
        ]
        self._routes = RouteTable(templates)

    def match(
        self,
        method: str,
        raw_path: str,
        query: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> tuple[OperationModel, dict[str, str]]:
        bucket, key = split_s3_path(raw_path)
        shape_path = "/" if bucket is None else f"/{bucket}" + ("/_" if key is not None else "")
        pairs = [*query, *parse_qsl(raw_path.partition("?")[2], keep_blank_values=True)]
        try:
            template, labels = self._routes.match(method, shape_path, pairs)
        except UnknownOperation:
            path = raw_path.partition("?")[0] or "/"
            raise UnknownOperation(f"No operation matches {method.upper()} {path}.") from None
        if key is not None and "Key" in labels:
            labels["Key"] = unquote(key)
        return template.choose({k for k, _ in pairs}, set(headers or {})), labels
