"""Run the platform in the foreground behind uvicorn until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal

import uvicorn

from nimbus.gateway.app import create_app
from nimbus.platform import Platform
from nimbus.settings import Settings


def serve(settings: Settings) -> None:
    settings.check_credentials()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    platform = Platform(settings)
    config = uvicorn.Config(
        create_app(platform),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    # uvicorn re-raises the stop signal once it has shut down gracefully; with these
    # handlers in place that re-raise is a no-op and the process exits 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    uvicorn.Server(config).run()
