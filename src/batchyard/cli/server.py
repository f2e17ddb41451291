"""``batchyard server``: the API server and console, on uvicorn."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import uvicorn

from batchyard.config import load_settings
from batchyard.server.app import BatchyardApp

SHUTDOWN_GRACE_SECONDS = 5


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 1 when the server could not start."""
    settings = load_settings(
        host=args.host, port=args.port,
        data_dir=Path(args.data_dir) if args.data_dir else None,
    )
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = BatchyardApp(settings)
    # Long polls (GetActivityTask holds a request up to 60 s) must not hold up a shutdown:
    # requests still open after the grace period are cancelled.
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, lifespan="on",
        log_level=settings.log_level, access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    # uvicorn installs the SIGINT/SIGTERM handlers: it stops accepting, drains in-flight
    # requests, runs our lifespan shutdown (which flushes the store), then re-raises the
    # signal. By then everything is closed, so Ctrl-C ends quietly.
    try:
        server.run()
    except KeyboardInterrupt:
        return 0
    return 0 if server.started else 1


def add_server_command(commands: Any) -> None:
    """``server`` on the CLI's sub-commands."""
    parser = commands.add_parser("server", help="run the API server and console")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default 4580)")
    parser.add_argument("--data-dir", help="where the SQLite store lives (default ./.batchyard)")
    parser.set_defaults(run=serve)
