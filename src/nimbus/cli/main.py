"""Entry point of the `nimbus` command (sub-commands live in their own modules)."""

from __future__ import annotations

import click

from nimbus.settings import Settings


@click.group()
def cli() -> None:
    """nimbus: a self-hosted serverless platform that speaks the AWS APIs."""


@cli.command()
@click.option("--host", envvar="NIMBUS_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="NIMBUS_PORT", default=7800, type=int, show_default=True)
@click.option("--data-dir", envvar="NIMBUS_DATA_DIR", default=".nimbus", show_default=True)
def server(host: str, port: int, data_dir: str) -> None:
    """Run the platform in the foreground."""
    settings = Settings.from_env(host=host, port=port, data_dir=data_dir)
    try:
        settings.check_credentials()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    from nimbus.server import serve

    serve(settings)


def main() -> None:
    cli()
