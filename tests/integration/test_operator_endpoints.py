"""The operator endpoints (/_nimbus/*) on a server that listens beyond loopback.

Such a server answers health and the presigned code downloads to anyone, and the
rest only to SigV4 requests signed with its credentials or to the metrics bearer token;
the `nimbus` CLI signs, so it keeps working. On a loopback bind plain requests pass.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from click.testing import CliRunner
from conftest import Launch, NimbusServer, running_server

from nimbus.cli.main import cli
from nimbus.packaging import zip_directory

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"
GUARDED = ["/_nimbus/metrics", "/_nimbus/metrics.json", "/_nimbus/bill", "/_nimbus/queues",
           "/_nimbus/doctor"]  # fmt: skip
TOKEN = secrets.token_urlsafe(24)
ROOT = {
    "access_key_id": "NIMBUSOPERATORTEST",
    "secret_access_key": secrets.token_urlsafe(30),
    "region": "us-east-1",
}


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    launch = Launch(host="0.0.0.0", root=ROOT, env={"NIMBUS_METRICS_BEARER_TOKEN": TOKEN})
    with running_server(tmp_path_factory.mktemp("exposed") / "data", launch=launch) as server:
        yield server


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return int(reply.status), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def signed(url: str, secret: str, access_key: str = ROOT["access_key_id"]) -> dict[str, str]:
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(access_key, secret), "nimbus", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def error_code(body: bytes) -> Any:
    return json.loads(body)["error"]["code"]


def test_health_is_open(exposed: NimbusServer) -> None:
    status, body = get(exposed.endpoint + "/_nimbus/health")
    assert status == 200 and json.loads(body)["status"] == "ok"


@pytest.mark.parametrize("path", GUARDED)
def test_plain_requests_are_refused(exposed: NimbusServer, path: str) -> None:
    status, body = get(exposed.endpoint + path)
    assert status == 403
    assert error_code(body) == "AccessDeniedException"


@pytest.mark.parametrize("path", GUARDED)
def test_signed_requests_pass(exposed: NimbusServer, path: str) -> None:
    url = exposed.endpoint + path
    status, _ = get(url, signed(url, ROOT["secret_access_key"]))
    assert status == 200


def test_a_wrong_secret_or_an_unknown_key_is_refused(exposed: NimbusServer) -> None:
    url = exposed.endpoint + "/_nimbus/bill"
    status, body = get(url, signed(url, "not-the-secret"))
    assert (status, error_code(body)) == (403, "InvalidSignatureException")
    status, body = get(url, signed(url, ROOT["secret_access_key"], access_key="test"))
    assert (status, error_code(body)) == (403, "UnrecognizedClientException")


def test_prometheus_scrapes_with_the_bearer_token(exposed: NimbusServer) -> None:
    url = exposed.endpoint + "/_nimbus/metrics"
    status, body = get(url, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and b"nimbus_environments_warm" in body
    status, body = get(url, {"Authorization": f"Bearer {TOKEN}x"})
    assert (status, error_code(body)) == (403, "AccessDeniedException")


def test_the_presigned_code_location_stays_open(exposed: NimbusServer) -> None:
    lam = exposed.client("lambda")
    lam.create_function(
        FunctionName="located", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
        Handler="lambda_function.handler", Code={"ZipFile": zip_directory(HELLO)},
    )  # fmt: skip
    location = lam.get_function(FunctionName="located")["Code"]["Location"]
    status, body = get(location)
    assert status == 200 and body[:2] == b"PK"


def test_the_cli_signs_and_takes_endpoint_after_the_command(exposed: NimbusServer) -> None:
    env = {**exposed.cli_env, "NIMBUS_ENDPOINT": None}
    result = CliRunner().invoke(cli, ["bill", "--json", "--endpoint", exposed.endpoint], env=env)
    assert result.exit_code == 0, result.output
    assert "month" in json.loads(result.stdout)
    wrong = {**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    result = CliRunner().invoke(cli, ["--endpoint", exposed.endpoint, "queues"], env=wrong)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: InvalidSignatureException:")


def test_loopback_bind_answers_plain_requests(nimbus_server: NimbusServer) -> None:
    for path in GUARDED:
        status, _ = get(nimbus_server.endpoint + path)
        assert status == 200, path
