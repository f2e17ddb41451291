"""The local provider: each attempt is a child process of the server, in a group of its own.

The command runs directly on the host (``containerProperties.image`` is only recorded) in a
fresh working directory, with a small allow-listed host environment plus the job's own.
Memory and vCPUs are limited through ``limits``; GPUs are pinned by index through
``CUDA_VISIBLE_DEVICES``. When the main process exits the rest of its process group is
killed, as a container's processes die with it. The leader also gets a parent-death signal
so a killed server does not leave it running; whatever else survives is found and killed by
``reap`` at the next start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from batchyard.compute.child_process import ChildProcess, start_child
from batchyard.compute.limits import AttemptLimits, CgroupLayout, remove_stale_groups
from batchyard.compute.provider import (
    OUT_OF_MEMORY_REASON,
    AttemptSpec,
    ExitStatus,
    GpuPool,
    HostCapacity,
    LaunchError,
    LineCallback,
)

# Host variables a command needs to find programs and behave sanely; nothing else leaks in.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR")
# CloudWatch Logs caps an event at 256 KiB; a longer line is split.
MAX_LINE_BYTES = 256 * 1024 - 26
READ_CHUNK = 64 * 1024
PR_SET_PDEATHSIG = 1


def host_capacity() -> HostCapacity:
    """This machine's memory (MiB) and NVIDIA GPU count."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    gpus = sum(1 for p in Path("/dev").glob("nvidia[0-9]*")) if Path("/dev").is_dir() else 0
    return HostCapacity(memory_mib=int(memory), gpus=gpus)


def _load_prctl() -> Any:
    # Looked up once in the server: find_library runs ldconfig, which in every forked child
    # would hold the event loop (it waits for the child's exec) for milliseconds per job.
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return None
    try:
        return ctypes.CDLL(libc_name, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def _set_parent_death_signal() -> None:
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def _process_start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _all_processes() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _group_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[2]) if fields else None


def _group_members(pgid: int) -> list[int]:
    return [pid for pid in _all_processes() if _group_of(pid) == pgid]


def _belongs_to(pid: int, job_id: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"AWS_BATCH_JOB_ID={job_id}".encode() in environ


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class LocalAttempt:
    """One running child process and the tasks streaming its output."""

    def __init__(
        self,
        process: ChildProcess,
        limits: AttemptLimits,
        workdir: Path,
        gpus: list[int],
        pool: GpuPool,
        on_line: LineCallback,
        job_id: str,
    ) -> None:
        self._process = process
        self._limits = limits
        self._workdir = workdir
        self._gpus = gpus
        self._pool = pool
        self._exited = asyncio.Event()
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(_pump(process.stdout, "stdout", on_line)),
            asyncio.create_task(_pump(process.stderr, "stderr", on_line)),
        ]
        self.identity: dict[str, Any] = {
            "provider": "local",
            "pid": process.pid,
            "pgid": process.pid,
            "startTicks": _process_start_ticks(process.pid),
            "jobId": job_id,
        }

    async def wait(self) -> ExitStatus:
        """Wait for the leader, kill its leftovers, drain the output, clean up."""
        code = await self._process.wait()
        self._exited.set()
        _kill_group(self._process.pid, signal.SIGKILL)
        await asyncio.gather(*self._readers)
        out_of_memory = self._limits.out_of_memory()
        self._limits.release()
        self._pool.give_back(self._gpus)
        shutil.rmtree(self._workdir, ignore_errors=True)
        if out_of_memory:
            return ExitStatus(exit_code=137, reason=OUT_OF_MEMORY_REASON, out_of_memory=True)
        return ExitStatus(exit_code=128 - code if code < 0 else code)

    def kill(self) -> None:
        """SIGKILL the whole group now."""
        _kill_group(self._process.pid, signal.SIGKILL)

    async def stop(self, grace_seconds: float) -> None:
        """SIGTERM the whole group, SIGKILL it if the leader outlives ``grace_seconds``."""
        if self._exited.is_set():
            return
        _kill_group(self._process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self._exited.wait(), timeout=grace_seconds)
        except TimeoutError:
            _kill_group(self._process.pid, signal.SIGKILL)


async def _pump(stream: asyncio.StreamReader, name: str, on_line: LineCallback) -> None:
    pending = b""
    while True:
        chunk = await stream.read(READ_CHUNK)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        now = int(time.time() * 1000)
        for line in lines:
            on_line(now, name, line.decode("utf-8", "replace"))
        while len(pending) > MAX_LINE_BYTES:
            on_line(now, name, pending[:MAX_LINE_BYTES].decode("utf-8", "replace"))
            pending = pending[MAX_LINE_BYTES:]
    if pending:
        on_line(int(time.time() * 1000), name, pending.decode("utf-8", "replace"))


class LocalProvider:
    """Runs attempts as host processes under ``work_root/<attempt id>``."""

    def __init__(
        self,
        work_root: Path,
        capacity: HostCapacity | None = None,
        layout: CgroupLayout | None = None,
    ) -> None:
        self.work_root = work_root
        self.capacity = capacity or host_capacity()
        self._layout = layout or CgroupLayout.detect()
        self._gpus = GpuPool(self.capacity.gpus)
        # Servers sharing a host sweep only the cgroups of their own data directory.
        digest = hashlib.sha256(str(work_root.resolve()).encode()).hexdigest()[:10]
        self._cgroup_prefix = f"batchyard-{digest}-"

    async def start(self, spec: AttemptSpec, on_line: LineCallback) -> LocalAttempt:
        """Start ``spec`` as a process group of its own."""
        if not spec.command:
            raise LaunchError("CannotStartContainerError: the job has no command to run")
        workdir = self.work_root / spec.attempt_id
        workdir.mkdir(parents=True, exist_ok=True)
        limits = AttemptLimits(
            self._layout, f"{self._cgroup_prefix}{spec.attempt_id}", spec.memory_mib, spec.vcpus
        )
        try:
            gpus = self._gpus.take(spec.gpus)
        except LaunchError:
            limits.release()
            raise
        environment = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        environment.update(spec.environment)
        if gpus:
            environment["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
            environment["NVIDIA_VISIBLE_DEVICES"] = environment["CUDA_VISIBLE_DEVICES"]

        def prepare_child() -> None:
            _set_parent_death_signal()
            limits.enter()

        try:
            process = await start_child(
                spec.command, cwd=workdir, env=environment, preexec_fn=prepare_child
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            limits.release()
            self._gpus.give_back(gpus)
            shutil.rmtree(workdir, ignore_errors=True)
            raise LaunchError(f"CannotStartContainerError: {exc}") from None
        return LocalAttempt(process, limits, workdir, gpus, self._gpus, on_line, spec.job_id)

    def reap(self, identity: dict[str, Any]) -> bool:
        """Kill what an earlier server started for ``identity["jobId"]``.

        With a recorded process group only that group is searched; without one (the server
        died between starting the process and recording it) every process is.
        """
        job_id = identity.get("jobId")
        if not isinstance(job_id, str):
            return False
        pgid = identity.get("pgid")
        candidates = _group_members(pgid) if isinstance(pgid, int) else _all_processes()
        # A recycled process-group id must not get someone else's processes killed.
        groups = {_group_of(pid) for pid in candidates if _belongs_to(pid, job_id)}
        groups.discard(None)
        groups.discard(os.getpgrp())
        for group in groups:
            _kill_group(group, signal.SIGKILL)
        return bool(groups)

    def sweep(self) -> None:
        """Empty the working-directory root and drop stale attempt cgroups."""
        if self.work_root.is_dir():
            for leftover in self.work_root.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
        remove_stale_groups(self._layout, self._cgroup_prefix)
