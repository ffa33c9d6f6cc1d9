"""User errors of the `nimbus` client commands: one line, non-zero exit, no server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from nimbus.cli.client import CliError, Credentials, describe_error
from nimbus.cli.deploy import DeployOptions, choose_runtime, parse_env
from nimbus.cli.doctor import parse_report
from nimbus.cli.format import human_size, short_time
from nimbus.cli.invoke import render_payload
from nimbus.cli.main import cli

HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


@pytest.fixture
def refused_endpoint() -> Iterator[str]:
    """An endpoint where nothing listens: the port is bound but not listening."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


def run(*args: str, endpoint: str = "http://127.0.0.1:9") -> Result:
    return CliRunner().invoke(cli, ["--endpoint", endpoint, *args])


def error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("pair", ["NOVALUE", "=value", ""])
def test_malformed_env_is_one_line(pair: str) -> None:
    line = error_line(run("deploy", str(HELLO), "--env", "GOOD=1", "--env", pair))
    assert line == f"error: invalid --env {pair!r}: expected KEY=VALUE"


def test_invalid_json_payload_is_rejected_before_sending() -> None:
    line = error_line(run("invoke", "hello", "--payload", "{not json"))
    assert line.startswith("error: --payload is not valid JSON: Expecting property name")


def test_missing_payload_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    line = error_line(run("invoke", "hello", "--payload", f"@{missing}"))
    assert line == f"error: cannot read payload file {str(missing)!r}: No such file or directory"


def test_payload_file_with_invalid_json_is_rejected(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("[1, 2")
    assert "is not valid JSON" in error_line(run("invoke", "f", "--payload", f"@{event}"))


def test_log_with_async_is_one_line() -> None:
    line = error_line(run("invoke", "hello", "--async", "--log"))
    assert line.startswith("error: --log needs a synchronous invoke")


def test_endpoint_without_scheme_is_one_line() -> None:
    line = error_line(run("functions", endpoint="localhost:7800"))
    assert line == "error: invalid endpoint 'localhost:7800': expected http://HOST:PORT"


@pytest.mark.parametrize(
    "command", [["functions"], ["doctor"], ["invoke", "f"], ["deploy", str(HELLO)]]
)
def test_unreachable_server_is_one_line(refused_endpoint: str, command: list[str]) -> None:
    line = error_line(run(*command, endpoint=refused_endpoint))
    assert line == f"error: cannot reach nimbus at {refused_endpoint}: is the server running?"


def test_endpoint_comes_from_nimbus_endpoint(refused_endpoint: str) -> None:
    result = CliRunner().invoke(cli, ["functions"], env={"NIMBUS_ENDPOINT": refused_endpoint})
    assert refused_endpoint in error_line(result)


def test_empty_directory_is_one_line(tmp_path: Path) -> None:
    line = error_line(run("deploy", str(tmp_path)))
    assert line == f"error: {tmp_path} is empty: nothing to deploy"


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = run("deploy", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Directory" in result.stderr and "does not exist" in result.stderr


def test_server_command_still_registered() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    for command in ("server", "deploy", "invoke", "functions", "doctor"):
        assert f"  {command}" in result.stdout


def test_credentials_default_to_test_and_follow_the_aws_variables() -> None:
    assert Credentials.from_env({}) == Credentials("test", "test", None, "us-east-1")
    env = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_REGION": "eu-west-1"}
    assert Credentials.from_env(env) == Credentials("AK", "SK", None, "eu-west-1")
    assert Credentials.from_env({"AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"


def test_client_error_reads_code_then_message() -> None:
    reply = {"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found: x"}}
    error = describe_error(ClientError(reply, "Invoke"))
    assert error.message == "ResourceNotFoundException: Function not found: x"


def test_param_validation_report_becomes_one_line() -> None:
    report = "Invalid type for parameter A, value: 1\nMissing required parameter B"
    error = describe_error(ParamValidationError(report=report))
    assert error.message == "Invalid type for parameter A, value: 1; Missing required parameter B"


env_keys = st.text(st.characters(blacklist_characters="=\0"), min_size=1)


@given(st.dictionaries(env_keys, st.text(st.characters(blacklist_characters="\0"))))
def test_parse_env_round_trips(variables: dict[str, str]) -> None:
    assert parse_env(f"{key}={value}" for key, value in variables.items()) == variables


def test_choose_runtime_prefers_this_python_then_the_newest() -> None:
    available = ["python3.9", "python3.13", "python3.12", "nodejs22.x"]
    assert choose_runtime(available, "python3.12") == "python3.12"
    assert choose_runtime(available, "python3.14") == "python3.13"
    with pytest.raises(CliError, match="no Python runtime"):
        choose_runtime(["nodejs22.x"], "python3.11")


def test_update_changes_only_the_options_given() -> None:
    assert DeployOptions("f").configuration_changes() == {}
    options = DeployOptions("f", memory=256, environment={"A": "1"})
    assert options.configuration_changes() == {
        "MemorySize": 256,
        "Environment": {"Variables": {"A": "1"}},
    }
    created = options.create_parameters("python3.12", b"zip")
    assert (created["MemorySize"], created["Timeout"], created["Runtime"]) == (256, 3, "python3.12")


def test_doctor_reply_of_another_shape_is_one_line() -> None:
    with pytest.raises(CliError, match="unexpected reply"):
        parse_report({"status": "ok"})
    report = parse_report(
        {"runtimes": {}, "enforcement": [{"name": "t", "enforced": 1, "detail": "d"}]}
    )
    assert report.enforcement[0].enforced is True


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (50 * 2**20, "50.0 MiB"),
        (3 * 2**40, "3072.0 GiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text


def test_short_time_shows_utc_seconds_and_passes_unknown_text() -> None:
    assert short_time("2024-05-01T14:00:00.123+0200") == "2024-05-01 12:00:00 UTC"
    assert short_time("yesterday") == "yesterday"


def test_render_payload_pretty_prints_json_only() -> None:
    assert render_payload(b'{"a":[1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert render_payload(b"plain \xff") == "plain \ufffd"
