"""One warm worker process, seen from the server: start it, run invocations, kill it.

The worker's stdout is its answer channel and its stderr the log pipe (see ``bootstrap``).
A worker runs one invocation at a time; the pool decides who gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchyard.compute.identity import Lease
from batchyard.compute.launcher import wrap
from batchyard.compute.limits import AttemptLimits, CgroupLayout
from batchyard.functions.bootstrap import INIT_TOKEN, MARKER, OPT_OPTION
from batchyard.functions.interpreter import AS_SERVER, WorkerRuntime

# A handler that prints without end keeps only its latest output; the tail is what Lambda's
# Tail and a reader most need.
MAX_LOG_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024
# Answers carry the response payload (up to 6 MB, JSON-escaped) on one line.
_LINE_LIMIT = 32 * 1024 * 1024
_DRAIN_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerSpec:
    """How to start a worker for one version of one function."""

    code_dir: Path
    environment: dict[str, str]
    # MemorySize is enforced with a memory cgroup where the host gives one (as Lambda kills a
    # function that outgrows it); without one it is only reported.
    memory_mib: int = 0
    layout: CgroupLayout | None = None
    # The worker's cgroup is named with this prefix and a unique suffix.
    group_prefix: str = "batchyard-fn-"
    # The worker's interpreter, and who workers run as, each under an identity of its own.
    runtime: WorkerRuntime = AS_SERVER
    # The function's layers, unpacked (Lambda's /opt); None when it has none.
    opt_dir: Path | None = None


@dataclass
class Outcome:
    """What one phase (init or an invocation) produced."""

    kind: str  # "ok", "error", "timeout" or "exited"
    log: str
    payload: bytes = b""
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float = 0.0
    max_memory_mb: int = 0
    exit_reason: str = ""
    answer: dict[str, Any] = field(default_factory=dict)  # the worker's JSON reply


class _LogPipe:
    """Read a worker's log pipe up to phase markers, keeping at most MAX_LOG_BYTES."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def until(self, token: str) -> str | None:
        """The output before the marker ``token``; None when the pipe closed first."""
        marker = MARKER.format(token).encode()
        while True:
            index = self._buffer.find(marker)
            if index >= 0:
                text = bytes(self._buffer[:index])
                del self._buffer[: index + len(marker)]
                return text.decode("utf-8", "replace")
            chunk = await self._stream.read(_READ_CHUNK)
            if not chunk:
                return None
            self._buffer += chunk
            if len(self._buffer) > MAX_LOG_BYTES:
                del self._buffer[: len(self._buffer) - MAX_LOG_BYTES]

    async def rest(self) -> str:
        """Whatever is left once the process is gone."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_SECONDS):
                while chunk := await self._stream.read(_READ_CHUNK):
                    self._buffer += chunk
                    if len(self._buffer) > MAX_LOG_BYTES:
                        del self._buffer[: len(self._buffer) - MAX_LOG_BYTES]
        text = bytes(self._buffer).decode("utf-8", "replace")
        self._buffer.clear()
        return text


# Lambda words a worker's death the way Go names signals.
_SIGNAL_WORDS = {
    signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated", signal.SIGBUS: "bus error",
}


def exit_reason(code: int | None) -> str:
    """``exit status 1`` or ``signal: killed``, as Lambda's Runtime.ExitError reports."""
    if code is not None and code < 0:
        number = signal.Signals(-code)
        return f"signal: {_SIGNAL_WORDS.get(number, number.name.lower())}"
    return f"exit status {code}"


class Worker:
    """A started worker process."""

    def __init__(self, process: asyncio.subprocess.Process, stream_name: str,
                 limits: AttemptLimits | None = None, lease: Lease | None = None) -> None:
        self.process = process
        self.stream_name = stream_name
        self._limits = limits
        self._lease = lease or Lease(None)
        self.initialized = False
        self.idle_since = time.monotonic()
        assert process.stdout is not None and process.stderr is not None
        self._answers = process.stdout
        self._log = _LogPipe(process.stderr)

    @classmethod
    async def start(cls, spec: WorkerSpec, stream_name: str) -> Worker:
        """Spawn the process in its own session, so a kill takes its children too."""
        environment = {**spec.environment, "AWS_LAMBDA_LOG_STREAM_NAME": stream_name}
        command = list(spec.runtime.command)
        identities = spec.runtime.identities
        lease = identities.lease() if identities is not None else Lease(None)
        limits = None
        if spec.memory_mib and spec.layout is not None and spec.layout.memory_parent is not None:
            limits = await asyncio.to_thread(
                AttemptLimits, spec.layout, f"{spec.group_prefix}{uuid.uuid4().hex}",
                spec.memory_mib, 0.0,
            )
        identity = lease.identity
        if limits is not None or identity is not None:
            # No address-space cap in place of the cgroup: it would break the interpreter.
            command = wrap(
                command, cgroup_procs=limits.cgroup_procs() if limits else [],
                address_space_kib=None,
                switch=identity.setpriv_options() if identity else None,
            )
        if identity is not None:
            environment["USER"] = environment["LOGNAME"] = identity.name
        inherited: tuple[int, ...] = ()
        try:
            if spec.opt_dir is not None:
                # Its path may lie below a directory closed to the worker's uid; the open
                # descriptor reaches it all the same (see bootstrap). The bootstrap's own
                # arguments come last whatever wraps it.
                layers_fd = os.open(spec.opt_dir, os.O_RDONLY | os.O_DIRECTORY)
                inherited = (layers_fd,)
                command = [*command, OPT_OPTION, str(spec.opt_dir), str(layers_fd)]
            process = await asyncio.create_subprocess_exec(
                *command, cwd=spec.code_dir, env=environment,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True, limit=_LINE_LIMIT,
                pass_fds=inherited,
            )
        except BaseException:
            if limits is not None:
                limits.release()
            lease.release()
            raise
        finally:
            for descriptor in inherited:
                os.close(descriptor)
        return cls(process, stream_name, limits, lease)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def initialize(self, budget: float) -> Outcome:
        """Wait for the handler's import; its output and error belong to the first call."""
        self.initialized = True
        outcome = await self._phase(INIT_TOKEN, budget)
        if outcome.kind == "ok" and outcome.answer.get("error"):
            outcome.kind = "error"
            outcome.error = outcome.answer["error"]
        outcome.init_ms = float(outcome.answer.get("init_ms", outcome.duration_ms))
        return outcome

    async def invoke(self, request_id: str, event: str, arn: str, timeout: float) -> Outcome:
        """Run one invocation with ``timeout`` seconds to finish."""
        deadline_ms = int((time.time() + timeout) * 1000)
        request = {"id": request_id, "event": event, "arn": arn, "deadline_ms": deadline_ms}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            await self.process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return await self._exited(0.0)
        outcome = await self._phase(request_id, timeout)
        if outcome.kind == "ok":
            if "error" in outcome.answer:
                outcome.kind = "error"
                outcome.error = outcome.answer["error"]
            else:
                outcome.payload = str(outcome.answer.get("payload", "null")).encode()
        outcome.max_memory_mb = int(outcome.answer.get("max_memory_mb", 0))
        return outcome

    async def _phase(self, token: str, timeout: float) -> Outcome:
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                line = await self._answers.readline()
        except TimeoutError:
            await self.kill()
            log = await self._log.rest()
            return Outcome("timeout", log, duration_ms=(time.monotonic() - started) * 1000)
        except (ValueError, asyncio.LimitOverrunError):
            await self.kill()
            log = await self._log.rest()
            return Outcome("exited", log, exit_reason="answer too large",
                           duration_ms=(time.monotonic() - started) * 1000)
        if not line:
            return await self._exited((time.monotonic() - started) * 1000)
        output = await self._log.until(token)
        if output is None:
            output = await self._log.rest()
        return Outcome("ok", output, duration_ms=(time.monotonic() - started) * 1000,
                       answer=json.loads(line))

    async def _exited(self, duration_ms: float) -> Outcome:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_SECONDS):
                await self.process.wait()
        await self.kill()
        log = await self._log.rest()
        return Outcome("exited", log, duration_ms=duration_ms,
                       exit_reason=exit_reason(self.process.returncode))

    async def kill(self) -> None:
        """SIGKILL the worker and everything it started; wait for it to be reaped."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.stdin is not None:
            self.process.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        if self._limits is not None:
            limits, self._limits = self._limits, None
            await asyncio.to_thread(limits.release)
        self._lease.release()
