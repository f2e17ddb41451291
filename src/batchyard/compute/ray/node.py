"""What runs inside the Ray cluster: the attempt task and the detached supervisor that owns it.

Each attempt is one Ray task with the job's resources (``num_cpus``, ``memory``, ``num_gpus``),
so Ray picks the node and keeps the accounting. The task starts the job's command in a process
group of its own, in a working directory on that node, and streams back what happens (started,
output lines, exit) as a streaming generator. Its owner is not the batchyard process but
``Supervisor``, a detached named actor on the head node: a driver that goes away (a restarted
server, a lost connection) does not take the attempts with it, and the next driver finds them
there by attempt id, with the lines it has not yet acknowledged and the exit if they ended
meanwhile. A task per attempt reuses Ray's pooled workers; an actor per attempt would cost a new
worker process each (measured: about 2 attempts/s against 500 tasks/s on the test cluster).

An attempt whose image runs (the server's ``ray_container_engine`` setting) is the same task,
but what it starts is the job's container on the node's own Docker or Podman, through
``node_container``: it streams the container's output and exit the same way, stopping it
signals the container through the engine, and the container is removed when the task ends.

This module is shipped to the cluster by value (``cloudpickle.register_pickle_by_value``), so
running commands needs Ray on the nodes but not batchyard: it imports only the standard library
and Ray, and what it exchanges with the driver are plain dicts, lists, tuples and bytes.
Running images needs batchyard on the node too (``node_container`` is imported from there).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import queue
import selectors
import shutil
import signal
import subprocess
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import ray
import ray.exceptions
from ray.util.placement_group import placement_group, placement_group_table
from ray.util.placement_group import remove_placement_group as _remove_group
from ray.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    PlacementGroupSchedulingStrategy,
)

# Node variables a command needs to find programs and behave sanely, plus the GPU pinning Ray
# sets for tasks with ``num_gpus``; nothing else of the Ray worker's environment leaks in.
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "CUDA_VISIBLE_DEVICES",
)
SETPRIV = shutil.which("setpriv")
# CloudWatch Logs caps an event at 256 KiB; a longer line is split.
MAX_LINE_BYTES = 256 * 1024 - 26
READ_CHUNK = 64 * 1024
# Output is sent in batches: at most this long after the first pending line, or this many.
BATCH_SECONDS = 0.02
BATCH_LINES = 2000
# A task that streams faster than the supervisor takes pauses at this many unconsumed batches.
BACKPRESSURE_BATCHES = 64
# How long ``poll`` lets news gather before it answers.
COALESCE_SECONDS = 0.005
# Ended attempts whose exit the driver has taken are remembered (small records) this many.
REMEMBERED = 20_000
OUT_OF_MEMORY_REASON = "OutOfMemoryError: Container killed due to memory usage"
# How long removing what a lost image attempt left on its node may take.
DISCARD_SECONDS = 60.0
HEAD_RESOURCE = "node:__internal_head__"


class ImageLaunch(TypedDict):
    """How a node runs an attempt's image: its engine (``auto`` or an address), the pull
    policy, the EFS directory, the server's container label, and the server's
    ``AttemptSpec`` pickled (only the node's batchyard reads it, so the supervisor need not
    have batchyard)."""

    engine: str
    pull_policy: str
    efs_root: str | None
    server: str
    spec: bytes


class Launch(TypedDict):
    """One attempt to start, as the driver sends it; ``image`` None runs the command on the
    node, otherwise the job's image runs on the node's engine."""

    attempt_id: str
    command: list[str]
    environment: dict[str, str]
    work_root: str
    num_cpus: float
    memory: int
    num_gpus: float
    image: ImageLaunch | None


class Started(TypedDict):
    """Where an attempt runs: the Ray node, and on it the process group of its command or
    the container of its image (``container_id`` on the engine at ``engine``)."""

    node_id: str
    node_ip: str
    pid: int
    start_ticks: int
    container_id: str | None
    engine: str | None


class Exit(TypedDict):
    """How an attempt ended: the exit code (128 + signal), or a reason when Ray lost it."""

    code: int | None
    reason: str | None
    out_of_memory: bool


# What ``Supervisor.poll`` returns for one attempt: (attempt id, sequence number of the first
# line, lines as (epoch ms, stream, text), started info once, exit once it ended).
Line = tuple[int, str, str]
Update = tuple[str, int, list[Line], Started | None, Exit | None]


def _start_ticks(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class _Splitter:
    """Turns one pipe's chunks into lines stamped when they were read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending = b""

    def feed(self, chunk: bytes, out: list[Line]) -> None:
        now = int(time.time() * 1000)
        if not chunk:
            if self.pending:
                out.append((now, self.name, self.pending.decode("utf-8", "replace")))
                self.pending = b""
            return
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        out.extend((now, self.name, line.decode("utf-8", "replace")) for line in lines)
        while len(self.pending) > MAX_LINE_BYTES:
            out.append((now, self.name, self.pending[:MAX_LINE_BYTES].decode("utf-8", "replace")))
            self.pending = self.pending[MAX_LINE_BYTES:]


def _cannot_start(code: int, program: str) -> tuple[str, str]:
    reason = f"[Errno {code}] {os.strerror(code)}: {program!r}"
    return ("failed", f"CannotStartContainerError: {reason}")


def _resolve(program: str, workdir: Path, path: str | None) -> str | tuple[str, str]:
    """The file ``program`` names as exec would find it, or the ``failed`` item saying why.

    Looked up here rather than left to exec so that a missing program is a launch error, not
    the exit status 127 of the set-up program in front of it.
    """
    if "/" not in program:
        found = shutil.which(program, path=path if path is not None else os.defpath)
        return str(workdir / found) if found else _cannot_start(errno.ENOENT, program)
    candidate = workdir / program
    if not candidate.exists():
        return _cannot_start(errno.ENOENT, program)
    if candidate.is_dir() or not os.access(candidate, os.X_OK):
        return _cannot_start(errno.EACCES, program)
    return str(candidate)


def run_attempt(launch: Launch) -> Iterator[tuple[str, Any]]:
    """The attempt task: run the command (or the image) on this node and yield what happens.

    Yields ``("failed", reason)`` when it cannot start, else ``("started", Started)``, then
    ``("lines", [Line, ...])`` batches while it runs, then ``("exit", Exit)``. An image's
    attempt first yields ``("placed", node id)``, so that what is left of a container whose
    task is lost can be removed from its node.
    """
    if launch["image"] is not None:
        yield from _run_image(launch, launch["image"])
        return
    workdir = Path(launch["work_root"]) / launch["attempt_id"]
    environment = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    environment.update(launch["environment"])
    command = launch["command"]
    if not command:
        yield ("failed", "CannotStartContainerError: the job has no command to run")
        return
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        yield ("failed", f"CannotStartContainerError: {exc}")
        return
    program = _resolve(command[0], workdir, environment.get("PATH"))
    if isinstance(program, tuple):
        shutil.rmtree(workdir, ignore_errors=True)
        yield program
        return
    try:
        # The parent-death signal ends the command with the Ray worker that watches it (a
        # killed node, a cancelled task), as a container's processes die with it.
        prefix = [SETPRIV, "--pdeathsig", "KILL", "--"] if SETPRIV else []
        process = subprocess.Popen(
            [*prefix, program, *command[1:]],
            cwd=workdir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        yield ("failed", f"CannotStartContainerError: {exc}")
        return
    try:
        yield (
            "started",
            Started(
                node_id=ray.get_runtime_context().get_node_id(),
                node_ip=ray.util.get_node_ip_address(),
                pid=process.pid,
                start_ticks=_start_ticks(process.pid),
                container_id=None,
                engine=None,
            ),
        )
        yield from _stream(process)
        code = process.wait()
    finally:
        # Whatever the command left behind in its group dies with it, as in a container.
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    yield ("exit", Exit(code=128 - code if code < 0 else code, reason=None, out_of_memory=False))


def _run_image(launch: Launch, image: ImageLaunch) -> Iterator[tuple[str, Any]]:
    """The image's half of ``run_attempt``: the container on this node's engine."""
    node_id = ray.get_runtime_context().get_node_id()
    node_ip = ray.util.get_node_ip_address()
    try:
        from batchyard.compute.ray import node_container
    except ImportError as error:
        yield (
            "failed",
            f"CannotStartContainerError: the Ray node {node_ip} cannot run images: batchyard's "
            f"container code does not import there ({error})",
        )
        return
    assigned = [str(gpu) for gpu in ray.get_gpu_ids()]
    if not all(gpu.isdigit() for gpu in assigned):
        yield (
            "failed",
            f"CannotStartContainerError: the Ray node {node_ip} assigned the GPUs "
            f"{', '.join(assigned)}; a container is given GPUs by index only",
        )
        return
    yield ("placed", node_id)
    gpus = [int(gpu) for gpu in assigned]
    attempt = node_container.ImageAttempt(image, launch["environment"], node_ip, gpus)
    attempt.begin()
    try:
        kind, value = attempt.events.get()
        if kind == "failed":
            yield ("failed", value)
            return
        yield (
            "started",
            Started(
                node_id=node_id,
                node_ip=node_ip,
                pid=0,
                start_ticks=0,
                container_id=value,
                engine=attempt.engine_url,
            ),
        )
        yield from _relay(attempt.events)
    finally:
        attempt.close()


def _relay(events: queue.SimpleQueue[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Yield a container's lines in batches (as ``_stream`` does a command's), then its exit."""
    batch: list[Line] = []
    first = 0.0
    while True:
        timeout = None if not batch else max(0.0, first + BATCH_SECONDS - time.monotonic())
        try:
            kind, value = events.get(timeout=timeout)
        except queue.Empty:
            yield ("lines", batch)
            batch = []
            continue
        if kind == "exit":
            if batch:
                yield ("lines", batch)
            code, reason, out_of_memory = value
            yield ("exit", Exit(code=code, reason=reason, out_of_memory=out_of_memory))
            return
        if not batch:
            first = time.monotonic()
        batch.append(value)
        if len(batch) >= BATCH_LINES or time.monotonic() - first >= BATCH_SECONDS:
            yield ("lines", batch)
            batch = []


def _stream(process: subprocess.Popen[bytes]) -> Iterator[tuple[str, Any]]:
    """Yield the command's output in batches until its pipes close.

    When the leader exits, whatever it left in its group is killed, so that a background
    child holding the pipes open does not keep the attempt running (as in a container).
    """
    assert process.stdout is not None and process.stderr is not None
    selector = selectors.DefaultSelector()
    splitters = {}
    for pipe, name in ((process.stdout, "stdout"), (process.stderr, "stderr")):
        os.set_blocking(pipe.fileno(), False)
        selector.register(pipe, selectors.EVENT_READ)
        splitters[pipe.fileno()] = _Splitter(name)
    exited = os.pidfd_open(process.pid)
    selector.register(exited, selectors.EVENT_READ)
    batch: list[Line] = []
    first = 0.0
    try:
        while len(selector.get_map()) > (1 if exited >= 0 else 0):
            timeout = None if not batch else max(0.0, first + BATCH_SECONDS - time.monotonic())
            for key, _ in selector.select(timeout):
                if key.fd == exited:
                    selector.unregister(exited)
                    os.close(exited)
                    exited = -1
                    _kill_group(process.pid, signal.SIGKILL)
                    continue
                try:
                    chunk = os.read(key.fd, READ_CHUNK)
                except BlockingIOError:
                    continue
                if not batch:
                    first = time.monotonic()
                splitters[key.fd].feed(chunk, batch)
                if not chunk:
                    selector.unregister(key.fileobj)
            if batch and (
                len(batch) >= BATCH_LINES or time.monotonic() - first >= BATCH_SECONDS
            ):
                yield ("lines", batch)
                batch = []
        if batch:
            yield ("lines", batch)
    finally:
        if exited >= 0:
            os.close(exited)
        selector.close()
        process.stdout.close()
        process.stderr.close()


def signal_group(pid: int, start_ticks: int, signum: int) -> bool:
    """Signal the process group ``pid`` leads, if that process is still the one started."""
    if _start_ticks(pid) != start_ticks:
        return False
    _kill_group(pid, signum)
    return True


def signal_attempt(started: Started, signum: int) -> bool:
    """Signal what runs the attempt on this node: its container through the engine (which
    signals the container's first process), else its command's process group."""
    if started["container_id"] and started["engine"]:
        from batchyard.compute.ray import node_container

        return node_container.signal_container(
            started["engine"], started["container_id"], signum, started["node_ip"]
        )
    return signal_group(started["pid"], started["start_ticks"], signum)


def discard_image(engine: str, attempt_id: str) -> None:
    """Remove the container of ``attempt_id`` from this node's engine, if it has one."""
    from batchyard.compute.ray import node_container

    node_container.discard_container(engine, attempt_id, ray.util.get_node_ip_address())


def _failure(error: BaseException, started: Started | None = None) -> Exit:
    """The exit of an attempt whose task Ray lost, with a reason that says how."""
    if isinstance(error, ray.exceptions.OutOfMemoryError):
        return Exit(code=137, reason=OUT_OF_MEMORY_REASON, out_of_memory=True)
    if isinstance(error, ray.exceptions.NodeDiedError) and started is not None:
        reason = (
            f"NodeDiedError: the Ray node {started['node_ip']} (node id "
            f"{started['node_id'][:12]}) running the attempt died or became unreachable"
        )
        return Exit(code=None, reason=reason, out_of_memory=False)
    first_line = (str(error).strip().splitlines() or [""])[0][:400]
    return Exit(code=None, reason=f"{type(error).__name__}: {first_line}", out_of_memory=False)


class _Record:
    """An attempt the supervisor owns: its task, what it produced, what the driver took."""

    def __init__(self, attempt_id: str) -> None:
        self.attempt_id = attempt_id
        self.started: Started | None = None
        self.failed: str | None = None
        self.exit: Exit | None = None
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()
        self.lines: list[Line] = []
        self.base = 0  # sequence number of ``lines[0]``
        self.sent = 0  # next sequence number to send to the attached session
        self.started_sent = False
        self.exit_sent = False
        self.session: str | None = None
        self.generator: Any = None
        self.gang: str | None = None
        # Of an image's attempt: the engine setting, and the node its task runs on.
        self.engine: str | None = None
        self.node: str | None = None

    @property
    def produced(self) -> int:
        return self.base + len(self.lines)

    def acknowledge(self, upto: int) -> None:
        drop = min(max(0, upto - self.base), len(self.lines))
        del self.lines[:drop]
        self.base += drop

    def attach(self, session: str) -> None:
        # A new session gets again what the previous one was sent but did not acknowledge.
        self.session = session
        self.sent = self.base
        self.started_sent = False
        self.exit_sent = False

    def pending(self) -> bool:
        return (
            self.produced > self.sent
            or (self.started is not None and not self.started_sent)
            or (self.exit is not None and not self.exit_sent)
        )

    def take(self) -> Update:
        first = self.sent
        lines = self.lines[first - self.base :]
        self.sent = self.produced
        started = self.started if not self.started_sent and self.started else None
        self.started_sent = self.started_sent or started is not None
        exit_ = self.exit if not self.exit_sent and self.exit else None
        self.exit_sent = self.exit_sent or exit_ is not None
        return (self.attempt_id, first, lines, started, exit_)


class Supervisor:
    """The detached actor that starts attempts, owns their tasks and keeps what they produce.

    Drivers talk to it by attempt id: ``start`` (idempotent: a second start of the same id
    returns the first one's state), ``poll`` (long-polls the attached attempts' output and
    exits, acknowledging what was taken), ``attach`` (a new driver session takes attempts
    over), ``stop``, ``release`` (the exit has been recorded) and ``capacity``.
    """

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._remembered: OrderedDict[str, Exit] = OrderedDict()
        self._changed: dict[str, asyncio.Event] = {}
        self._gangs: dict[str, Any] = {}

    def _wake(self, record: _Record) -> None:
        if record.session is not None and record.session in self._changed:
            self._changed[record.session].set()

    async def start(self, session: str, launch: Launch) -> dict[str, Any]:
        """Start ``launch`` unless it already exists; return its state once it has started."""
        record = self._records.get(launch["attempt_id"])
        if record is None:
            if launch["attempt_id"] in self._remembered:
                return {"state": "released", "exit": self._remembered[launch["attempt_id"]]}
            record = self._submit(session, launch, None)
        elif record.session != session:
            record.attach(session)
        await record.ready.wait()
        return self._state(record)

    async def start_gang(
        self, session: str, gang_id: str, launches: list[Launch], main_index: int
    ) -> list[dict[str, Any]]:
        """Start one attempt per node of a multi-node job, on distinct Ray nodes, together.

        A placement group with one bundle per node (``STRICT_SPREAD``) reserves them all at
        once; once it is placed each node learns the main node's address, and the group is
        removed when the last node has ended.
        """
        if gang_id not in self._gangs:
            bundles = [_bundle(launch) for launch in launches]
            group = placement_group(
                bundles, strategy="STRICT_SPREAD", name=f"batchyard-{gang_id}", lifetime="detached"
            )
            self._gangs[gang_id] = group
            await group.ready()
            table = placement_group_table(group)
            nodes = {node["NodeID"]: node["NodeManagerAddress"] for node in ray.nodes()}
            main_ip = nodes[table["bundles_to_node_id"][main_index]]
            for index, launch in enumerate(launches):
                environment = dict(launch["environment"])
                environment.setdefault("AWS_BATCH_JOB_NODE_INDEX", str(index))
                environment.setdefault("AWS_BATCH_JOB_NUM_NODES", str(len(launches)))
                environment.setdefault("AWS_BATCH_JOB_MAIN_NODE_INDEX", str(main_index))
                if index != main_index:
                    environment["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = main_ip
                strategy = PlacementGroupSchedulingStrategy(
                    placement_group=group, placement_group_bundle_index=index
                )
                launch = Launch(**{**launch, "environment": environment})
                self._submit(session, launch, strategy).gang = gang_id
        states = []
        for launch in launches:
            record = self._records.get(launch["attempt_id"])
            if record is None:
                exit_ = self._remembered.get(launch["attempt_id"])
                states.append({"state": "released", "exit": exit_})
                continue
            await record.ready.wait()
            states.append(self._state(record))
        return states

    def _submit(self, session: str, launch: Launch, strategy: Any) -> _Record:
        record = _Record(launch["attempt_id"])
        record.session = session
        if launch["image"] is not None:
            record.engine = launch["image"]["engine"]
        self._records[record.attempt_id] = record
        options: dict[str, Any] = {
            "num_cpus": launch["num_cpus"],
            "num_gpus": launch["num_gpus"],
            # Ray must never run an attempt twice: a retry is the scheduler's decision.
            "max_retries": 0,
            "num_returns": "streaming",
            "_generator_backpressure_num_objects": BACKPRESSURE_BATCHES,
            "name": f"batchyard-attempt-{record.attempt_id}",
        }
        if launch["memory"]:
            options["memory"] = launch["memory"]
        if strategy is not None:
            options["scheduling_strategy"] = strategy
        record.generator = _attempt_task.options(**options).remote(launch)
        asyncio.get_running_loop().create_task(self._follow(record))
        return record

    async def _follow(self, record: _Record) -> None:
        try:
            async for ref in record.generator:
                kind, value = await ref
                if kind == "failed":
                    record.failed = value
                    break
                if kind == "placed":
                    record.node = value
                    continue
                if kind == "started":
                    record.started = value
                    record.ready.set()
                elif kind == "lines":
                    record.lines.extend(value)
                elif kind == "exit":
                    record.exit = value
                self._wake(record)
        except Exception as error:  # whatever ends the stream ends the attempt
            lost = True
            if record.started is None:
                record.failed = _failure(error)["reason"]
            else:
                record.exit = _failure(error, record.started)
        else:
            lost = False
        if record.started is not None and record.exit is None:
            record.exit = Exit(code=None, reason="the attempt task ended without an exit code",
                               out_of_memory=False)
        record.ready.set()
        record.ended.set()
        self._wake(record)
        if lost and record.engine is not None and record.node is not None:
            # The engine the task found, when it got that far ("auto" may find another).
            engine = record.started["engine"] if record.started else None
            await self._discard(record.node, engine or record.engine, record.attempt_id)
        if record.gang is not None:
            await self._end_gang(record.gang)

    async def _discard(self, node_id: str, engine: str, attempt_id: str) -> None:
        """Remove the container a lost task (its worker killed, a cancel before it started)
        may have left on node ``node_id``; nothing is done when the node is gone with it."""
        strategy = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
        ref = _discard_task.options(num_cpus=0, scheduling_strategy=strategy, max_retries=0)
        with contextlib.suppress(ray.exceptions.RayError, TimeoutError):
            await asyncio.wait_for(ref.remote(engine, attempt_id), DISCARD_SECONDS)

    async def _end_gang(self, gang_id: str) -> None:
        members = [r for r in self._records.values() if r.gang == gang_id]
        if all(member.ended.is_set() for member in members) and gang_id in self._gangs:
            _remove_group(self._gangs.pop(gang_id))

    def _state(self, record: _Record) -> dict[str, Any]:
        if record.failed is not None:
            self._records.pop(record.attempt_id, None)
            return {"state": "failed", "reason": record.failed}
        return {
            "state": "ended" if record.ended.is_set() else "running",
            "started": record.started,
            "exit": record.exit,
        }

    def attach(self, session: str, attempt_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Make ``session`` the receiver of these attempts' output and exits from now on."""
        found: dict[str, dict[str, Any]] = {}
        for attempt_id in attempt_ids:
            record = self._records.get(attempt_id)
            if record is not None and record.failed is None:
                record.attach(session)
                self._wake(record)
                found[attempt_id] = self._state(record)
            elif attempt_id in self._remembered:
                found[attempt_id] = {"state": "released", "exit": self._remembered[attempt_id]}
            else:
                found[attempt_id] = {"state": "unknown"}
        return found

    async def poll(
        self, session: str, acks: dict[str, int], released: list[str], timeout: float
    ) -> list[Update]:
        """Wait up to ``timeout`` s for news of ``session``'s attempts and return it.

        ``acks`` are the sequence numbers up to which the driver has delivered each attempt's
        lines; ``released`` the attempts whose exit it has recorded.
        """
        for attempt_id, upto in acks.items():
            if attempt_id in self._records:
                self._records[attempt_id].acknowledge(upto)
        for attempt_id in released:
            self._release(session, attempt_id)
        changed = self._changed.setdefault(session, asyncio.Event())
        if not any(r.session == session and r.pending() for r in self._records.values()):
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)
        # News comes in bursts when many attempts run: one answer carries a burst, not a
        # call each (every call costs this actor about a millisecond).
        await asyncio.sleep(COALESCE_SECONDS)
        return self._take(session)

    def _take(self, session: str) -> list[Update]:
        return [r.take() for r in self._records.values() if r.session == session and r.pending()]

    def _release(self, session: str, attempt_id: str) -> None:
        record = self._records.get(attempt_id)
        # A release from a session the attempt has since been attached away from is stale:
        # the new session is still owed the exit.
        if record is None or record.exit is None or record.session != session:
            return
        del self._records[attempt_id]
        self._remembered[attempt_id] = record.exit
        while len(self._remembered) > REMEMBERED:
            self._remembered.popitem(last=False)

    async def stop(self, attempt_id: str, grace: float) -> None:
        """SIGTERM the attempt's process group, SIGKILL it if it outlives ``grace`` seconds."""
        record = self._records.get(attempt_id)
        if record is None or record.ended.is_set():
            return
        if record.started is None:
            ray.cancel(record.generator, force=True)
            return
        await self._signal(record.started, signal.SIGTERM)
        try:
            await asyncio.wait_for(record.ended.wait(), grace)
        except TimeoutError:
            await self._signal(record.started, signal.SIGKILL)

    async def kill(self, attempt_id: str) -> None:
        """SIGKILL the attempt's process group now."""
        record = self._records.get(attempt_id)
        if record is not None and record.started is not None and not record.ended.is_set():
            await self._signal(record.started, signal.SIGKILL)

    async def _signal(self, started: Started, signum: int) -> None:
        strategy = NodeAffinitySchedulingStrategy(node_id=started["node_id"], soft=False)
        ref = _signal_task.options(num_cpus=0, scheduling_strategy=strategy, max_retries=0)
        with contextlib.suppress(ray.exceptions.RayError):
            await ref.remote(started, signum)

    def attempts(self) -> list[str]:
        """The ids of the attempts it holds (running, or ended and not yet released)."""
        return list(self._records)


def _bundle(launch: Launch) -> dict[str, float]:
    bundle = {"CPU": launch["num_cpus"]}
    if launch["memory"]:
        bundle["memory"] = float(launch["memory"])
    if launch["num_gpus"]:
        bundle["GPU"] = launch["num_gpus"]
    return bundle


_attempt_task = ray.remote(run_attempt)
_signal_task = ray.remote(signal_attempt)
_discard_task = ray.remote(discard_image)
SupervisorActor = ray.remote(Supervisor)
