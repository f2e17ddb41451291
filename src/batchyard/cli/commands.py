"""The command line: its sub-commands, and how their errors become one-line messages."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from batchyard import __version__
from batchyard.cli.executions import add_execution_commands
from batchyard.cli.jobs import add_job_commands
from batchyard.cli.remote import CliError
from batchyard.cli.samples import add_sample_commands
from batchyard.cli.server import add_server_command


def parser() -> argparse.ArgumentParser:
    """The command line of ``batchyard``."""
    found = argparse.ArgumentParser(
        prog="batchyard",
        description="A self-hosted AWS Batch and Step Functions. Run the server, or talk to "
                    "a running one.",
    )
    found.add_argument("--version", action="version", version=f"batchyard {__version__}")
    commands = found.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_server_command(commands)
    add_job_commands(commands)
    add_execution_commands(commands)
    add_sample_commands(commands)
    return found


def run(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run its command; user errors are one line on stderr."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CliError as error:
        sys.stderr.write(f"batchyard: {error}\n")
        return error.code
    except EndpointConnectionError as error:
        where = urlsplit(str(error.kwargs.get("endpoint_url", "")))
        sys.stderr.write(f"batchyard: cannot reach the server at {where.scheme}://"
                         f"{where.netloc} (is it running? see --endpoint-url)\n")
        return 1
    except ClientError as error:
        answer = error.response.get("Error", {})
        sys.stderr.write(f"batchyard: {answer.get('Code', 'Error')}: "
                         f"{answer.get('Message', error)}\n")
        return 1
    except BotoCoreError as error:
        sys.stderr.write(f"batchyard: {error}\n")
        return 1
