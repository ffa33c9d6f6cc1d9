"""Large objects stream: a 1 GiB upload_file/download_file with s3transfer's defaults keeps the
server's memory flat, and a client that hangs up mid-upload leaves nothing behind."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from nimbus_servers import running_server

GIB = 1024**3
MIB = 1024**2


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


def test_one_gib_round_trip_keeps_server_memory_flat(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    with source.open("wb") as handle:  # 1 GiB: a repeating random MiB, cheap to write
        block = hashlib.sha256(b"x").digest() * (MIB // 32)
        for index in range(GIB // MIB):
            handle.write(index.to_bytes(8, "big") + block[8:])
    with running_server(tmp_path / "data") as server:
        s3: Any = server.client("s3")
        s3.create_bucket(Bucket="large-objects")
        before = rss_bytes(server.process.pid)
        peak = [before]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], rss_bytes(server.process.pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            s3.upload_file(str(source), "large-objects", "big.bin")
            target = tmp_path / "back.bin"
            s3.download_file("large-objects", "big.bin", str(target))
        finally:
            done.set()
            sampler.join()
        assert s3.head_object(Bucket="large-objects", Key="big.bin")["ContentLength"] == GIB
        assert sha256_of(target) == sha256_of(source)
    # s3transfer sends 10 parts of 8 MiB at once; buffering them costs well under 256 MiB,
    # holding the object would cost 1 GiB.
    assert peak[0] - before < 256 * MIB, f"RSS grew by {(peak[0] - before) // MIB} MiB"


def test_a_client_that_hangs_up_mid_upload_leaves_no_object_and_no_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as server:
        s3: Any = server.client("s3")
        s3.create_bucket(Bucket="cut-uploads")
        host, port = server.endpoint.removeprefix("http://").split(":")
        url = f"{server.endpoint}/cut-uploads/partial.bin"
        declared = 64 * MIB
        request = AWSRequest(
            method="PUT", url=url,
            headers={"Content-Length": str(declared), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
        )  # fmt: skip
        SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
        head = f"PUT /cut-uploads/partial.bin HTTP/1.1\r\nHost: {host}:{port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items()) + "\r\n"
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(head.encode())
            connection.sendall(b"\0" * (8 * MIB))  # an eighth of what it promised
        # A later request on a new connection sees no object, however long the server
        # took to notice the hang-up: the write is either still pending or abandoned.
        listed = s3.list_objects_v2(Bucket="cut-uploads")
        assert listed["KeyCount"] == 0
        s3.put_object(Bucket="cut-uploads", Key="after", Body=b"ok")  # still serving
        s3.delete_object(Bucket="cut-uploads", Key="after")
    leftovers = [p for p in (data / "s3" / "objects").rglob("*") if p.is_file()]
    assert leftovers == []  # no temp file of the cut upload, no data file
