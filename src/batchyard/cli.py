"""The ``batchyard`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from batchyard.batch.jobs.commands import add_job_commands
from batchyard.config import load_settings
from batchyard.samples.commands import add_sample_commands
from batchyard.states.commands import add_execution_commands

SHUTDOWN_GRACE_SECONDS = 5


def _server(args: argparse.Namespace) -> int:
    import uvicorn

    from batchyard.server.app import BatchyardApp

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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``batchyard`` console script."""
    parser = argparse.ArgumentParser(prog="batchyard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="run the API server and console")
    server.add_argument("--host", help="listen address (default 127.0.0.1)")
    server.add_argument("--port", type=int, help="listen port (default 4580)")
    server.add_argument("--data-dir", help="where the SQLite store lives (default ./.batchyard)")
    server.set_defaults(run=_server)
    add_job_commands(commands)
    add_execution_commands(commands)
    add_sample_commands(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
