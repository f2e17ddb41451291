"""The command line: its sub-commands, and how their errors become one-line messages."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from botocore.exceptions import BotoCoreError, ClientError

from batchyard import __version__
from batchyard.cli.executions import add_execution_commands
from batchyard.cli.jobs import add_job_commands
from batchyard.cli.remote import UNREACHABLE, CliError, unreachable
from batchyard.cli.samples import add_sample_commands
from batchyard.cli.server import add_server_command

# Longest error message shown from the server or botocore; a longer one ends in an ellipsis.
MESSAGE_WIDTH = 300


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error."""

    def error(self, message: str) -> NoReturn:
        """Exit with code 2 after one line naming the command and where its help is."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    """The command line of ``batchyard``."""
    # Sub-command parsers are made of the class of their parent, so all of them are one-line.
    found = OneLineParser(
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
    except UNREACHABLE as error:
        sys.stderr.write(f"batchyard: {unreachable(error)} (is it running? see --endpoint-url)\n")
        return 1
    except ClientError as error:
        sys.stderr.write(f"batchyard: {_answer(error)}\n")
        return 1
    except BotoCoreError as error:
        sys.stderr.write(f"batchyard: {_one_line(str(error))}\n")
        return 1


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MESSAGE_WIDTH else flat[: MESSAGE_WIDTH - 1] + "…"


def _answer(error: ClientError) -> str:
    answer = error.response.get("Error", {})
    return f"{answer.get('Code', 'Error')}: {_one_line(str(answer.get('Message', error)))}"
