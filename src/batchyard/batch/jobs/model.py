"""The typed core of jobs: statuses, AWS's status-reason texts, a job's resource demand, and
the job itself with its attempts, array and node details.

A job is stored as its DescribeJobs document plus ``runtime``, the server-side facts of its
current attempt (``store/tables/batch_jobs.py``); :meth:`Job.from_row` and
:meth:`Job.to_document` are the one place that converts between the two. Array children are
``<parent id>:<index>``, the nodes of a multi-node parallel job ``<job id>#<index>``.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from batchyard.aws.documents import JsonObject


class JobStatus(StrEnum):
    """The AWS Batch job lifecycle."""

    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    RUNNABLE = "RUNNABLE"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED = JobStatus
TERMINAL = frozenset({SUCCEEDED, FAILED})
# CancelJob only stops jobs that have not been placed yet.
CANCELLABLE = frozenset({SUBMITTED, PENDING, RUNNABLE})
ON_HOST = frozenset({STARTING, RUNNING})
WAITING = frozenset({PENDING, RUNNABLE})

ESSENTIAL_EXITED = "Essential container in task exited"
TIMED_OUT = "Job attempt duration exceeded timeout"
FAILED_TO_START = "Task failed to start"
DEPENDENCY_FAILED = "Dependent Job failed"
CHILD_FAILED = "Array Child Job failed"
MAIN_NODE_EXITED = "Main node exited; the job's other nodes are stopped"
BLOCKED_BY_REQUIREMENT = (
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
    "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue."
)

CHILD_SEPARATOR = ":"
NODE_SEPARATOR = "#"
# Every id a job can have: a UUID (or another name-like id), then an array child's
# ":<index>", a node's "#<index>".
JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}(?::[0-9]{1,5})?(?:#[0-9]{1,5})?")
SEQUENTIAL = "SEQUENTIAL"
N_TO_N = "N_TO_N"


def reason_code(status_reason: str) -> str:
    """The code of a blocked-queue status reason (``MISCONFIGURATION:...``), as used by
    ``jobStateTimeLimitActions``."""
    return status_reason.split(" - ", 1)[0]


def time_limit_reason(code: str) -> str:
    """The status reason of a job cancelled by a queue's ``jobStateTimeLimitActions``."""
    return f"Canceled by JobStateTimeLimit action due to reason: {code}"


def host_lost_reason() -> str:
    """The status reason of an attempt whose server died under it.

    It starts like AWS's instance-loss text so ``onStatusReason: "Host EC2*"`` retry rules
    written for Spot interruptions match it.
    """
    return (
        f"Host EC2 (instance {socket.gethostname()}) terminated: "
        "the batchyard server stopped while the attempt was running."
    )


def child_id(parent_id: str, index: int) -> str:
    """The id (or ARN) of child ``index`` of array ``parent_id``."""
    return f"{parent_id}{CHILD_SEPARATOR}{index}"


def node_id(job_id: str, index: int) -> str:
    """The id (or ARN) of node ``index`` of multi-node job ``job_id``."""
    return f"{job_id}{NODE_SEPARATOR}{index}"


def _split(job_id: str, separator: str) -> tuple[str, int] | None:
    owner, found, index = job_id.rpartition(separator)
    if not found or not owner or not index.isdigit():
        return None
    return owner, int(index)


def split_child(job_id: str) -> tuple[str, int] | None:
    """(parent id, index) of an array child id, None for any other id."""
    return _split(job_id, CHILD_SEPARATOR)


def split_node(job_id: str) -> tuple[str, int] | None:
    """(job id, node index) of a node id, None for any other id."""
    return _split(job_id, NODE_SEPARATOR)


def owner_id(job_id: str) -> str:
    """The job that answers for ``job_id``: its array or multi-node job, or itself."""
    member = split_child(job_id) or split_node(job_id)
    return member[0] if member else job_id


@dataclass(frozen=True, slots=True)
class Demand:
    """What one attempt of a job reserves while placed: vCPUs, MiB of memory, GPUs, and on
    how many nodes at once (a multi-node job's demand is its nodes' sum)."""

    vcpus: float
    memory: int
    gpus: int
    nodes: int = 1

    @classmethod
    def of(cls, container: JsonObject | None) -> Demand:
        """The demand a job's ``container`` block states (resourceRequirements win)."""
        if not container:
            return _ONE_VCPU
        values: dict[str, Any] = {
            r["type"]: r["value"] for r in container.get("resourceRequirements") or []
        }
        vcpus = values["VCPU"] if "VCPU" in values else container.get("vcpus") or 1
        memory = values["MEMORY"] if "MEMORY" in values else container.get("memory") or 0
        gpus = values.get("GPU") or 0
        return cls(vcpus=float(vcpus), memory=int(float(memory)), gpus=int(float(gpus)))


_ONE_VCPU = Demand(1.0, 0, 0)


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """The little the scheduler keeps in memory per waiting job."""

    job_id: str
    queue_arn: str
    seq: int
    demand: Demand


@dataclass(slots=True)
class Dependency:
    """One ``dependsOn`` entry: a job id, a type (``N_TO_N``, ``SEQUENTIAL``), or both."""

    job_id: str | None = None
    type: str | None = None

    @classmethod
    def of(cls, entry: JsonObject) -> Dependency:
        """The dependency of a ``dependsOn`` entry."""
        return cls(entry.get("jobId"), entry.get("type"))

    def to_document(self) -> JsonObject:
        """The ``dependsOn`` entry."""
        document: JsonObject = {}
        if self.job_id is not None:
            document["jobId"] = self.job_id
        if self.type is not None:
            document["type"] = self.type
        return document


@dataclass(slots=True)
class Attempt:
    """One finished attempt, as DescribeJobs lists it."""

    started_at: int
    stopped_at: int
    status_reason: str
    log_stream_name: str | None = None
    task_arn: str | None = None
    exit_code: int | None = None
    reason: str | None = None

    @classmethod
    def of(cls, document: JsonObject) -> Attempt:
        """The attempt of an ``attempts`` entry."""
        container = document.get("container") or {}
        return cls(
            document["startedAt"],
            document["stoppedAt"],
            document["statusReason"],
            container.get("logStreamName"),
            container.get("taskArn"),
            container.get("exitCode"),
            container.get("reason"),
        )

    def to_document(self) -> JsonObject:
        """The ``attempts`` entry."""
        container: JsonObject = {}
        for key, value in (
            ("logStreamName", self.log_stream_name),
            ("taskArn", self.task_arn),
            ("exitCode", self.exit_code),
            ("reason", self.reason),
        ):
            if value is not None:
                container[key] = value
        return {
            "container": container,
            "startedAt": self.started_at,
            "stoppedAt": self.stopped_at,
            "statusReason": self.status_reason,
        }


@dataclass(slots=True)
class ArrayProperties:
    """An array parent's ``size``, or a child's ``index`` (and its array's size, which the
    child keeps for its environment; DescribeJobs shows a child its ``index`` alone)."""

    size: int | None = None
    index: int | None = None
    status_summary: dict[str, int] | None = None

    def to_document(self, described: bool = False) -> JsonObject:
        """The ``arrayProperties`` as stored, or as DescribeJobs shows them."""
        if described and self.index is not None:
            return {"index": self.index}
        document: JsonObject = {}
        if self.size is not None:
            document["size"] = self.size
        if self.index is not None:
            document["index"] = self.index
        if self.status_summary is not None:
            document["statusSummary"] = self.status_summary
        return document


@dataclass(frozen=True, slots=True)
class NodeDetails:
    """Which node of its multi-node job a node job is."""

    node_index: int
    is_main_node: bool


@dataclass(frozen=True, slots=True)
class ArrayCancel:
    """A whole array cancelled (or terminated) at ``at``: every child not yet placed fails."""

    reason: str
    terminated: bool
    at: int


@dataclass(slots=True)
class ArrayState:
    """What an array parent records for its children: whether it was released (its own
    dependencies met, children free to run or wait on theirs) and whether it was cancelled."""

    released: bool = False
    released_at: int | None = None
    cancel: ArrayCancel | None = None

    @classmethod
    def of(cls, document: JsonObject) -> ArrayState:
        """The state stored under the parent's ``runtime["array"]``."""
        cancel = document.get("cancel")
        return cls(
            bool(document.get("released")),
            document.get("releasedAt"),
            ArrayCancel(cancel["reason"], cancel["flag"] == "isTerminated", cancel["at"])
            if cancel
            else None,
        )

    def to_document(self) -> JsonObject:
        """The stored form."""
        document: JsonObject = {}
        if self.released:
            document["released"] = True
        if self.released_at is not None:
            document["releasedAt"] = self.released_at
        if self.cancel is not None:
            flag = "isTerminated" if self.cancel.terminated else "isCancelled"
            document["cancel"] = {"reason": self.cancel.reason, "flag": flag, "at": self.cancel.at}
        return document


@dataclass(slots=True)
class JobRuntime:
    """The server-side facts of a job's current attempt: where it was placed, how to find its
    processes after a crash, since when it is RUNNABLE (a queue's time limit counts from
    there, across restarts), an array parent's :class:`ArrayState`, and the reason of a
    CancelJob that takes effect once the job's dependencies are resolved."""

    compute_environment_arn: str | None = None
    attempt_id: str | None = None
    identity: JsonObject | None = None
    started_at: int | None = None
    runnable_at: int | None = None
    array: ArrayState | None = None
    cancel_reason: str | None = None

    @classmethod
    def of(cls, document: JsonObject | None) -> JobRuntime:
        """The runtime of a stored ``runtime`` column."""
        if not document:
            return cls()
        array = document.get("array")
        return cls(
            document.get("computeEnvironmentArn"),
            document.get("attemptId"),
            document.get("identity"),
            document.get("startedAt"),
            document.get("runnableAt"),
            ArrayState.of(array) if array is not None else None,
            document.get("cancelReason"),
        )

    def to_document(self) -> JsonObject:
        """The stored form."""
        document: JsonObject = {}
        for key, value in (
            ("computeEnvironmentArn", self.compute_environment_arn),
            ("attemptId", self.attempt_id),
            ("identity", self.identity),
            ("startedAt", self.started_at),
            ("runnableAt", self.runnable_at),
            ("cancelReason", self.cancel_reason),
        ):
            if value is not None:
                document[key] = value
        if self.array is not None:
            document["array"] = self.array.to_document()
        return document


# Optional document members that are plain values or user documents passed on as they are.
_PASSED_ON = (
    ("retryStrategy", "retry_strategy"),
    ("timeout", "timeout"),
    ("schedulingPriority", "scheduling_priority"),
    ("shareIdentifier", "share_identifier"),
    ("nodeProperties", "node_properties"),
    ("consumableResourceProperties", "consumable_resource_properties"),
    ("statusReason", "status_reason"),
    ("startedAt", "started_at"),
    ("stoppedAt", "stopped_at"),
    ("isCancelled", "is_cancelled"),
    ("isTerminated", "is_terminated"),
)
# Members of a job's ``container`` block that belong to its current attempt.
_RUN_MEMBERS = ("logStreamName", "taskArn", "exitCode", "reason")


@dataclass(slots=True)
class Job:
    """A job: what DescribeJobs shows, its FIFO position ``seq`` and its ``runtime``.

    ``container`` holds the resolved container properties (what the attempt runs with) and
    the ``log_stream_name`` ... ``exit_reason`` fields what the current attempt left there.
    Only the transition table (``jobs/transitions.py``) changes ``status``. ``stored`` is
    False for an array child synthesized from its parent, or a node about to get its row:
    saving it creates the row.
    """

    job_id: str
    job_arn: str
    job_name: str
    job_queue: str
    job_definition: str
    status: JobStatus
    created_at: int
    account_id: str
    region: str
    seq: int
    attempts: list[Attempt] = field(default_factory=list)
    depends_on: list[Dependency] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    propagate_tags: bool = False
    platform_capabilities: list[str] = field(default_factory=lambda: ["EC2"])
    container: JsonObject | None = None
    log_stream_name: str | None = None
    task_arn: str | None = None
    exit_code: int | None = None
    exit_reason: str | None = None
    array_properties: ArrayProperties | None = None
    node_details: NodeDetails | None = None
    node_properties: JsonObject | None = None
    retry_strategy: JsonObject | None = None
    timeout: JsonObject | None = None
    scheduling_priority: int | None = None
    share_identifier: str | None = None
    consumable_resource_properties: JsonObject | None = None
    status_reason: str | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    is_cancelled: bool | None = None
    is_terminated: bool | None = None
    runtime: JobRuntime = field(default_factory=JobRuntime)
    stored: bool = True

    # -- what kind of job

    @property
    def array_size(self) -> int | None:
        """The size of an array parent, None for any other job."""
        array = self.array_properties
        return array.size if array is not None and array.index is None else None

    @property
    def is_multinode(self) -> bool:
        """Whether this is a whole multi-node job (not one of its nodes)."""
        return self.node_properties is not None and self.node_details is None

    @property
    def attempt_duration_seconds(self) -> int | None:
        """The attempt timeout, None without one."""
        return (self.timeout or {}).get("attemptDurationSeconds")

    def needs(self) -> tuple[tuple[str, int], ...]:
        """(consumable resource ARN, quantity) pairs one attempt of this job takes."""
        listed = (self.consumable_resource_properties or {}).get("consumableResourceList")
        prefix = f"arn:aws:batch:{self.region}:{self.account_id}:consumable-resource/"
        return tuple(
            (
                reference
                if (reference := str(item["consumableResource"])).startswith("arn:")
                else prefix + reference,
                int(item["quantity"]),
            )
            for item in listed or ()
        )

    def member(self, job_id: str, job_arn: str, status: JobStatus, **fields: Any) -> Job:
        """A job that belongs to this one (an array child, a node), not stored yet: it has
        this job's name, queue, definition, creation time, account, region and FIFO place,
        and the other ``fields`` given."""
        return Job(
            job_id,
            job_arn,
            self.job_name,
            self.job_queue,
            self.job_definition,
            status,
            self.created_at,
            self.account_id,
            self.region,
            self.seq,
            stored=False,
            **fields,
        )

    # -- storage

    @classmethod
    def from_document(
        cls,
        document: JsonObject,
        runtime: JsonObject | None,
        seq: int,
        account_id: str,
        region: str,
    ) -> Job:
        """The job stored as ``document`` and ``runtime`` (the one place that reads them)."""
        container = document.get("container")
        log_stream = task_arn = exit_code = exit_reason = None
        if container is not None and any(key in container for key in _RUN_MEMBERS):
            container = dict(container)
            log_stream = container.pop("logStreamName", None)
            task_arn = container.pop("taskArn", None)
            exit_code = container.pop("exitCode", None)
            exit_reason = container.pop("reason", None)
        array = document.get("arrayProperties")
        node = document.get("nodeDetails")
        job = cls(
            document["jobId"],
            document["jobArn"],
            document["jobName"],
            document["jobQueue"],
            document["jobDefinition"],
            JobStatus(document["status"]),
            document["createdAt"],
            account_id,
            region,
            seq,
            [Attempt.of(attempt) for attempt in document.get("attempts") or ()],
            [Dependency.of(entry) for entry in document.get("dependsOn") or ()],
            document.get("parameters") or {},
            document.get("tags") or {},
            bool(document.get("propagateTags")),
            document.get("platformCapabilities") or ["EC2"],
            container,
            log_stream,
            task_arn,
            exit_code,
            exit_reason,
            ArrayProperties(array.get("size"), array.get("index")) if array else None,
            NodeDetails(node["nodeIndex"], node["isMainNode"]) if node else None,
            runtime=JobRuntime.of(runtime),
        )
        for member, attribute in _PASSED_ON:
            value = document.get(member)
            if value is not None:
                setattr(job, attribute, value)
        return job

    def to_document(self) -> JsonObject:
        """The DescribeJobs document as stored (a fresh dict; nested user documents shared)."""
        document: JsonObject = {
            "jobArn": self.job_arn,
            "jobName": self.job_name,
            "jobId": self.job_id,
            "jobQueue": self.job_queue,
            "status": str(self.status),
            "attempts": [attempt.to_document() for attempt in self.attempts],
            "createdAt": self.created_at,
            "dependsOn": [dependency.to_document() for dependency in self.depends_on],
            "jobDefinition": self.job_definition,
            "parameters": self.parameters,
            "tags": self.tags,
            "propagateTags": self.propagate_tags,
            "platformCapabilities": self.platform_capabilities,
        }
        if self.container is not None:
            container = dict(self.container)
            for key, value in (
                ("logStreamName", self.log_stream_name),
                ("taskArn", self.task_arn),
                ("exitCode", self.exit_code),
                ("reason", self.exit_reason),
            ):
                if value is not None:
                    container[key] = value
            document["container"] = container
        if self.array_properties is not None:
            document["arrayProperties"] = self.array_properties.to_document()
        if self.node_details is not None:
            document["nodeDetails"] = {
                "nodeIndex": self.node_details.node_index,
                "isMainNode": self.node_details.is_main_node,
            }
        for member, attribute in _PASSED_ON:
            value = getattr(self, attribute)
            if value is not None:
                document[member] = value
        return document

    def describe(self) -> JsonObject:
        """The job as DescribeJobs and the ``batch.job`` events show it."""
        document = self.to_document()
        if self.array_properties is not None:
            document["arrayProperties"] = self.array_properties.to_document(described=True)
        return document

    def snapshot(self) -> Job:
        """A copy that later changes to this job do not reach (what a change announces)."""
        copy = Job.__new__(Job)
        for name in _FIELDS:
            setattr(copy, name, getattr(self, name))
        copy.attempts = list(self.attempts)
        if self.array_properties is not None:
            properties = self.array_properties
            copy.array_properties = ArrayProperties(
                properties.size, properties.index, properties.status_summary
            )
        return copy


_FIELDS = tuple(Job.__dataclass_fields__)
