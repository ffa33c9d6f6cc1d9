"""Where the client commands look for the platform: --endpoint anywhere, then the environment."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from nimbus.cli.client import DEFAULT_ENDPOINT, resolve_endpoint
from nimbus.cli.main import cli

CLEAN_ENV = {"NIMBUS_ENDPOINT": None, "AWS_ENDPOINT_URL": None}


def closed_port() -> Iterator[str]:
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


first = pytest.fixture(closed_port)
second = pytest.fixture(closed_port)
third = pytest.fixture(closed_port)


def reached(args: list[str], env: dict[str, str | None] | None = None) -> str:
    """The endpoint a command tried, read from its one-line 'cannot reach' error."""
    result = CliRunner().invoke(cli, args, env={**CLEAN_ENV, **(env or {})})
    assert result.exit_code == 1, result.output
    line = result.stderr.strip()
    prefix, suffix = "error: cannot reach nimbus at ", ": is the server running?"
    assert line.startswith(prefix) and line.endswith(suffix), line
    return line.removeprefix(prefix).removesuffix(suffix)


def test_flag_after_the_subcommand(first: str) -> None:
    assert reached(["bill", "--json", "--endpoint", first]) == first


def test_flag_before_the_subcommand(first: str) -> None:
    assert reached(["--endpoint", first, "bill", "--json"]) == first


def test_aws_cli_spelling(first: str) -> None:
    assert reached(["functions", "--endpoint-url", first]) == first


def test_subcommand_flag_wins_over_group_flag(first: str, second: str) -> None:
    assert reached(["--endpoint", first, "doctor", "--endpoint", second]) == second


def test_flag_wins_over_both_variables(first: str, second: str, third: str) -> None:
    env = {"NIMBUS_ENDPOINT": second, "AWS_ENDPOINT_URL": third}
    assert reached(["queues", "--endpoint", first], env) == first


def test_nimbus_endpoint_wins_over_aws_endpoint_url(second: str, third: str) -> None:
    env = {"NIMBUS_ENDPOINT": second, "AWS_ENDPOINT_URL": third}
    assert reached(["bill"], env) == second


def test_aws_endpoint_url_alone(third: str) -> None:
    assert reached(["top", "--once"], {"AWS_ENDPOINT_URL": third}) == third


def test_every_client_command_takes_the_flag() -> None:
    """Groups too (`nimbus events --endpoint URL tail`), and each command in a group."""
    commands = list(cli.commands.items())
    while commands:
        name, command = commands.pop()
        if name == "server":
            continue
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert "--endpoint" in options, name
        if isinstance(command, click.Group):
            commands += [(f"{name} {sub}", c) for sub, c in command.commands.items()]


@given(
    explicit=st.one_of(st.none(), st.just(""), st.just("http://a:1/")),
    nimbus=st.one_of(st.none(), st.just(""), st.just("http://b:2")),
    aws=st.one_of(st.none(), st.just(""), st.just("http://c:3")),
)
def test_precedence(explicit: str | None, nimbus: str | None, aws: str | None) -> None:
    env = {k: v for k, v in {"NIMBUS_ENDPOINT": nimbus, "AWS_ENDPOINT_URL": aws}.items() if v}
    expected = next((c.rstrip("/") for c in (explicit, nimbus, aws) if c), DEFAULT_ENDPOINT)
    assert resolve_endpoint(explicit, env) == expected
