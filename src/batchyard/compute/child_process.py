"""A child process started off the event loop, with its output and exit as awaitables.

Forking the server and waiting for the child to exec takes milliseconds (more with a
``preexec_fn``, whose Python code runs in the child before exec); asyncio's own subprocess
support does both on the event loop thread, which then serves nothing else meanwhile. Here the
fork runs in a worker thread, and the loop watches the output pipes and a pidfd.

Every descriptor the loop watches is a plain one this module closes exactly once, after
removing its reader: uvloop's pipe transports close a descriptor twice (libuv, then the file
object), and with forks now running in other threads the second close could hit a pipe that
one of them has just been given under the same number.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

READ_CHUNK = 64 * 1024


class ChildProcess:
    """A started child: its pid, its stdout/stderr streams, and its exit code."""

    def __init__(self, popen: subprocess.Popen[bytes], stdout: int, stderr: int) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stdout = _watch(stdout)
        self.stderr = _watch(stderr)

    async def wait(self) -> int:
        """The exit code once the process has exited (negative: killed by that signal)."""
        if self._popen.returncode is not None:
            return self._popen.returncode
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()
        pidfd = os.pidfd_open(self.pid)

        def readable() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(pidfd, readable)
        try:
            await exited
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
        return self._popen.wait()


def _watch(fd: int) -> asyncio.StreamReader:
    """A stream of what arrives on pipe ``fd``, which is closed at end of file."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            reader.feed_data(chunk)
            return
        loop.remove_reader(fd)
        os.close(fd)
        reader.feed_eof()

    loop.add_reader(fd, readable)
    return reader


def _spawn(
    command: list[str], cwd: Path, env: dict[str, str], preexec_fn: Callable[[], None]
) -> tuple[subprocess.Popen[bytes], int, int]:
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        popen = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out_write,
            stderr=err_write, start_new_session=True, preexec_fn=preexec_fn,
        )
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        os.close(out_write)
        os.close(err_write)
    return popen, out_read, err_read


async def start_child(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    preexec_fn: Callable[[], None],
) -> ChildProcess:
    """Start ``command`` in a session of its own, stdin from /dev/null, output piped.

    Raises what ``subprocess.Popen`` raises when the command cannot be started.
    """
    popen, stdout, stderr = await asyncio.to_thread(_spawn, list(command), cwd, env, preexec_fn)
    return ChildProcess(popen, stdout, stderr)
