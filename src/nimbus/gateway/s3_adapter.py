"""The S3 adapter: REST-XML around `ObjectsService`, with bodies that stream.

PutObject and UploadPart get their body as an async iterator (`s3_body.RequestBody`:
the signed payload hash checked and aws-chunked undone as it streams); every other
operation's body is read whole (bounded) and its Content-MD5 and `x-amz-checksum-*`
verified before parsing. GetObject's body goes back as a stream. Virtual-hosted requests
(``<bucket>.<base host>``) are rewritten to path style first.

Errors raised while serving are answered here, so HEAD requests get S3's bodiless error;
`error` serves the gateway's own (authentication) errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Collection, Mapping
from email.utils import formatdate
from typing import Any, Final, Generic, TypeVar
from urllib.parse import parse_qsl

from nimbus.errors import NimbusError
from nimbus.gateway.adapters import AwsRequest, Handler, RequestContext, handler_for
from nimbus.gateway.errors import s3_error_response, s3_request_headers
from nimbus.gateway.protocols.rest_json import HttpResponse
from nimbus.gateway.protocols.rest_xml import RestXmlProtocol, path_style
from nimbus.gateway.s3_body import UNSIGNED, IncompleteBody, RequestBody
from nimbus.objects.checksums import ChecksumAlgorithm, compute, decode_content_md5
from nimbus.objects.errors import BadDigest, NotModified

S = TypeVar("S")

# An XML request (DeleteObjects of 1,000 keys of 1,024 bytes, a notification config).
XML_BODY_LIMIT: Final = 8 * 1024 * 1024
TOO_LARGE: Final = "Your request was too big."


class MaxMessageLengthExceeded(NimbusError):
    code = "MaxMessageLengthExceeded"
    status = 400
    sender_fault = True


class S3Adapter(Generic[S]):
    def __init__(
        self,
        protocol: RestXmlProtocol,
        handlers: Mapping[str, Handler[S]],
        service: S,
        *,
        api: str = "S3",
        base_hosts: Collection[str] = ("localhost",),
        account_id: str = "000000000000",
        region: str = "us-east-1",
    ) -> None:
        self._protocol, self._handlers, self._service, self._api = protocol, handlers, service, api
        self._base_hosts = frozenset(h.lower() for h in base_hosts)
        self._account_id, self._region = account_id, region

    async def call(self, request: AwsRequest, request_id: str) -> HttpResponse:
        head = request.method.upper() == "HEAD"
        try:
            response = await self._call(request, request_id)
        except NotModified as not_modified:
            response = s3_error_response(not_modified, request_id, head=True)
            response.headers.append(("ETag", not_modified.etag))
            modified = formatdate(not_modified.last_modified, usegmt=True)
            response.headers.append(("Last-Modified", modified))
            return response
        except NimbusError as error:
            resource = request.raw_path.partition("?")[0]
            return s3_error_response(error, request_id, head=head, resource=resource)
        response.headers.extend(s3_request_headers(request_id))
        return response

    def error(self, error: NimbusError, request_id: str) -> HttpResponse:
        return s3_error_response(error, request_id)

    async def _call(self, request: AwsRequest, request_id: str) -> HttpResponse:
        query = parse_qsl(request.query_string, keep_blank_values=True)
        headers = {name.lower(): value for name, value in request.headers}
        raw_path = path_style(headers.get("host"), request.raw_path, self._base_hosts)
        operation, path_params = self._protocol.match(request.method, raw_path, query, headers)
        payload_hash = request.auth.payload_hash if request.auth is not None else UNSIGNED
        body = RequestBody(_source(request), payload_hash, request.auth)
        streamed = self._protocol.streaming_input(operation)
        trailer = None
        if streamed is not None:
            params = self._protocol.parse(operation, path_params, query, headers, b"")
            params[streamed] = _checked_length(body, headers)
            trailer = _trailer(params, headers, body)
        else:
            raw = await _read_all(body)
            verify_digests(raw, headers)
            params = self._protocol.parse(operation, path_params, query, headers, raw)
        ctx = RequestContext(
            request_id, request.base_url, self._account_id, self._region, trailer,
            request.client_ip,
        )  # fmt: skip
        handler = handler_for(self._handlers, operation.name, self._api)
        output = await handler(self._service, params, ctx)
        return self._protocol.serialize(operation, output)


async def _source(request: AwsRequest) -> AsyncIterator[bytes]:
    if request.stream is None:
        if request.body:
            yield request.body
        return
    async for chunk in request.stream:
        yield chunk


async def _read_all(body: RequestBody) -> bytes:
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > XML_BODY_LIMIT:
            raise MaxMessageLengthExceeded(TOO_LARGE)
    return bytes(data)


async def _checked_length(body: RequestBody, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
    """The body, ending in IncompleteBody if it is shorter than the client declared."""
    declared = headers.get("x-amz-decoded-content-length")
    if declared is None and "aws-chunked" not in headers.get("content-encoding", ""):
        declared = headers.get("content-length")
    async for chunk in body:
        yield chunk
    if declared is not None and declared.isdigit() and body.decoded_length != int(declared):
        raise IncompleteBody(
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )


def _trailer(params: dict[str, Any], headers: Mapping[str, str], body: RequestBody) -> Any:
    """The checksum named by `x-amz-trailer`, as a callable read after the body ends."""
    name = headers.get("x-amz-trailer", "").strip().lower()
    if not name.startswith("x-amz-checksum-"):
        return None
    if not params.get("ChecksumAlgorithm"):
        params["ChecksumAlgorithm"] = name.removeprefix("x-amz-checksum-").upper()
    return lambda: body.trailer(name)


def verify_digests(body: bytes, headers: Mapping[str, str]) -> None:
    """Content-MD5 and any `x-amz-checksum-*` header of a body read whole."""
    content_md5 = headers.get("content-md5")
    if content_md5 is not None:
        expected = decode_content_md5(content_md5)
        if hashlib.md5(body).digest() != expected:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
    for algorithm in ChecksumAlgorithm:
        sent = headers.get(algorithm.header)
        if sent is not None and compute(algorithm, body) != sent:
            raise BadDigest(
                f"The {algorithm.value} you specified did not match the calculated checksum."
            )
