"""The ``batchyard`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from batchyard.batch.jobs.commands import add_job_commands
from batchyard.config import load_settings
from batchyard.samples.commands import add_sample_commands
from batchyard.states.commands import add_execution_commands

SHUTDOWN_GRACE_SECONDS = 5
log = logging.getLogger("batchyard.server")


def _server(args: argparse.Namespace) -> int:
    # The server's modules load only for this command: the client commands start fast.
    import uvicorn

    from batchyard.server.app import BatchyardApp
    from batchyard.server.auth import InsecureListener, refuse_open_listener
    from batchyard.server.limits import uvicorn_config

    try:
        settings = load_settings(
            host=args.host, port=args.port,
            data_dir=Path(args.data_dir) if args.data_dir else None,
            credentials_file=args.credentials_file,
        )
        refuse_open_listener(settings)
    except (InsecureListener, ValueError) as error:
        print(f"batchyard server: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.development_mode:
        log.info("development mode: any access key is accepted (no credentials configured)")
    else:
        log.info("%d access key(s) configured: every request must be signed by one",
                 len(settings.credentials))
    app = BatchyardApp(settings)
    # Long polls (GetActivityTask holds a request up to 60 s) must not hold up a shutdown:
    # requests still open after the grace period are cancelled.
    config = uvicorn_config(
        app, settings, lifespan="on", log_level=settings.log_level, access_log=False,
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
    server.add_argument(
        "--credentials-file",
        help="TOML file of [[credentials]] tables (access_key_id, secret_access_key, "
        "account_id) requests must be signed with; without any: development mode, "
        "loopback only (default $BATCHYARD_CREDENTIALS_FILE)",
    )
    server.set_defaults(run=_server)
    add_job_commands(commands)
    add_execution_commands(commands)
    add_sample_commands(commands)
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
