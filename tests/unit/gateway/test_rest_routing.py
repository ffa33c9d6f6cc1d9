"""Generic REST-JSON features Lambda does not use: greedy labels, header maps, jsonvalue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from nimbus.errors import UnknownOperation
from nimbus.gateway.protocols.rest_json import RestJsonProtocol


def _op(name: str, method: str, uri: str, with_io: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"name": name, "http": {"method": method, "requestUri": uri}}
    if with_io:
        op["input"] = {"shape": "ObjectInput"}
        op["output"] = {"shape": "ObjectOutput"}
    return op


def _header(shape: str, name: str) -> dict[str, str]:
    return {"shape": shape, "location": "header", "locationName": name}


DEMO = ServiceModel(
    {
        "metadata": {
            "protocol": "rest-json",
            "apiVersion": "2020-01-01",
            "endpointPrefix": "demo",
            "serviceId": "Demo",
            "signatureVersion": "v4",
        },
        "operations": {
            "GetObject": _op("GetObject", "GET", "/{Bucket}/{Key+}", with_io=True),
            "GetConfig": _op("GetConfig", "GET", "/{Bucket}/config"),
            "GetAcl": _op("GetAcl", "GET", "/{Bucket}/{Key+}?acl"),
            "ListBucket": _op("ListBucket", "GET", "/{Bucket}"),
        },
        "shapes": {
            "ObjectInput": {
                "type": "structure",
                "required": ["Bucket", "Key"],
                "members": {
                    "Bucket": {"shape": "Str", "location": "uri", "locationName": "Bucket"},
                    "Key": {"shape": "Str", "location": "uri", "locationName": "Key"},
                    "Tags": _header("StrList", "X-Tags"),
                    "Since": _header("Time", "X-Since"),
                    "Doc": _header("JsonStr", "X-Doc"),
                    "Meta": {"shape": "StrMap", "location": "headers", "locationName": "x-meta-"},
                    "Filters": {"shape": "StrMap", "location": "querystring"},
                },
            },
            "ObjectOutput": {
                "type": "structure",
                "payload": "Body",
                "members": {
                    "Body": {"shape": "Blob"},
                    "Expires": _header("Time", "Expires"),
                    "Count": _header("Int", "X-Count"),
                    "Flags": _header("StrList", "X-Flags"),
                    "Doc": _header("JsonStr", "X-Doc"),
                    "Meta": {"shape": "StrMap", "location": "headers", "locationName": "x-meta-"},
                },
            },
            "Str": {"type": "string"},
            "Int": {"type": "integer"},
            "Blob": {"type": "blob"},
            "Time": {"type": "timestamp"},
            "JsonStr": {"type": "string", "jsonvalue": True},
            "StrList": {"type": "list", "member": {"shape": "Str"}},
            "StrMap": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
        },
    },
    service_name="demo",
)
PROTOCOL = RestJsonProtocol(DEMO)


@pytest.mark.parametrize(
    ("path", "operation", "labels"),
    [
        ("/b/a/b/c", "GetObject", {"Bucket": "b", "Key": "a/b/c"}),
        ("/b/x%2Fy%20z", "GetObject", {"Bucket": "b", "Key": "x/y z"}),
        ("/b/config", "GetConfig", {"Bucket": "b"}),
        ("/b/config/more", "GetObject", {"Bucket": "b", "Key": "config/more"}),
        ("/b/k?acl", "GetAcl", {"Bucket": "b", "Key": "k"}),
        ("/b", "ListBucket", {"Bucket": "b"}),
        ("/b/", "ListBucket", {"Bucket": "b"}),
    ],
)
def test_most_specific_template_wins(path: str, operation: str, labels: dict[str, str]) -> None:
    op, found = PROTOCOL.match("GET", path)
    assert (op.name, found) == (operation, labels)


def test_root_is_unknown() -> None:
    with pytest.raises(UnknownOperation):
        PROTOCOL.match("GET", "/")


def test_request_round_trip_through_botocore() -> None:
    params = {
        "Bucket": "b",
        "Key": "dir/file name.txt",
        "Tags": ["a", "b,c", 'q"t'],
        "Since": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "Doc": {"nested": [1, 2]},
        "Meta": {"Owner": "me"},
        "Filters": {"prefix": "p", "size": "10"},
    }
    op = DEMO.operation_model("GetObject")
    request = create_serializer("rest-json").serialize_to_request(params, op)
    query = list(request["query_string"].items())
    matched, labels = PROTOCOL.match("GET", request["url_path"], query)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    parsed = PROTOCOL.parse(matched, labels, query, headers, request["body"])
    expected = {**params, "Meta": {"owner": "me"}}  # header names arrive lower-cased
    assert parsed == expected


def test_response_round_trip_through_botocore() -> None:
    output = {
        "Body": b"\x00raw",
        "Expires": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "Count": 3,
        "Flags": ["x", "y z"],  # botocore's parser splits on every comma, quoted or not
        "Doc": {"k": "v"},
        "Meta": {"owner": "me"},
    }
    response = PROTOCOL.serialize(DEMO.operation_model("GetObject"), output)
    wire = {"status_code": response.status, "headers": HeadersDict(response.headers)}
    wire["body"] = response.body
    parsed = create_parser("rest-json").parse(wire, DEMO.operation_model("GetObject").output_shape)
    assert parsed["Body"] == "\x00raw"
    assert {k: parsed[k] for k in ("Expires", "Count", "Flags", "Doc", "Meta")} == {
        k: output[k] for k in ("Expires", "Count", "Flags", "Doc", "Meta")
    }
