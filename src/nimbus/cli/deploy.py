"""`nimbus deploy DIR`: zip a directory and create the function, or update it."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import ClientError

from nimbus.cli.client import CliError, Connection, pass_connection
from nimbus.cli.doctor import fetch_report, runtime_sort_key
from nimbus.packaging import zip_directory

DEFAULT_HANDLER = "lambda_function.handler"
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/nimbus-default"


@dataclass(frozen=True)
class DeployOptions:
    """What the user asked for; `None` means "not given" (keep it on update)."""

    name: str
    handler: str | None = None
    runtime: str | None = None
    memory: int | None = None
    timeout: int | None = None
    environment: Mapping[str, str] | None = None

    def configuration_changes(self) -> dict[str, Any]:
        """UpdateFunctionConfiguration parameters for the options that were given."""
        changes: dict[str, Any] = {}
        if self.handler is not None:
            changes["Handler"] = self.handler
        if self.runtime is not None:
            changes["Runtime"] = self.runtime
        if self.memory is not None:
            changes["MemorySize"] = self.memory
        if self.timeout is not None:
            changes["Timeout"] = self.timeout
        if self.environment is not None:
            changes["Environment"] = {"Variables": dict(self.environment)}
        return changes

    def create_parameters(self, runtime: str, package: bytes) -> dict[str, Any]:
        """CreateFunction parameters: the given options over the defaults."""
        return {
            "FunctionName": self.name,
            "Role": DEFAULT_ROLE,
            "Code": {"ZipFile": package},
            "Handler": DEFAULT_HANDLER,
            "MemorySize": DEFAULT_MEMORY_MB,
            "Timeout": DEFAULT_TIMEOUT_SECONDS,
            **self.configuration_changes(),
            "Runtime": runtime,
        }


def parse_env(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` strings as a mapping; the value may itself contain `=`."""
    variables: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise CliError(f"invalid --env {pair!r}: expected KEY=VALUE")
        variables[key] = value
    return variables


def current_python_runtime() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def choose_runtime(available: Iterable[str], preferred: str) -> str:
    """`preferred` if the server offers it, else its newest Python runtime."""
    offered = set(available)
    if preferred in offered:
        return preferred
    pythons = [name for name in offered if name.startswith("python")]
    if not pythons:
        raise CliError("the server offers no Python runtime: pass --runtime")
    return max(pythons, key=runtime_sort_key)


def function_exists(client: Any, name: str) -> bool:
    try:
        client.get_function_configuration(FunctionName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True


def create(connection: Connection, client: Any, options: DeployOptions, package: bytes) -> None:
    runtime = options.runtime or choose_runtime(
        fetch_report(connection).runtimes, current_python_runtime()
    )
    client.create_function(**options.create_parameters(runtime, package))
    client.get_waiter("function_active_v2").wait(FunctionName=options.name)


def update(client: Any, options: DeployOptions, package: bytes) -> None:
    updated = client.get_waiter("function_updated_v2")
    client.update_function_code(FunctionName=options.name, ZipFile=package)
    updated.wait(FunctionName=options.name)
    changes = options.configuration_changes()
    if changes:
        client.update_function_configuration(FunctionName=options.name, **changes)
        updated.wait(FunctionName=options.name)


def read_package(directory: Path) -> bytes:
    try:
        if not any(directory.iterdir()):
            raise CliError(f"{directory} is empty: nothing to deploy")
        return zip_directory(directory)
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename or directory}: {exc.strerror}") from None


@click.command()
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, readable=True, path_type=Path)
)
@click.option("--name", help="Function name.  [default: the directory's name]")
@click.option("--handler", help=f"module.function to call.  [default: {DEFAULT_HANDLER}]")
@click.option("--runtime", help="e.g. python3.12.  [default: this Python, if the server has it]")
@click.option("--memory", type=int, help=f"Memory in MB.  [default: {DEFAULT_MEMORY_MB}]")
@click.option("--timeout", type=int, help=f"Seconds.  [default: {DEFAULT_TIMEOUT_SECONDS}]")
@click.option(
    "--env",
    "env_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Environment variable (repeatable); on update, replaces all of them.",
)
@pass_connection
def deploy(
    connection: Connection,
    directory: Path,
    name: str | None,
    handler: str | None,
    runtime: str | None,
    memory: int | None,
    timeout: int | None,
    env_pairs: tuple[str, ...],
) -> None:
    """Create or update a function from the code in DIRECTORY.

    A new function gets the defaults below for the options not given; an existing
    one gets the new code and only the options given.
    """
    options = DeployOptions(
        name=name or directory.resolve().name,
        handler=handler,
        runtime=runtime,
        memory=memory,
        timeout=timeout,
        environment=parse_env(env_pairs) if env_pairs else None,
    )
    package = read_package(directory)
    with connection.reporting_errors():
        client = connection.lambda_client()
        exists = function_exists(client, options.name)
        if exists:
            update(client, options, package)
        else:
            create(connection, client, options, package)
        config = client.get_function_configuration(FunctionName=options.name)
    click.echo(f"{'updated' if exists else 'created'} {config['FunctionName']}")
    click.echo(f"  FunctionArn: {config['FunctionArn']}")
    click.echo(f"  CodeSha256:  {config['CodeSha256']}")
