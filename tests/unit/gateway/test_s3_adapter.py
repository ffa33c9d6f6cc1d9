"""S3's XML errors and the S3 adapter over a stub handler table."""

from __future__ import annotations

import asyncio
from typing import Any

import botocore.session
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from nimbus.errors import ClientError, MalformedXML, NimbusError
from nimbus.gateway.adapters import AwsRequest, RequestContext
from nimbus.gateway.errors import s3_error_response, s3_host_id
from nimbus.gateway.protocols.rest_json import HttpResponse
from nimbus.gateway.protocols.rest_xml import RestXmlProtocol
from nimbus.gateway.s3_adapter import S3Adapter

S3 = botocore.session.get_session().get_service_model("s3")
PROTOCOL = RestXmlProtocol(S3)


class NoSuchKey(ClientError):
    code = "NoSuchKey"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.")
        self.key = key

    def extra_fields(self) -> dict[str, str]:
        return {"Key": self.key}


class NotModified(ClientError):
    code = "NotModified"
    status = 304


def parse_error(operation: str, response: HttpResponse) -> dict[str, Any]:
    wire = {
        "status_code": response.status,
        "headers": HeadersDict(response.headers),
        "body": response.body,
    }
    shape = S3.operation_model(operation).output_shape
    parsed: dict[str, Any] = create_parser("rest-xml").parse(wire, shape)
    return parsed


def test_error_body_round_trips_through_botocore() -> None:
    response = s3_error_response(NoSuchKey("a<&>b"), "req-1")
    assert response.status == 404
    assert response.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>')
    assert b"<Key>a&lt;&amp;&gt;b</Key><RequestId>req-1</RequestId><HostId>" in response.body
    headers = dict(response.headers)
    assert headers["x-amz-request-id"] == "req-1"
    assert headers["x-amz-id-2"] == s3_host_id("req-1")
    parsed = parse_error("GetObject", response)
    assert parsed["Error"] == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "a<&>b",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    assert parsed["ResponseMetadata"]["HostId"] == s3_host_id("req-1")


def test_head_and_not_modified_errors_have_no_body() -> None:
    head = s3_error_response(NoSuchKey("k"), "req-2", head=True)
    assert (head.status, head.body) == (404, b"")
    assert parse_error("HeadObject", head)["Error"]["Code"] == "404"
    assert s3_error_response(NotModified("Not Modified"), "req-3").body == b""


def test_malformed_xml_error() -> None:
    parsed = parse_error("DeleteObjects", s3_error_response(MalformedXML(), "r"))
    assert parsed["Error"]["Code"] == "MalformedXML"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 400


class Service:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []


def _recording(name: str, output: dict[str, Any]) -> Any:
    async def handler(service: Service, params: dict[str, Any], ctx: RequestContext) -> Any:
        body = params.get("Body")
        if body is not None and not isinstance(body, bytes):  # streamed: read it here
            params["Body"] = b"".join([chunk async for chunk in body])
        service.calls.append((name, params))
        return output

    return handler


async def _missing(service: Service, params: dict[str, Any], ctx: RequestContext) -> Any:
    raise NoSuchKey(params["Key"])


HANDLERS = {
    "GetObject": _recording("GetObject", {"Body": b"hello", "ContentLength": 5}),
    "PutObject": _recording("PutObject", {"ETag": '"e"'}),
    "HeadObject": _missing,
}


def call(method: str, path: str, query: str = "", host: str = "127.0.0.1:7800") -> Any:
    service = Service()
    adapter = S3Adapter(PROTOCOL, HANDLERS, service, base_hosts={"localhost"})
    request = AwsRequest(method, path, query, [("Host", host)], b"body", "http://" + host)
    response = asyncio.run(adapter.call(request, "rid"))
    return service, response


def test_adapter_routes_parses_and_serializes() -> None:
    service, response = call("GET", "/b/dir/a%20b")
    assert service.calls == [("GetObject", {"Bucket": "b", "Key": "dir/a b"})]
    assert response.status == 200
    assert response.body == b"hello"
    assert ("x-amz-request-id", "rid") in response.headers


def test_adapter_accepts_virtual_hosted_requests() -> None:
    service, response = call("PUT", "/k/", host="my-bucket.localhost:7800")
    assert service.calls == [("PutObject", {"Bucket": "my-bucket", "Key": "k/", "Body": b"body"})]
    assert ("ETag", '"e"') in response.headers


def test_adapter_errors_are_xml_and_head_errors_bodiless() -> None:
    _, response = call("HEAD", "/b/k")
    assert (response.status, response.body) == (404, b"")
    _, response = call("POST", "/b/k", "select&select-type=2")
    assert response.status == 501
    assert b"<Code>NotImplemented</Code>" in response.body
    error: NimbusError = NoSuchKey("k")
    adapter = S3Adapter(PROTOCOL, HANDLERS, Service())
    assert b"<Code>NoSuchKey</Code>" in adapter.error(error, "rid").body
