"""Entry point of the `nimbus` command (sub-commands live in their own modules)."""

from __future__ import annotations

import click

from nimbus.cli.bill import bill
from nimbus.cli.buckets import buckets
from nimbus.cli.client import endpoint_option
from nimbus.cli.deploy import deploy
from nimbus.cli.doctor import doctor
from nimbus.cli.events import events, rules
from nimbus.cli.functions import functions
from nimbus.cli.invoke import invoke
from nimbus.cli.logs import logs
from nimbus.cli.ls import ls
from nimbus.cli.queues import queues
from nimbus.cli.top import top
from nimbus.settings import Settings


@click.group()
@endpoint_option
def cli() -> None:
    """nimbus: a self-hosted serverless platform that speaks the AWS APIs.

    Every command but `server` talks to a running platform at --endpoint (before or
    after the command; else $NIMBUS_ENDPOINT, $AWS_ENDPOINT_URL, http://127.0.0.1:7800),
    with the credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION
    (test, test and us-east-1 when unset).
    """


@cli.command()
@click.option("--host", envvar="NIMBUS_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="NIMBUS_PORT", default=7800, type=int, show_default=True)
@click.option("--data-dir", envvar="NIMBUS_DATA_DIR", default=".nimbus", show_default=True)
def server(host: str, port: int, data_dir: str) -> None:
    """Run the platform in the foreground."""
    try:
        settings = Settings.from_env(host=host, port=port, data_dir=data_dir)
        settings.check_credentials()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    from nimbus.server import serve

    serve(settings)


_COMMANDS = (deploy, invoke, functions, logs, top, bill, queues, buckets, ls, events, rules, doctor)
for _command in _COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli()
