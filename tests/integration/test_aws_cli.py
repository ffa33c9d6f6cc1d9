"""The AWS CLI works unchanged against nimbus with --endpoint-url."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from nimbus.packaging import build_package


def aws(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", server.endpoint]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_create_list_invoke_with_the_aws_cli(nimbus_server: Any, tmp_path: Path) -> None:
    package = tmp_path / "code.zip"
    package.write_bytes(build_package({"app.py": "def run(event, context):\n    return event\n"}))
    created = aws(
        nimbus_server, "lambda", "create-function", "--function-name", "cli-made",
        "--runtime", "python3.11", "--handler", "app.run",
        "--role", "arn:aws:iam::000000000000:role/cli", "--zip-file", f"fileb://{package}",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["FunctionName"] == "cli-made"
    listed = aws(nimbus_server, "lambda", "list-functions")
    assert "cli-made" in [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]]
    out = tmp_path / "out.json"
    invoked = aws(
        nimbus_server, "lambda", "invoke", "--function-name", "cli-made",
        "--payload", '{"hi": 1}', str(out),
    )  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text()) == {"hi": 1}
    missing = aws(nimbus_server, "lambda", "get-function", "--function-name", "nope")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


def test_s3_commands_with_the_aws_cli(nimbus_server: Any, tmp_path: Path) -> None:
    source = tmp_path / "upload dir"
    (source / "nested").mkdir(parents=True)
    (source / "nested" / "ü file.txt").write_text("hello")
    big = source / "big.bin"
    big.write_bytes(bytes(range(256)) * (40 * 1024 * 4))  # 40 MiB: multipart through the CLI

    def ok(*args: str) -> str:
        result = aws(nimbus_server, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    ok("s3", "mb", "s3://cli-objects")
    ok("s3", "sync", str(source), "s3://cli-objects/sync")
    listing = ok("s3", "ls", "s3://cli-objects/sync/", "--recursive")
    assert "sync/nested/ü file.txt" in listing and "sync/big.bin" in listing
    assert "PRE nested/" in ok("s3", "ls", "s3://cli-objects/sync/")
    back = tmp_path / "back.bin"
    ok("s3", "cp", "s3://cli-objects/sync/big.bin", str(back))
    assert back.read_bytes() == big.read_bytes()
    head = json.loads(
        ok("s3api", "head-object", "--bucket", "cli-objects", "--key", "sync/big.bin")
    )
    assert head["ContentLength"] == big.stat().st_size and head["ETag"].endswith('-5"')
    refused = aws(nimbus_server, "s3", "rb", "s3://cli-objects")
    assert refused.returncode != 0 and "BucketNotEmpty" in refused.stderr
    ok("s3", "rm", "s3://cli-objects", "--recursive")
    ok("s3", "rb", "s3://cli-objects")
    buckets = json.loads(ok("s3api", "list-buckets"))["Buckets"]
    assert "cli-objects" not in [b["Name"] for b in buckets]
