"""S3 through boto3 against a real server: buckets, objects, listings, multipart, presigning."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import NimbusServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TRICKY_KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign.txt",
    "percent%20literal",
    "ünïcödé/ключ/鍵.bin",
    "dir/sub/deep.txt",
    "dir//double",
    "trailing/",
    "question?mark&amp=1",
    "tilde~and'quote\"",
]


@pytest.fixture(scope="module")
def s3(nimbus_server: NimbusServer) -> Any:
    return nimbus_server.client("s3")


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "t-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:20]
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return {
        "code": caught.value.response["Error"]["Code"],
        "message": caught.value.response["Error"].get("Message"),
        "status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"],
        "error": caught.value.response["Error"],
    }


def test_bucket_lifecycle_and_errors(s3: Any) -> None:
    s3.create_bucket(Bucket="lifecycle-bucket")
    assert "lifecycle-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket="lifecycle-bucket")
    again = error_of(s3.create_bucket, Bucket="lifecycle-bucket")
    assert (again["code"], again["status"]) == ("BucketAlreadyOwnedByYou", 409)
    s3.put_object(Bucket="lifecycle-bucket", Key="k", Body=b"x")
    busy = error_of(s3.delete_bucket, Bucket="lifecycle-bucket")
    assert (busy["code"], busy["status"]) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="lifecycle-bucket", Key="k")
    s3.delete_bucket(Bucket="lifecycle-bucket")
    assert error_of(s3.head_bucket, Bucket="lifecycle-bucket")["code"] == "404"
    missing = error_of(s3.list_objects_v2, Bucket="lifecycle-bucket")
    assert (missing["code"], missing["status"]) == ("NoSuchBucket", 404)
    assert missing["error"]["BucketName"] == "lifecycle-bucket"
    bad = error_of(s3.create_bucket, Bucket="Bad_Name")
    assert (bad["code"], bad["status"]) == ("InvalidBucketName", 400)


def test_objects_round_trip_with_headers_and_metadata(s3: Any, bucket: str) -> None:
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    put = s3.put_object(
        Bucket=bucket, Key="doc.html", Body=b"<p>hi</p>", ContentType="text/html",
        CacheControl="max-age=60", ContentDisposition="inline", ContentLanguage="en",
        Expires=expires, Metadata={"Owner": "me", "n": "1"}, Tagging="a=1&b=two",
    )  # fmt: skip
    assert put["ETag"] == '"' + hashlib.md5(b"<p>hi</p>").hexdigest() + '"'
    got = s3.get_object(Bucket=bucket, Key="doc.html")
    assert got["Body"].read() == b"<p>hi</p>"
    assert (got["ContentType"], got["CacheControl"]) == ("text/html", "max-age=60")
    assert (got["ContentDisposition"], got["ContentLanguage"]) == ("inline", "en")
    assert got["Metadata"] == {"owner": "me", "n": "1"}
    assert got["ETag"] == put["ETag"] and got["TagCount"] == 2
    assert got["Expires"] == expires
    head = s3.head_object(Bucket=bucket, Key="doc.html")
    assert head["ContentLength"] == 9 and head["AcceptRanges"] == "bytes"
    tags = s3.get_object_tagging(Bucket=bucket, Key="doc.html")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two")]
    s3.put_object_tagging(
        Bucket=bucket, Key="doc.html", Tagging={"TagSet": [{"Key": "z", "Value": ""}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="doc.html")["TagSet"] == [
        {"Key": "z", "Value": ""}
    ]
    s3.delete_object_tagging(Bucket=bucket, Key="doc.html")
    assert s3.get_object_tagging(Bucket=bucket, Key="doc.html")["TagSet"] == []
    override = s3.get_object(Bucket=bucket, Key="doc.html", ResponseContentType="text/plain")
    assert override["ContentType"] == "text/plain"


def test_ranges_and_conditions(nimbus_server: NimbusServer, s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * 4
    etag = s3.put_object(Bucket=bucket, Key="r", Body=body)["ETag"]
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert part["Body"].read() == body[10:20]
    assert part["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == body[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=1000-")["Body"].read() == body[1000:]
    unsatisfiable = error_of(s3.get_object, Bucket=bucket, Key="r", Range="bytes=5000-")
    assert (unsatisfiable["code"], unsatisfiable["status"]) == ("InvalidRange", 416)
    assert s3.get_object(Bucket=bucket, Key="r", IfMatch=etag)["Body"].read() == body
    failed = error_of(s3.get_object, Bucket=bucket, Key="r", IfMatch='"nope"')
    assert (failed["code"], failed["status"]) == ("PreconditionFailed", 412)
    assert error_of(s3.get_object, Bucket=bucket, Key="r", IfNoneMatch=etag)["status"] == 304
    later = datetime.fromtimestamp(nimbus_server.now(), UTC) + timedelta(days=1)
    assert error_of(s3.get_object, Bucket=bucket, Key="r", IfModifiedSince=later)["status"] == 304
    earlier = datetime(2000, 1, 1, tzinfo=UTC)
    assert s3.get_object(Bucket=bucket, Key="r", IfModifiedSince=earlier)["ContentLength"] == 1024
    missing = error_of(s3.get_object, Bucket=bucket, Key="absent")
    assert (missing["code"], missing["status"], missing["error"]["Key"]) == (
        "NoSuchKey", 404, "absent"
    )  # fmt: skip
    assert error_of(s3.head_object, Bucket=bucket, Key="absent")["code"] == "404"


def test_tricky_keys_round_trip_through_listing(s3: Any, bucket: str) -> None:
    for key in TRICKY_KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    listed = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 3}
        )
        for item in page.get("Contents", [])
    ]
    assert listed == sorted(TRICKY_KEYS, key=lambda k: k.encode())
    for key in TRICKY_KEYS:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "trailing/", "ünïcödé/"]
    assert "plain.txt" in [c["Key"] for c in top["Contents"]]
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["dir//", "dir/sub/"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="plus+sign.txt")
    assert after["StartAfter"] == "plus+sign.txt"
    assert all(c["Key"].encode() > b"plus+sign.txt" for c in after["Contents"])
    bad = error_of(s3.list_objects_v2, Bucket=bucket, ContinuationToken="forged")
    assert (bad["code"], bad["status"]) == ("InvalidArgument", 400)
    v1 = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert v1["IsTruncated"] and len(v1["Contents"]) == 2


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=60))
def test_any_key_round_trips(s3: Any, key: str) -> None:
    if len(key.encode()) > 1024:
        return
    s3.put_object(Bucket="hypothesis-keys", Key=key, Body=b"v")
    listed = s3.list_objects_v2(Bucket="hypothesis-keys", Prefix=key)["Contents"]
    assert key in [item["Key"] for item in listed]
    assert s3.get_object(Bucket="hypothesis-keys", Key=key)["Body"].read() == b"v"
    s3.delete_object(Bucket="hypothesis-keys", Key=key)


@pytest.fixture(scope="module", autouse=True)
def hypothesis_bucket(s3: Any) -> None:
    s3.create_bucket(Bucket="hypothesis-keys")


def test_copy_delete_many_and_key_limits(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", Metadata={"k": "v"}, ContentType="a/b")
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == '"' + hashlib.md5(b"data").hexdigest() + '"'
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert (head["Metadata"], head["ContentType"]) == ({"k": "v"}, "a/b")
    s3.copy_object(
        Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
        Metadata={"new": "1"}, ContentType="c/d",
    )  # fmt: skip
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert (head["Metadata"], head["ContentType"]) == ({"new": "1"}, "c/d")
    itself = error_of(s3.copy_object, Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert (itself["code"], itself["status"]) == ("InvalidRequest", 400)
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "src"}, {"Key": "dst"}, {"Key": "never"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["dst", "never", "src"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="never")  # idempotent
    too_long = error_of(s3.put_object, Bucket=bucket, Key="k" * 1025, Body=b"")
    assert (too_long["code"], too_long["status"]) == ("KeyTooLongError", 400)


def test_checksums_are_verified(s3: Any, bucket: str) -> None:
    sha = s3.put_object(Bucket=bucket, Key="c", Body=b"abc", ChecksumAlgorithm="SHA256")
    assert sha["ChecksumSHA256"] == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha["ChecksumSHA256"] and got["Body"].read() == b"abc"
    wrong = error_of(s3.put_object, Bucket=bucket, Key="w", Body=b"abc", ChecksumCRC32="AAAAAA==")
    assert (wrong["code"], wrong["status"]) == ("BadDigest", 400)
    md5 = error_of(
        s3.put_object, Bucket=bucket, Key="w", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="
    )
    assert md5["code"] == "BadDigest"
    assert error_of(s3.head_object, Bucket=bucket, Key="w")["code"] == "404"  # nothing stored


def test_multipart_through_s3transfer(s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    data = hashlib.sha256(b"seed").digest() * (25 * 1024 * 1024 // 32)  # 25 MiB: 4 parts
    source.write_bytes(data)
    s3.upload_file(str(source), bucket, "big.bin")
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-4"')
    parts = [data[i : i + 8 * 1024 * 1024] for i in range(0, len(data), 8 * 1024 * 1024)]
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    assert head["ETag"] == f'"{hashlib.md5(joined).hexdigest()}-4"'
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target))
    assert target.read_bytes() == data


def test_multipart_api_and_its_errors(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="x/y")["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    small = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"a")
    last = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=2, Body=b"b")
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 1), (2, 1)]
    parts = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
    too_small = error_of(
        s3.complete_multipart_upload, Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": parts},
    )  # fmt: skip
    assert (too_small["code"], too_small["status"]) == ("EntityTooSmall", 400)
    order = error_of(
        s3.complete_multipart_upload, Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": parts[::-1]},
    )  # fmt: skip
    assert order["code"] == "InvalidPartOrder"
    number = error_of(
        s3.upload_part, Bucket=bucket, Key="mp", UploadId=upload, PartNumber=10001, Body=b"x"
    )
    assert number["code"] == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
    gone = error_of(s3.list_parts, Bucket=bucket, Key="mp", UploadId=upload)
    assert (gone["code"], gone["status"]) == ("NoSuchUpload", 404)


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return int(reply.status), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_presigned_urls_v2_and_v4(nimbus_server: NimbusServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared file.txt", Body=b"shared")
    v2 = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared file.txt"}
    )
    assert "AWSAccessKeyId=" in v2
    assert fetch(v2) == (200, b"shared")
    tampered = v2.replace("shared%20file", "shared%20filf")
    status, body = fetch(tampered)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    v4_client = nimbus_server.client("s3", signature_version="s3v4")
    put_url = v4_client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "uploaded"}, ExpiresIn=60
    )
    assert "X-Amz-Signature=" in put_url
    assert fetch(put_url, "PUT", b"via presigned put")[0] == 200
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == b"via presigned put"
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "uploaded"}, ExpiresIn=-10
    )
    status, body = fetch(expired)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert b"Request has expired" in body


def test_wrong_secret_gets_s3_error_codes(nimbus_server: NimbusServer) -> None:
    import boto3

    wrong = boto3.session.Session().client(
        "s3", endpoint_url=nimbus_server.endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="wrong",
        config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    mismatch = error_of(wrong.list_buckets)
    assert (mismatch["code"], mismatch["status"]) == ("SignatureDoesNotMatch", 403)
    unknown = boto3.session.Session().client(
        "s3", endpoint_url=nimbus_server.endpoint, region_name="us-east-1",
        aws_access_key_id="nobody", aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip
    assert error_of(unknown.list_buckets)["code"] == "InvalidAccessKeyId"


def test_upload_fileobj_streams_from_a_reader(s3: Any, bucket: str) -> None:
    s3.upload_fileobj(io.BytesIO(b"z" * 1000), bucket, "small")
    buffer = io.BytesIO()
    s3.download_fileobj(bucket, "small", buffer)
    assert buffer.getvalue() == b"z" * 1000


def aws_chunked_put(
    server: NimbusServer, path: str, data: bytes, trailer: str, chunk: int = 65536
) -> tuple[int, bytes]:
    """A PutObject framed as aws-chunked with a checksum trailer, as SDKs send over https."""
    import http.client

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    framed = (
        b"".join(
            f"{len(data[i : i + chunk]):x}\r\n".encode() + data[i : i + chunk] + b"\r\n"
            for i in range(0, len(data), chunk)
        )
        + b"0\r\n"
        + trailer.encode()
        + b"\r\n\r\n"
    )
    headers = {
        "Content-Encoding": "aws-chunked", "Content-Length": str(len(framed)),
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "X-Amz-Trailer": trailer.split(":", maxsplit=1)[0],
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    }  # fmt: skip
    request = AWSRequest(method="PUT", url=server.endpoint + path, headers=headers)
    # what botocore's flexible-checksum step marks for a trailer: sign STREAMING-...-TRAILER
    request.context["checksum"] = {"request_algorithm": {"in": "trailer"}}
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    host = server.endpoint.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        connection.request("PUT", path, body=framed, headers=dict(request.headers.items()))
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def test_aws_chunked_uploads_with_a_trailer(
    nimbus_server: NimbusServer, s3: Any, bucket: str
) -> None:
    import base64
    import zlib

    data = bytes(range(256)) * 1000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    status, first = aws_chunked_put(
        nimbus_server, f"/{bucket}/chunked", data, f"x-amz-checksum-crc32:{crc}"
    )
    assert status == 200, first
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data
    assert "ContentEncoding" not in got  # aws-chunked was the transfer, not the content
    status, body = aws_chunked_put(
        nimbus_server, f"/{bucket}/bad-crc", data, "x-amz-checksum-crc32:AAAAAA=="
    )
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert error_of(s3.head_object, Bucket=bucket, Key="bad-crc")["code"] == "404"
