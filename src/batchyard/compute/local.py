"""The local provider: each attempt is a child process of the server, in a group of its own.

The command runs directly on the host (``containerProperties.image`` is only recorded) in a
fresh working directory, with a small allow-listed host environment plus the job's own.
Memory and vCPUs are limited through ``limits``; GPUs are pinned by index through
``CUDA_VISIBLE_DEVICES``. When the main process exits the rest of its process group is
killed, as a container's processes die with it. The leader also gets a parent-death signal
so a killed server does not leave it running; whatever else survives is found and killed by
``reap`` at the next start-up. ``launcher`` builds the command line that sets all this up in
the child, so that starting an attempt never forks the server itself.

Given ``Identities``, each attempt runs as the identity it leases there (see ``identity``):
its working directory is made its own and private (0700), under a root others may traverse
but not list (0711). HOME is that directory, USER and LOGNAME the identity's name.

Given an ``exits_dir`` (private to the server), each attempt's exit status is written there
by its launcher as soon as the command ends, and removed once its end is committed
(``release``): a server killed in between finds it with ``reattach`` and records that exit
rather than failing the attempt as one its host cut off (and running the job again).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchyard.compute.child_process import ChildProcess, Spawned, spawn
from batchyard.compute.identity import UID_BASE, Identities, Lease, warn_unless_searchable
from batchyard.compute.launcher import resolve_program, wrap
from batchyard.compute.limits import AttemptLimits, CgroupLayout, remove_stale_groups
from batchyard.compute.output import LineSplitter
from batchyard.compute.provider import (
    OUT_OF_MEMORY_REASON,
    AttemptSpec,
    ExitStatus,
    GpuPool,
    HostCapacity,
    LaunchError,
    LineCallback,
    access_environment,
)

# Host variables a command needs to find programs and behave sanely; nothing else leaks in.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "TMPDIR")
READ_CHUNK = 64 * 1024


def host_capacity() -> HostCapacity:
    """This machine's memory (MiB) and NVIDIA GPU count."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    gpus = sum(1 for p in Path("/dev").glob("nvidia[0-9]*")) if Path("/dev").is_dir() else 0
    return HostCapacity(memory_mib=int(memory), gpus=gpus)


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


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


@dataclass(frozen=True)
class _Launched:
    spawned: Spawned
    limits: AttemptLimits
    workdir: Path
    start_ticks: int | None
    lease: Lease
    exit_record: Path | None = None


def _processes_of(uid: int) -> list[int]:
    """The processes running as ``uid``: /proc/<pid> belongs to a process's effective uid
    (a tenth of the cost of reading every status file; a process that made itself
    undumpable shows as root, and an attempt's uid cannot do that but by exec'ing a setuid
    program)."""
    found = []
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_uid == uid:
                        found.append(int(entry.name))
    return found


def kill_uid(uid: int) -> bool:
    """SIGKILL every process of ``uid`` until none is left (one may fork meanwhile); True
    when there was one. Only for a uid that belongs to one attempt."""
    killed = False
    for _ in range(100):
        # A killed process stays a zombie until whoever adopted it reaps it.
        found = [pid for pid in _processes_of(uid) if _state(pid) not in ("Z", None)]
        if not found:
            break
        killed = True
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)
    return killed


def _tear_down(limits: AttemptLimits, workdir: Path, lease: Lease) -> bool:
    """Remove an attempt's cgroups and working directory and give its identity back; True
    when it was OOM-killed."""
    out_of_memory = limits.out_of_memory()
    limits.release()
    shutil.rmtree(workdir, ignore_errors=True)
    lease.release()
    return out_of_memory


class LocalAttempt:
    """One running child process and the tasks streaming its output."""

    def __init__(
        self,
        launched: _Launched,
        gpus: list[int],
        pool: GpuPool,
        on_line: LineCallback,
        job_id: str,
    ) -> None:
        process = ChildProcess(launched.spawned)
        self._process = process
        self._limits = launched.limits
        self._workdir = launched.workdir
        self._lease = launched.lease
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
            "startTicks": launched.start_ticks,
            "jobId": job_id,
        }
        if launched.lease.own_uid is not None:
            self.identity["uid"] = launched.lease.own_uid
        if launched.exit_record is not None:
            self.identity["attemptId"] = launched.exit_record.name
        self._exit_record = launched.exit_record

    async def wait(self) -> ExitStatus:
        """Wait for the leader, kill its leftovers, drain the output, clean up."""
        code = await self._process.wait()
        self._exited.set()
        _kill_group(self._process.pid, signal.SIGKILL)
        own_uid = self._lease.own_uid
        if own_uid is not None:
            # What left the group (setsid, a double fork) still runs as the attempt's own
            # uid. Killed before the output is drained: a stray holding the pipes would keep
            # it open.
            await asyncio.to_thread(kill_uid, own_uid)
        await asyncio.gather(*self._readers)
        out_of_memory = await asyncio.to_thread(
            _tear_down, self._limits, self._workdir, self._lease
        )
        self._pool.give_back(self._gpus)
        if out_of_memory:
            return ExitStatus(exit_code=137, reason=OUT_OF_MEMORY_REASON, out_of_memory=True)
        return ExitStatus(exit_code=128 - code if code < 0 else code)

    def kill(self) -> None:
        """SIGKILL the whole group now."""
        _kill_group(self._process.pid, signal.SIGKILL)

    async def release(self) -> None:
        """Forget the recorded exit status: the attempt's end is committed."""
        _forget(self._exit_record)

    async def stop(self, grace_seconds: float) -> None:
        """SIGTERM the whole group, SIGKILL it if the leader outlives ``grace_seconds``."""
        if self._exited.is_set():
            return
        _kill_group(self._process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self._exited.wait(), timeout=grace_seconds)
        except TimeoutError:
            _kill_group(self._process.pid, signal.SIGKILL)


def _forget(record: Path | None) -> None:
    if record is not None:
        with contextlib.suppress(FileNotFoundError):
            record.unlink()


class RecordedAttempt:
    """An attempt that ended while no server watched it, as its launcher recorded the end."""

    def __init__(self, identity: dict[str, Any], status: ExitStatus, record: Path) -> None:
        self.identity = identity
        self._status = status
        self._record = record

    async def wait(self) -> ExitStatus:
        """The recorded exit status."""
        return self._status

    async def stop(self, grace_seconds: float) -> None:
        """Nothing runs any more."""

    def kill(self) -> None:
        """Nothing runs any more."""

    async def release(self) -> None:
        """Forget the record: the attempt's end is committed."""
        _forget(self._record)


def _recorded_status(record: Path) -> ExitStatus | None:
    """The exit status the launcher wrote in ``record``; None when there is none (the
    attempt was cut off, or the server died before its command ended)."""
    try:
        text = record.read_text().strip()
    except OSError:
        return None
    return ExitStatus(exit_code=int(text)) if text.isdigit() else None


async def _pump(stream: asyncio.StreamReader, name: str, on_line: LineCallback) -> None:
    splitter = LineSplitter()
    while True:
        chunk = await stream.read(READ_CHUNK)
        lines = splitter.feed(chunk) if chunk else splitter.close()
        now = int(time.time() * 1000)
        for line in lines:
            on_line(now, name, line)
        if not chunk:
            break


class LocalProvider:
    """Runs attempts as host processes under ``work_root/<attempt id>``."""

    def __init__(
        self,
        work_root: Path,
        capacity: HostCapacity | None = None,
        layout: CgroupLayout | None = None,
        endpoint_url: str | None = None,
        identities: Identities | None = None,
        exits_dir: Path | None = None,
    ) -> None:
        """``endpoint_url``: this server's address as attempts reach it (the loopback one),
        given to their SDKs with the credentials of each attempt's ``access``;
        ``identities``: who attempts run as (None: this process's own user); ``exits_dir``:
        where launchers record exit statuses (None: nowhere)."""
        self.work_root = work_root
        self._exits_dir = exits_dir
        if exits_dir is not None:
            exits_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Records of ended attempts taken over by ``reattach``, kept from ``sweep``.
        self._claimed: set[str] = set()
        self._endpoint_url = endpoint_url
        self._identities = identities
        if identities is not None and identities.switching:
            warn_unless_searchable(work_root)
        # Read once: os.environ lookups cost more than the rest of building an environment.
        self._host_environment = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
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
        gpus = self._gpus.take(spec.gpus)
        environment = access_environment(spec.access, self._endpoint_url)
        environment.update(spec.environment)
        if gpus:
            environment["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
            environment["NVIDIA_VISIBLE_DEVICES"] = environment["CUDA_VISIBLE_DEVICES"]
        try:
            # Directories, cgroups and the spawn are system calls: they run beside the loop.
            launched = await asyncio.to_thread(self._launch, spec, environment)
        except BaseException:
            self._gpus.give_back(gpus)
            raise
        return LocalAttempt(launched, gpus, self._gpus, on_line, spec.job_id)

    def _launch(self, spec: AttemptSpec, job_environment: dict[str, str]) -> _Launched:
        user = spec.container.user if spec.container is not None else None
        lease = self._identities.lease(user) if self._identities else Lease(None)
        identity = lease.identity
        workdir = self.work_root / spec.attempt_id
        try:
            self.work_root.mkdir(mode=0o711, parents=True, exist_ok=True)
            # mkdir's mode passes through the umask; these must be exact.
            self.work_root.chmod(0o711)
            workdir.mkdir(mode=0o700, exist_ok=True)
            workdir.chmod(0o700)
            if identity is not None:
                os.chown(workdir, identity.uid, identity.gid)
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            lease.release()
            raise LaunchError(f"CannotStartContainerError: {exc}") from None
        environment = {**self._host_environment, "HOME": str(workdir)}
        if identity is not None:
            environment["USER"] = environment["LOGNAME"] = identity.name
        environment.update(job_environment)
        limits = AttemptLimits(
            self._layout, f"{self._cgroup_prefix}{spec.attempt_id}", spec.memory_mib, spec.vcpus
        )
        record = self._exit_record(spec.attempt_id)
        try:
            program = resolve_program(spec.command[0], workdir, environment.get("PATH"))
            command = wrap(
                [program, *spec.command[1:]],
                cgroup_procs=limits.cgroup_procs(),
                address_space_kib=limits.address_space_kib(),
                switch=identity.setpriv_options() if identity else None,
                record_exit=record,
            )
            spawned = spawn(command, cwd=workdir, env=environment)
        except LaunchError:
            _tear_down(limits, workdir, lease)
            raise
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            _tear_down(limits, workdir, lease)
            raise LaunchError(f"CannotStartContainerError: {exc}") from None
        start_ticks = _process_start_ticks(spawned.popen.pid)
        return _Launched(spawned, limits, workdir, start_ticks, lease, record)

    def _exit_record(self, attempt_id: str) -> Path | None:
        if self._exits_dir is None:
            return None
        record = self._exits_dir / attempt_id
        _forget(record)
        return record

    async def reattach(
        self, identity: dict[str, Any], on_line: LineCallback, delivered: int
    ) -> RecordedAttempt | None:
        """The attempt an earlier server started as ``identity``, if its launcher recorded its
        end; None when it was cut off (its host, the server, died while it ran). Local
        processes never outlive the server, so there is no output left to follow."""
        attempt_id = identity.get("attemptId")
        if self._exits_dir is None or not isinstance(attempt_id, str) or "/" in attempt_id:
            return None
        record = self._exits_dir / attempt_id
        status = await asyncio.to_thread(_recorded_status, record)
        if status is None:
            return None
        # Whatever it left running (outside its group) goes before its end is recorded.
        await asyncio.to_thread(self.reap, identity)
        self._claimed.add(attempt_id)
        return RecordedAttempt(dict(identity), status, record)

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
        groups = {
            group
            for pid in candidates
            if _belongs_to(pid, job_id) and (group := _group_of(pid)) is not None
        }
        groups.discard(os.getpgrp())
        for group in groups:
            _kill_group(group, signal.SIGKILL)
        # What left the group (setsid) still runs as the attempt's own uid, if it had one;
        # reaping comes before this server hands out uids, so none is anyone else's yet.
        uid = identity.get("uid")
        strays = isinstance(uid, int) and uid >= UID_BASE and kill_uid(uid)
        return bool(groups) or strays

    def sweep(self) -> None:
        """Empty the working-directory root and drop stale attempt cgroups."""
        if self.work_root.is_dir():
            for leftover in self.work_root.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
        if self._exits_dir is not None and self._exits_dir.is_dir():
            for record in self._exits_dir.iterdir():
                if record.name not in self._claimed:
                    _forget(record)
        remove_stale_groups(self._layout, self._cgroup_prefix)
