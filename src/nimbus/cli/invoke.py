"""`nimbus invoke NAME`: call a function and print what it returned."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from pathlib import Path

import click

from nimbus.cli.client import CliError, Connection, pass_connection


def read_payload(option: str | None) -> bytes:
    """The payload as given: inline JSON, `@file`, or `@-` for stdin; checked to be JSON."""
    if option is None:
        return b""
    data = _read_source(option[1:]) if option.startswith("@") else option.encode()
    try:
        json.loads(data)
    except ValueError as exc:
        raise CliError(f"--payload is not valid JSON: {exc}") from None
    return data


def _read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read payload file {source!r}: {exc.strerror}") from None


def render_payload(data: bytes) -> str:
    """Pretty JSON when the payload is JSON, its text otherwise."""
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except ValueError:
        return data.decode("utf-8", errors="replace")


def decode_log(log_result: str) -> str:
    try:
        return base64.b64decode(log_result, validate=True).decode("utf-8", errors="replace")
    except binascii.Error:
        return log_result  # not ours to fix: show what the server sent


def invoke_async(connection: Connection, name: str, payload: bytes) -> None:
    with connection.reporting_errors():
        reply = connection.lambda_client().invoke(
            FunctionName=name, InvocationType="Event", Payload=payload
        )
    click.echo(f"accepted: request id {reply['ResponseMetadata']['RequestId']}")


def invoke_sync(connection: Connection, name: str, payload: bytes, show_log: bool) -> None:
    with connection.reporting_errors():
        reply = connection.lambda_client().invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            LogType="Tail" if show_log else "None",
            Payload=payload,
        )
        body = reply["Payload"].read()
    if show_log and reply.get("LogResult"):
        click.echo(decode_log(reply["LogResult"]).rstrip("\n"), err=True)
    click.echo(render_payload(body))
    if reply.get("FunctionError"):
        raise CliError(f"{name} failed: FunctionError {reply['FunctionError']}")


@click.command()
@click.argument("name")
@click.option("--payload", metavar="JSON|@FILE", help="Event: JSON text, @file or @- (stdin).")
@click.option("--async", "is_async", is_flag=True, help="Queue the event; do not wait.")
@click.option("--log", "show_log", is_flag=True, help="Print the log tail to stderr.")
@pass_connection
def invoke(
    connection: Connection, name: str, payload: str | None, is_async: bool, show_log: bool
) -> None:
    """Invoke function NAME and print its response."""
    if is_async and show_log:
        raise CliError("--log needs a synchronous invoke: asynchronous invokes return no log")
    data = read_payload(payload)
    if is_async:
        invoke_async(connection, name, data)
    else:
        invoke_sync(connection, name, data, show_log)
