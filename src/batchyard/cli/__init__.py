"""The batchyard command: the server, and a small client of a running server for jobs, their
logs, workflow executions and the bundled samples.

A user error never ends in a traceback: it is one line on standard error and a non-zero exit
code (1, 2 for a bad command line, 130 for Ctrl-C, 141 when the reader of a pipe left).
"""

from __future__ import annotations

import os
import sys

INTERRUPTED = 130
# What a shell reports for a program that SIGPIPE ended, as it would end a C tool in a pipe.
BROKEN_PIPE = 141


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
    except BrokenPipeError:
        # The reader left (batchyard logs JOB | head): there is no one to tell. Python would
        # still flush stdout at exit and complain about the pipe, so stdout goes nowhere now.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
