"""nimbus installed in a throwaway virtualenv under /tmp, as CI and quick trials install it.

The environment's /tmp is its own tmpfs, so the platform's site-packages are out of its
sight there: boto3 in a handler must still import, create clients at module level (which
loads botocore's data files lazily) and call the platform, directly and behind an SQS event
source mapping.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from nimbus_servers import NimbusServer, running_server  # tests/e2e/conftest.py loads it

from nimbus.packaging import build_package

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::000000000000:role/test"
HANDLER = """\
import boto3

sqs = boto3.client("sqs")
lam = boto3.client("lambda")


def handler(event, context):
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    for record in event.get("Records", []):
        out = sqs.get_queue_url(QueueName="forwarded")["QueueUrl"]
        sqs.send_message(QueueUrl=out, MessageBody=record["body"])
    return {"functions": names, "boto3": boto3.__file__}
"""


@pytest.fixture(scope="module")
def tmp_install() -> Iterator[Path]:
    """A virtualenv under /tmp (a space in its path, too) with nimbus installed, not linked."""
    with tempfile.TemporaryDirectory(prefix="nimbus venv ", dir="/tmp") as root:
        Path(root).chmod(0o755)  # as `python -m venv /tmp/venv` leaves it: traversable by all
        venv = Path(root) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*install, str(ROOT)], check=True, capture_output=True)
        yield python


@pytest.fixture(scope="module")
def server(tmp_install: Path) -> Iterator[NimbusServer]:
    data = tmp_install.parents[2] / "data"
    with running_server(data, python=str(tmp_install)) as running:
        yield running


@pytest.mark.slow
def test_a_handler_using_boto3_runs_from_an_install_under_tmp(
    server: NimbusServer, tmp_install: Path
) -> None:
    lam = server.client("lambda")
    lam.create_function(
        FunctionName="forwarder", Runtime="python3.11", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": build_package({"app.py": HANDLER})}, Timeout=30,
    )  # fmt: skip
    reply = lam.invoke(FunctionName="forwarder", Payload=b"{}")
    body = json.load(reply["Payload"])
    assert "FunctionError" not in reply, body
    assert body["functions"] == ["forwarder"]
    # the handler's boto3 is the platform's runtime library, inside the /tmp install
    assert body["boto3"].startswith(str(tmp_install.parents[1]))

    sqs = server.client("sqs")
    source = sqs.create_queue(QueueName="incoming")["QueueUrl"]
    forwarded = sqs.create_queue(QueueName="forwarded")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])
    lam.create_event_source_mapping(
        FunctionName="forwarder", EventSourceArn=arn["Attributes"]["QueueArn"], BatchSize=10
    )
    sent = {f"message {n}" for n in range(5)}
    for text in sent:
        sqs.send_message(QueueUrl=source, MessageBody=text)
    received: set[str] = set()
    while received != sent:
        batch = sqs.receive_message(
            QueueUrl=forwarded, MaxNumberOfMessages=10, WaitTimeSeconds=20
        ).get("Messages", [])
        assert batch, f"nothing forwarded in 20 s; got {sorted(received)}"
        received |= {message["Body"] for message in batch}
    assert received == sent
