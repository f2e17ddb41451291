"""The batchyard command: the server, and a small client of a running server for jobs, their
logs, workflow executions and the bundled samples.

A user error never ends in a traceback: it is one line on standard error and a non-zero exit
code (1, or 130 for Ctrl-C).
"""

from __future__ import annotations

import sys

INTERRUPTED = 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``batchyard`` console script."""
    try:
        # Imported here, inside the guard, so that Ctrl-C while boto3 and the commands load
        # is as quiet as Ctrl-C later on.
        from batchyard.cli.commands import run

        return run(argv)
    except KeyboardInterrupt:
        # What the command drew (a live view restoring the screen) goes out before the note.
        sys.stdout.flush()
        sys.stderr.write("batchyard: interrupted\n")
        return INTERRUPTED
