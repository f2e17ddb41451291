"""One attempt from STARTING to its end: what it runs with, starting it, streaming its output,
timing it out or stopping it, and committing how it ended.

The attempt's wait is the only thing awaited; the timeout is a deadline on that wait, and a
TerminateJob is a signal sent to it, so nothing here polls.

With ``propagateTags`` the task carries the job definition's tags and the job's (an array
child's or a node's are its job's), the job's winning on a shared key. More than 50 together
and the job fails instead of starting, as AWS moves it to FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.clock import now_ms
from batchyard.aws.documents import JsonObject
from batchyard.batch.jobs import records
from batchyard.batch.jobs.model import (
    ESSENTIAL_EXITED,
    FAILED_TO_START,
    TIMED_OUT,
    Demand,
    Job,
    owner_id,
)
from batchyard.batch.jobs.transitions import AttemptEnd, JobLifecycle, Transitions
from batchyard.batch.resources.store import ResourceTags
from batchyard.batch.secrets import LocalSecrets, SecretUnavailable
from batchyard.compute.container_spec import container_spec
from batchyard.compute.provider import (
    AttemptSpec,
    ComputeProvider,
    DurableAttempt,
    LaunchError,
    LineCallback,
    ReleasedAttempt,
    RunningAttempt,
    ServiceAccess,
)
from batchyard.compute.providers import LOCAL_WHERE, Backing, Providers
from batchyard.store import Store

log = logging.getLogger(__name__)

# AWS sends SIGKILL this long after SIGTERM when it stops a container.
STOP_GRACE_SECONDS = 30.0
DEFAULT_LOG_GROUP = "/aws/batch/job"
# AWS keeps the first 200 characters of the definition name in the stream name.
STREAM_PREFIX_LIMIT = 200
MAX_PROPAGATED_TAGS = 50
TOO_MANY_TAGS = (
    f"Tags could not be propagated: the job and its job definition have more than "
    f"{MAX_PROPAGATED_TAGS} tags combined."
)


class JobLogs(Protocol):
    """Where attempts' output goes (CloudWatch Logs' live sink); ``owner`` is the account and
    region of the job the output belongs to."""

    def line(self, owner: Caller, group: str, stream: str, timestamp: int, message: str) -> None:
        """Queue one line of ``group``/``stream`` (never blocks)."""
        ...

    async def drain(self, owner: Caller, group: str, stream: str) -> None:
        """Wait until every line queued so far for ``group``/``stream`` is committed."""
        ...

    async def stored_lines(self, owner: Caller, group: str, stream: str) -> int:
        """How many lines of ``group``/``stream`` are committed."""
        ...

    def open_stream(
        self, conn: Connection, owner: Caller, group: str, stream: str, now: int
    ) -> None:
        """Make sure ``group``/``stream`` exists, inside the caller's write."""
        ...


# The keys an attempt's SDKs sign with, for its job's account and region (None: no keys).
AccessFor = Callable[[Caller], ServiceAccess | None]


@dataclass(frozen=True)
class AttemptServices:
    """What every attempt needs from the server."""

    store: Store
    lifecycle: JobLifecycle
    providers: Providers
    logs: JobLogs
    tags: ResourceTags
    secrets: LocalSecrets
    time_scale: float
    access: AccessFor = lambda _owner: None


@dataclass(frozen=True, slots=True)
class Launch:
    """What one attempt is started with: the job as placed, the attempt's id, the names of
    the queue and compute environment it runs from (its environment says them), what runs
    it (None: local processes) and, for a multi-node node, the main node's address and the
    multi-node attempt it belongs to."""

    job: Job
    attempt_id: str
    queue_name: str
    environment_name: str
    backing: Backing | None = None
    main_address: str | None = None
    group: str | None = None


# Starts one attempt: (spec, line callback) -> the running attempt, or LaunchError.
Starter = Callable[[AttemptSpec, LineCallback], Awaitable[RunningAttempt]]
# Called with the job after its attempt's end (or start, for a node) is committed.
JobCallback = Callable[[Job], None]
# A change of one job inside a store write.
Change = Callable[[Connection, Job, Transitions], None]


def definition_name(job: Job) -> str:
    """The job definition's name, from its ARN."""
    return records.definition_name(job.job_definition)


def log_target(job: Job, attempt_id: str) -> tuple[str, str]:
    """(log group, log stream) of an attempt: ``<definition>/default/<attempt id>`` in
    ``/aws/batch/job`` unless the awslogs options of the job say otherwise."""
    configuration = (job.container or {}).get("logConfiguration") or {}
    options = (
        configuration.get("options") or {} if configuration.get("logDriver") == "awslogs" else {}
    )
    group = options.get("awslogs-group") or DEFAULT_LOG_GROUP
    prefix = options.get("awslogs-stream-prefix") or definition_name(job)[:STREAM_PREFIX_LIMIT]
    return group, f"{prefix}/default/{attempt_id}"


def log_destination(job: Job, attempt_id: str) -> tuple[Caller, str, str]:
    """(owner, log group, log stream) of an attempt: whose account and region its output
    belongs to, and where it goes."""
    group, stream = log_target(job, attempt_id)
    return Caller(job.account_id, job.region), group, stream


def member_environment(job: Job, main_address: str | None = None) -> dict[str, str]:
    """The variables of an array child (its index, the array's size) or of a multi-node
    node (its index, the node count, the main node and, on other nodes, its address:
    ``main_address``, or the loopback one when every node runs on this host)."""
    array = job.array_properties
    if array is not None and array.index is not None:
        return {
            "AWS_BATCH_JOB_ARRAY_INDEX": str(array.index),
            "AWS_BATCH_JOB_ARRAY_SIZE": str(array.size),
        }
    node = job.node_details
    if node is None:
        return {}
    properties = job.node_properties or {}
    found = {
        "AWS_BATCH_JOB_NODE_INDEX": str(node.node_index),
        "AWS_BATCH_JOB_NUM_NODES": str(properties["numNodes"]),
        "AWS_BATCH_JOB_MAIN_NODE_INDEX": str(properties["mainNode"]),
    }
    if not node.is_main_node:
        found["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = main_address or "127.0.0.1"
    return found


def attempt_spec(launch: Launch, access: ServiceAccess | None = None) -> AttemptSpec:
    """The provider-facing description of the attempt ``launch`` starts; its SDKs sign with
    ``access``."""
    job = launch.job
    container = job.container or {}
    demand = Demand.of(container)
    environment = {e["name"]: e.get("value", "") for e in container.get("environment") or []}
    environment.update(
        {
            "AWS_BATCH_JOB_ID": job.job_id,
            "AWS_BATCH_JOB_ATTEMPT": str(len(job.attempts) + 1),
            "AWS_BATCH_JQ_NAME": launch.queue_name,
            "AWS_BATCH_CE_NAME": launch.environment_name,
        }
    )
    environment.update(member_environment(job, launch.main_address))
    return AttemptSpec(
        attempt_id=launch.attempt_id,
        job_id=job.job_id,
        command=list(container.get("command") or []),
        environment=environment,
        vcpus=demand.vcpus,
        memory_mib=demand.memory or None,
        gpus=demand.gpus,
        image=container.get("image"),
        container=container_spec(container),
        access=access,
        group=launch.group,
    )


def propagated_tags(conn: Connection, tags: ResourceTags, job: Job) -> dict[str, str]:
    """The tags the job's task is created with; empty without ``propagateTags``."""
    if not job.propagate_tags:
        return {}
    owner = job.job_arn.rsplit("/", 1)[0] + "/" + owner_id(job.job_id)
    return {**tags.get(conn, job.job_definition), **tags.get(conn, owner)}


def _refusal(tags: ResourceTags, job: Job, conn: Connection) -> str | None:
    too_many = len(propagated_tags(conn, tags, job)) > MAX_PROPAGATED_TAGS
    return TOO_MANY_TAGS if too_many else None


class AttemptRun:
    """Drives one attempt of one job."""

    def __init__(
        self,
        services: AttemptServices,
        launch: Launch,
        on_end: JobCallback,
        on_running: JobCallback | None = None,
        starter: Starter | None = None,
    ) -> None:
        """``starter`` starts the attempt instead of its provider's ``start`` (the nodes of
        a multi-node job started together)."""
        self._services = services
        self._launch = launch
        self._on_end = on_end
        self._on_running = on_running
        self._starter = starter
        self._running: RunningAttempt | None = None
        self._stopped_by: str | None = None
        self._stopping: asyncio.Task[None] | None = None
        self.job_id = launch.job.job_id

    def terminate(self, reason: str) -> None:
        """Stop the attempt for TerminateJob; the job then fails with ``reason``."""
        if self._stopped_by is None:
            self._stopped_by = reason
        if self._running is not None and self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(
                self._running.stop(self._grace())
            )

    def kill_now(self, detach: bool = True) -> None:
        """Server shutdown: kill at once, or (``detach``) leave running an attempt that
        outlives the server (a container), for the next server to take over; the job is
        left to start-up recovery."""
        if detach and isinstance(self._running, DurableAttempt):
            self._running.detach()
        elif self._running is not None:
            self._running.kill()

    def _grace(self) -> float:
        return STOP_GRACE_SECONDS / self._services.time_scale

    def _provider(self) -> ComputeProvider:
        backing = self._launch.backing
        if backing is not None and backing.provider is not None:
            return backing.provider
        return self._services.providers.local

    def _where(self, spec: AttemptSpec) -> str:
        backing = self._launch.backing
        if backing is None or backing.provider is None:
            where, runs_image = LOCAL_WHERE, False
        else:
            where, runs_image = backing.where, backing.runs_image
        if runs_image:
            line = f"batchyard: attempt {spec.attempt_id} runs as {where}, image {spec.image}"
            storage = spec.container.ephemeral_storage_gib if spec.container else None
            if storage is not None:
                # The engine's storage drivers cap a writable layer only on some file
                # systems (overlay on xfs with project quotas); nothing here asks for it.
                line += f"; its ephemeralStorage of {storage} GiB is not enforced"
            return line
        image = f"its image {spec.image} is not run" if spec.image else "it has no image"
        return f"batchyard: attempt {spec.attempt_id} runs as {where}; {image}"

    async def run(self) -> None:
        """Run the attempt to its committed end."""
        services, launch = self._services, self._launch
        job, attempt_id = launch.job, launch.attempt_id
        if job.propagate_tags:
            refused = await services.store.read(partial(_refusal, services.tags, job))
            if refused is not None:
                await self._end(partial(_refuse, refused))
                return
        owner, group, stream = log_destination(job, attempt_id)
        spec = attempt_spec(launch, services.access(owner))
        provider = self._provider()
        try:
            secrets = (job.container or {}).get("secrets")
            if secrets:
                # Resolved at each start: a changed value reaches the next attempt only.
                spec.environment.update(await self._secret_environment(secrets))
            # The first line of the stream says where the attempt runs, so that a job that
            # behaves differently here than on AWS shows at once whether its image ran.
            header = _Header(partial(_line, services.logs, owner, group, stream))
            start = self._starter or provider.start
            running = await start(spec, header.before(self._where(spec)))
        except LaunchError as error:
            now = now_ms()
            end = AttemptEnd(None, error.reason, FAILED_TO_START, now, started_at=now)
            await self._end(partial(_finish, end))
            return
        self._running = running
        started = now_ms()
        header.emit()
        task_arn = f"arn:aws:ecs:{job.region}:{job.account_id}:task/batchyard/{attempt_id}"
        mark = partial(
            _mark_running, services.logs, owner, started, (group, stream), task_arn,
            running.identity,
        )
        current = await services.lifecycle.write(partial(_change, self.job_id, mark))
        if self._on_running is not None:
            self._on_running(current)
        await self._follow(running, started)

    async def resume(self, running: RunningAttempt) -> None:
        """Drive to its committed end an attempt an earlier server started and this one
        re-attached to (the job is RUNNING since ``runtime.started_at``)."""
        self._running = running
        await self._follow(running, self._launch.job.runtime.started_at or now_ms())

    async def _follow(self, running: RunningAttempt, started: int) -> None:
        """Wait for the running attempt's end (stopping it at the job's timeout), commit it,
        then let go of what is left of it."""
        services, job = self._services, self._launch.job
        owner, group, stream = log_destination(job, self._launch.attempt_id)
        if self._stopped_by is not None and self._stopping is None:
            self.terminate(self._stopped_by)
        waiting = asyncio.ensure_future(running.wait())
        timed_out = False
        limit = job.attempt_duration_seconds
        if limit:
            # Counted from the start, also when a restarted server took the attempt over.
            left = limit / services.time_scale - (now_ms() - started) / 1000
            done, _ = await asyncio.wait({waiting}, timeout=max(left, 0))
            if not done and self._stopped_by is None:
                timed_out = True
                await running.stop(self._grace())
        status = await waiting
        if self._stopping is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._stopping
        await services.logs.drain(owner, group, stream)
        if self._stopped_by is not None:
            status_reason = self._stopped_by
        elif timed_out:
            status_reason = TIMED_OUT
        elif status.out_of_memory and status.reason:
            status_reason = status.reason
        else:
            status_reason = ESSENTIAL_EXITED
        end = AttemptEnd(
            exit_code=status.exit_code,
            reason=status.reason,
            status_reason=status_reason,
            stopped_at=now_ms(),
            started_at=started,
            stopped_by=self._stopped_by,
            final=timed_out,
        )
        await self._end(partial(_finish, end))
        if isinstance(running, ReleasedAttempt):
            # Only now: a server dying before the end was committed finds it still there.
            await running.release()

    async def _secret_environment(self, secrets: list[JsonObject]) -> dict[str, str]:
        try:
            return await asyncio.to_thread(self._services.secrets.environment, secrets)
        except SecretUnavailable as error:
            raise LaunchError(
                f"ResourceInitializationError: unable to retrieve secrets: {error}"
            ) from None

    async def _end(self, change: Change) -> None:
        job = await self._services.lifecycle.write(partial(_change, self.job_id, change))
        self._on_end(job)


class _Header:
    """One line written before an attempt's output: once it has started, or before its first
    line when that comes sooner (providers may deliver output from their own threads)."""

    def __init__(self, write: LineCallback) -> None:
        self._write = write
        self._text = ""
        self._lock = threading.Lock()
        self._written = False

    def before(self, text: str) -> LineCallback:
        """The callback to give the provider: ``text`` first, then each line."""
        self._text = text

        def on_line(timestamp: int, name: str, line: str) -> None:
            self.emit()
            self._write(timestamp, name, line)

        return on_line

    def emit(self) -> None:
        """Write the header now unless it was written."""
        with self._lock:
            if not self._written:
                self._written = True
                self._write(now_ms(), "stdout", self._text)


def output_callback(logs: JobLogs, job: Job) -> tuple[LineCallback, Caller, str, str]:
    """Where the output of ``job``'s current attempt goes: the callback, and the owner, group
    and stream it writes to."""
    owner, group, stream = log_destination(job, job.runtime.attempt_id or "")
    return partial(_line, logs, owner, group, stream), owner, group, stream


def _line(
    logs: JobLogs, owner: Caller, group: str, stream: str, timestamp: int, _name: str, text: str
) -> None:
    logs.line(owner, group, stream, timestamp, text)


def _change(job_id: str, change: Change, conn: Connection, transitions: Transitions) -> Job:
    """Load ``job_id``, apply ``change``, save it; returns the job as committed."""
    job = records.load(conn, job_id)
    assert job is not None, job_id
    change(conn, job, transitions)
    records.save(conn, job)
    return job


def _mark_running(
    logs: JobLogs,
    owner: Caller,
    started: int,
    target: tuple[str, str],
    task_arn: str,
    identity: JsonObject,
    conn: Connection,
    job: Job,
    transitions: Transitions,
) -> None:
    group, stream = target
    transitions.run(job, started, stream, task_arn, identity)
    # As with the awslogs driver, the stream exists from the start, output or not.
    logs.open_stream(conn, owner, group, stream, started)


def _refuse(reason: str, _conn: Connection, job: Job, transitions: Transitions) -> None:
    """The task cannot be created: the job fails without an attempt."""
    transitions.fail(job, reason, now_ms())


def _finish(end: AttemptEnd, _conn: Connection, job: Job, transitions: Transitions) -> None:
    transitions.finish(job, end)
