"""``batchyard server``: the API server and console, on uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from batchyard.config import load_settings

SHUTDOWN_GRACE_SECONDS = 5
log = logging.getLogger("batchyard.server")


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 1 when the server could not start, 2 when its
    configuration is refused (bad credentials, or an open address without any)."""
    # The server and every service load only for this command: the client commands start in
    # a fifth of the time without them (0.55 s for boto3 against 2.7 s, measured).
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
    # Made here rather than at startup, where the failure would be a traceback in uvicorn's log.
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"batchyard server: cannot use the data directory {settings.data_dir}: "
              f"{error.strerror}", file=sys.stderr)
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


def port(value: str) -> int:
    """``value`` as a TCP port number; the ``--port`` option's type."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number (1-65535): {value!r}")
    return number


def add_server_command(commands: Any) -> None:
    """``server`` on the CLI's sub-commands."""
    parser = commands.add_parser("server", help="run the API server and console")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=port, help="listen port (default 4580)")
    parser.add_argument("--data-dir", help="where the SQLite store lives (default ./.batchyard)")
    parser.add_argument(
        "--credentials-file",
        help="TOML file of [[credentials]] tables (access_key_id, secret_access_key, "
        "account_id) requests must be signed with; without any: development mode, "
        "loopback only (default $BATCHYARD_CREDENTIALS_FILE)",
    )
    parser.set_defaults(run=serve)
