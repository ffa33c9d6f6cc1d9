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
