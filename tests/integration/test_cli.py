"""The `nimbus` client commands against a real server, as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from nimbus.cli.main import cli

if TYPE_CHECKING:  # conftest is not importable at run time: tests/ is not a package
    from conftest import NimbusServer

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello"


def run(server: NimbusServer, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=server.cli_env)


def assert_one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]


@pytest.fixture(scope="module")
def hello(nimbus_server: NimbusServer) -> str:
    result = run(nimbus_server, "deploy", str(HELLO), "--name", "hello")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_deploy_creates_and_reports_arn_and_sha(nimbus_server: NimbusServer, hello: str) -> None:
    config = nimbus_server.client("lambda").get_function_configuration(FunctionName="hello")
    assert hello.splitlines()[0] == "created hello"
    assert config["FunctionArn"] in hello
    assert config["CodeSha256"] in hello
    assert config["Handler"] == "lambda_function.handler"
    assert (config["MemorySize"], config["Timeout"]) == (128, 3)
    assert config["Runtime"].startswith("python3.")


def test_deploy_again_updates_only_the_options_given(nimbus_server: NimbusServer) -> None:
    args = ["deploy", str(HELLO), "--name", "greeter", "--timeout", "7"]
    assert run(nimbus_server, *args).exit_code == 0
    result = run(nimbus_server, *args[:4], "--memory", "256", "--env", "GREETING=hi=there")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("updated greeter")
    config = nimbus_server.client("lambda").get_function_configuration(FunctionName="greeter")
    assert (config["MemorySize"], config["Timeout"]) == (256, 7)
    assert config["Environment"]["Variables"] == {"GREETING": "hi=there"}


def test_functions_lists_the_deployed_function(nimbus_server: NimbusServer, hello: str) -> None:
    result = run(nimbus_server, "functions")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if " hello " in line)
    assert "128 MB" in row
    assert "3 s" in row


def test_invoke_prints_the_greeting(nimbus_server: NimbusServer, hello: str) -> None:
    result = run(nimbus_server, "invoke", "hello", "--payload", '{"name":"x"}')
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["message"] == "Hello, x!"


def test_invoke_reads_payload_file_and_prints_log_tail(
    nimbus_server: NimbusServer, hello: str, tmp_path: Path
) -> None:
    event = tmp_path / "event.json"
    event.write_text('{"name": "file"}')
    result = run(nimbus_server, "invoke", "hello", "--payload", f"@{event}", "--log")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["message"] == "Hello, file!"
    assert "saying hello to file" in result.stderr


def test_invoke_async_is_accepted(nimbus_server: NimbusServer, hello: str) -> None:
    result = run(nimbus_server, "invoke", "hello", "--async", "--payload", "{}")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("accepted: request id ")


def test_invoke_of_a_function_error_prints_it_and_fails(
    nimbus_server: NimbusServer, tmp_path: Path
) -> None:
    (tmp_path / "lambda_function.py").write_text(
        "def handler(event, context):\n    raise ValueError('boom')\n"
    )
    assert run(nimbus_server, "deploy", str(tmp_path), "--name", "broken").exit_code == 0
    result = run(nimbus_server, "invoke", "broken")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errorMessage"] == "boom"
    assert_one_line_error(result, "broken failed: FunctionError Unhandled")


def test_invoke_of_a_missing_function_is_one_line(nimbus_server: NimbusServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nimbus", "invoke", "no-such-function"],
        env={**os.environ, **nimbus_server.cli_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: ResourceNotFoundException: Function not found: "
        "arn:aws:lambda:us-east-1:000000000000:function:no-such-function"
    ]


def test_validation_errors_are_one_line(nimbus_server: NimbusServer) -> None:
    on_server = run(nimbus_server, "deploy", str(HELLO), "--name", "no/slash")
    assert_one_line_error(on_server, "error: ValidationException: 1 validation error detected")
    in_botocore = run(nimbus_server, "deploy", str(HELLO), "--name", "small", "--memory", "5")
    assert_one_line_error(in_botocore, "error: Invalid value for parameter MemorySize, value: 5")


def test_doctor_prints_limits_and_runtimes(nimbus_server: NimbusServer) -> None:
    result = run(nimbus_server, "doctor")
    assert result.exit_code == 0, result.output
    assert "timeout" in result.stdout
    assert "✓" in result.stdout or "✗" in result.stdout
    assert "python3." in result.stdout


def test_a_stopped_server_is_reported_as_unreachable() -> None:
    with socket.socket() as bound_not_listening:  # connections to it are refused
        bound_not_listening.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}"
        for command in (["functions"], ["doctor"], ["invoke", "hello"]):
            result = CliRunner().invoke(cli, ["--endpoint", endpoint, *command])
            expected = f"cannot reach nimbus at {endpoint}: is the server running?"
            assert_one_line_error(result, expected)
