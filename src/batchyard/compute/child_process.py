"""A child process started off the event loop, with its output and exit as awaitables.

Starting a child and waiting for its exec takes a fraction of a millisecond with vfork (never
pass a ``preexec_fn``: it forces a full fork of the server); asyncio's own subprocess support
does it on the event loop thread, which then serves nothing else meanwhile. Here the start
runs in a worker thread (``spawn``), and the loop watches the output pipes and a pidfd
(``ChildProcess``).

Every descriptor the loop watches is a plain one this module closes exactly once, after
removing its reader: uvloop's pipe transports close a descriptor twice (libuv, then the file
object), and with forks now running in other threads the second close could hit a pipe that
one of them has just been given under the same number.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

READ_CHUNK = 64 * 1024


class ChildProcess:
    """A started child: its pid, its stdout/stderr streams, and its exit code."""

    def __init__(self, spawned: Spawned) -> None:
        """Watch ``spawned`` from the running event loop."""
        self._popen = spawned.popen
        self.pid = spawned.popen.pid
        self.stdout = _watch(spawned.stdout)
        self.stderr = _watch(spawned.stderr)

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


@dataclass(frozen=True)
class Spawned:
    """A started process and the read ends of its stdout and stderr pipes."""

    popen: subprocess.Popen[bytes]
    stdout: int
    stderr: int


def spawn(command: list[str], cwd: Path, env: dict[str, str]) -> Spawned:
    """Start ``command`` in a session of its own, stdin from /dev/null, output piped.

    Blocking (call it from a worker thread); raises what ``subprocess.Popen`` raises when the
    command cannot be started.
    """
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        popen = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_write,
            stderr=err_write,
            start_new_session=True,
        )
    except BaseException:
        os.close(out_read)
        os.close(err_read)
        raise
    finally:
        os.close(out_write)
        os.close(err_write)
    return Spawned(popen, out_read, err_read)
