"""AWS Batch: the facade of compute environments, job queues, job definitions, scheduling
policies, consumable resources, tags and jobs.

Every operation of the API, and what other services need (submitting a job once for a
Step Functions task, describing and terminating a job), is a method of :class:`Batch`, taking
the caller first: resources and jobs are created, found and listed in the caller's account and
region only. The rest of this package is its private implementation: ``resources`` (what each
resource operation does in the store), ``jobs`` (the typed job core and its one transition
table), ``scheduler`` (placing jobs and running their attempts).

Job state changes and blocked queues are announced on the bus (topics and payloads in
``batch/events.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.clock import now_ms
from batchyard.aws.documents import JsonObject
from batchyard.aws.lifecycle import Family, Settler, Status
from batchyard.batch import events
from batchyard.batch.errors import PAGER, TAG_RULES, client_error, page_size
from batchyard.batch.events import RESOURCES_TOPIC
from batchyard.batch.jobs import queries, records, submit
from batchyard.batch.jobs.attempts import (
    AccessFor,
    AttemptServices,
    JobLogs,
    output_callback,
)
from batchyard.batch.jobs.model import JOB_ID_PATTERN, Job, JobStatus, host_lost_reason
from batchyard.batch.jobs.queries import Filters, JobSummary, ResourceJobSummary
from batchyard.batch.jobs.retention import JobRetention
from batchyard.batch.jobs.submit import JobRequest, Sequencer
from batchyard.batch.jobs.transitions import JobLifecycle
from batchyard.batch.resources import (
    compute_environments,
    consumable_resources,
    environment_rules,
    job_definitions,
    job_queues,
    scheduling_policies,
)
from batchyard.batch.resources import store as resource_store
from batchyard.batch.resources.compute_environments import (
    EnvironmentChange,
    NewComputeEnvironment,
)
from batchyard.batch.resources.job_queues import NewJobQueue, QueueChange
from batchyard.batch.resources.model import (
    COMPUTE_ENVIRONMENT,
    CONSUMABLE_RESOURCE,
    JOB,
    JOB_DEFINITION,
    JOB_QUEUE,
    SCHEDULING_POLICY,
    ComputeEnvironment,
    ConsumableResource,
    ConsumableType,
    JobDefinition,
    JobQueue,
    Named,
    Page,
    SchedulingPolicy,
)
from batchyard.batch.resources.store import ResourceTags
from batchyard.batch.scheduler.dispatcher import Scheduler, recover
from batchyard.batch.scheduler.policies import SchedulingPolicies
from batchyard.batch.secrets import LocalSecrets
from batchyard.bus import Bus
from batchyard.compute.provider import LaunchError, RunningAttempt
from batchyard.compute.providers import DEFAULT_CLUSTER, ProviderKind, Providers
from batchyard.compute.ray import ClusterStatus
from batchyard.store import Store

# GetJobQueueSnapshot's front of the queue, and the console's 20 busiest shares.
SNAPSHOT_SIZE = 100
TOP_SHARES = 20
# CancelJobs / TerminateJobs take up to 50 jobs; a reason is at most 1024 characters.
MAX_BULK_JOBS = 50
MAX_REASON = 1024
# clientToken of recent UpdateConsumableResource calls; AWS honours a token for 8 hours.
TOKEN_SECONDS = 8 * 3600
MAX_TOKENS = 10_000

Settled = tuple[str, resource_store.Settling]
log = logging.getLogger(__name__)
# How long start-up waits for a Ray cluster that has attempts to take over.
RAY_REATTACH_SECONDS = 60.0
E = TypeVar("E", ComputeEnvironment, JobQueue)


@dataclass(frozen=True, slots=True)
class Tags:
    """ListTagsForResource's answer."""

    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class JobError:
    """A job a CancelJobs or TerminateJobs request could not act on, with why (``code`` as
    AWS names it: ``ValidationException`` for a malformed job id)."""

    job: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BulkResult:
    """CancelJobs' and TerminateJobs' answer: the job ids whose request was accepted (unknown
    ones included, as AWS treats them) and the others' errors, in request order."""

    successful: list[str]
    errors: list[JobError]


@dataclass(frozen=True, slots=True)
class JobQueueSnapshot:
    """A queue as GetJobQueueSnapshot shows it at ``at``: its first RUNNABLE jobs in dispatch
    order, (job ARN, since when it holds its place), the vCPUs its placed jobs hold, and for a
    fair-share queue the number of active shares and the busiest ones (share, vCPUs held)."""

    at: int
    front: list[tuple[str, int]]
    vcpus_in_use: float
    active_shares: int | None = None
    busiest_shares: list[tuple[str, float]] | None = None


class Batch:
    """AWS Batch over one store, running attempts on ``providers`` (each compute environment
    on the one its tags choose) with the keys ``access`` gives their account, writing their
    output to ``logs``."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        logs: JobLogs,
        providers: Providers,
        *,
        access: AccessFor = lambda _owner: None,
        time_scale: float,
        retention_seconds: float,
        secrets_file: Path,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be greater than 0")
        self._store = store
        self._bus = bus
        self._providers = providers
        self._logs = logs
        self._tags = ResourceTags(
            {
                COMPUTE_ENVIRONMENT: compute_environments.exists,
                JOB_QUEUE: job_queues.exists,
                JOB_DEFINITION: job_definitions.exists,
                SCHEDULING_POLICY: scheduling_policies.exists,
                CONSUMABLE_RESOURCE: consumable_resources.exists,
                JOB: lambda conn, caller, arn: records.exists(conn, arn.rsplit("/", 1)[-1], caller),
            }
        )
        self._settler: Settler[Settled] = Settler(store, self._settled)
        settle = partial(resource_store.settle, tags=self._tags)
        self._settler.add_family(
            COMPUTE_ENVIRONMENT,
            Family(
                partial(settle, kind=compute_environments.KIND, health=environment_rules.health),
                compute_environments.pending,
            ),
        )
        self._settler.add_family(
            JOB_QUEUE,
            Family(
                partial(settle, kind=job_queues.KIND, health=job_queues.health),
                job_queues.pending,
            ),
        )
        self._lifecycle = JobLifecycle(store, bus)
        self._policies = SchedulingPolicies(store, self._lifecycle, time_scale)
        self._scheduler = Scheduler(
            AttemptServices(
                store,
                self._lifecycle,
                providers,
                logs,
                self._tags,
                LocalSecrets(secrets_file),
                time_scale,
                access,
            ),
            ordering=self._policies.ordering,
        )
        self._policies.attach(self._scheduler.wake)
        providers.watch(partial(self._scheduler.resources_changed, RESOURCES_TOPIC, {}))
        self._retention = JobRetention(store, self._tags, retention_seconds, time_scale)
        self._sequencer = Sequencer()
        self._update_tokens: OrderedDict[str, tuple[float, tuple[str, str, int], Named]] = (
            OrderedDict()
        )
        self._unsubscribe = [
            bus.subscribe(RESOURCES_TOPIC, self._scheduler.resources_changed),
            bus.subscribe(RESOURCES_TOPIC, self._policies.resources_changed),
        ]

    # -- life cycle

    async def start(self) -> None:
        """Settle what a previous server left behind, then start scheduling.

        Queued jobs are picked up where they were; attempts still running in a container or on
        a Ray cluster are taken over; the other attempts that were running when the server
        died are failed with a host-lost reason and retried when their strategy allows;
        resources left CREATING, UPDATING or DELETING settle.
        """
        await self._providers.open()
        resumed = await self._reattach()
        await self._lifecycle.write(
            partial(
                recover, self._providers.reap, host_lost_reason(), {j.job_id for j, _ in resumed}
            )
        )
        await asyncio.to_thread(self._providers.sweep)
        await self._policies.start()
        await self._scheduler.start(resumed)
        self._retention.sweeper.start()
        await self._settler.recover()

    async def _reattach(self) -> list[tuple[Job, RunningAttempt]]:
        """The RUNNING jobs whose attempts (containers, Ray tasks) outlived the last server,
        attached to again: their output continues after the lines already stored, and their
        end is their own."""
        running = await self._store.read(lambda c: records.in_statuses(c, [JobStatus.RUNNING]))
        resumed: list[tuple[Job, RunningAttempt]] = []
        for job in running:
            # A node's attempt ends with its job's: multi-node jobs are recovered whole.
            if job.node_details is None:
                attempt = await self._reattach_one(job)
                if attempt is not None:
                    log.info("re-attached to the attempt of job %s", job.job_id)
                    resumed.append((job, attempt))
        return resumed

    async def _reattach_one(self, job: Job) -> RunningAttempt | None:
        identity = dict(job.runtime.identity or {})
        on_line, owner, group, stream = output_callback(self._logs, job)
        kind = identity.get("provider") or ProviderKind.LOCAL
        if kind == ProviderKind.LOCAL:
            # Local processes die with the server; one that ended first recorded its exit.
            return await self._providers.local.reattach(identity, on_line, 0)
        if kind == ProviderKind.CONTAINER and self._providers.container is not None:
            # The first stored line is batchyard's own, not the attempt's.
            delivered = max(await self._logs.stored_lines(owner, group, stream) - 1, 0)
            return await self._providers.container.reattach(identity, on_line, delivered)
        cluster = self._providers.ray.get(str(identity.get("cluster") or DEFAULT_CLUSTER))
        if kind == ProviderKind.RAY and cluster is not None:
            # The cluster's supervisor kept the attempt and the output no driver took yet.
            health = await cluster.connect(timeout=RAY_REATTACH_SECONDS)
            if health.status is ClusterStatus.VALID:
                delivered = max(await self._logs.stored_lines(owner, group, stream) - 1, 0)
                with contextlib.suppress(LaunchError):
                    return await cluster.reattach(identity, on_line, delivered)
        return None

    async def stop(self, keep_attempts: bool = True) -> None:
        """Let resource changes in flight commit, stop purging finished jobs, scheduling and
        the attempts on this host (start-up recovery settles their jobs); attempts that can
        outlive the server (containers, Ray tasks) are left running for the next one unless
        ``keep_attempts`` is False, when they are killed too."""
        await self._settler.drain()
        await self._retention.sweeper.stop()
        await self._scheduler.stop(keep_attempts)
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    async def settled(self) -> None:
        """Wait until the resource status changes under way (CREATING -> VALID ...) are
        committed and announced."""
        await self._settler.drain()

    def _changed(
        self,
        resource: str,
        action: str,
        entity: resource_store.Named,
    ) -> None:
        state = getattr(entity, "state", None)
        status = getattr(entity, "status", None)
        revision = getattr(entity, "revision", None)
        events.resource_changed(
            self._bus,
            resource,
            action,
            entity.name,
            entity.arn,
            state=str(state) if state is not None else None,
            status=str(status) if status is not None else None,
            revision=revision,
        )

    def _settled(self, resource: str, outcome: Settled) -> None:
        action, entity = outcome
        self._changed(resource, action, entity)

    async def _settling(self, resource: str, action: str, change: Callable[[Connection], E]) -> E:
        """Commit ``change`` of a resource whose status settles, announce it, and settle it in
        the background."""
        changed = await self._store.write(change)
        self._changed(resource, action, changed)
        self._settler.schedule(resource, changed.arn)
        return changed

    # -- compute environments

    async def create_compute_environment(
        self, caller: Caller, request: NewComputeEnvironment
    ) -> ComputeEnvironment:
        """Create a compute environment, CREATING until it settles."""
        environment = compute_environments.new(caller, request)
        return await self._settling(
            COMPUTE_ENVIRONMENT,
            "created",
            lambda conn: compute_environments.insert(
                conn, caller, environment, self._tags, request.tags or {}
            ),
        )

    async def update_compute_environment(
        self, caller: Caller, reference: str, change: EnvironmentChange
    ) -> ComputeEnvironment:
        """Change a compute environment, UPDATING until it settles."""
        return await self._settling(
            COMPUTE_ENVIRONMENT,
            "updated",
            lambda conn: compute_environments.update(conn, caller, reference, change),
        )

    async def delete_compute_environment(self, caller: Caller, reference: str) -> None:
        """Delete a DISABLED compute environment no queue uses (DELETING, then gone)."""
        await self._settling(
            COMPUTE_ENVIRONMENT,
            "updated",
            lambda conn: compute_environments.delete(conn, caller, reference),
        )

    async def describe_compute_environments(
        self,
        caller: Caller,
        references: list[str] | None,
        max_results: int | None,
        next_token: str | None,
    ) -> Page[ComputeEnvironment]:
        """The named compute environments (all when None), a page at a time, with tags;
        a settled one says where its attempts run, and is INVALID while its provider is
        missing or unreachable."""
        size = page_size(max_results)
        page = await self._store.read(
            lambda conn: resource_store.describe(
                conn, compute_environments.KIND, caller, references, next_token, size, self._tags
            )
        )
        for environment in page.items:
            self._report_backing(environment)
        return page

    def _report_backing(self, environment: ComputeEnvironment) -> None:
        # Whether a provider answers changes without any write, so it is read at each look.
        if environment.status is not Status.VALID:
            return
        backing = self._providers.backing(environment.tags or {})
        if backing.problem is not None:
            environment.status = Status.INVALID
            environment.status_reason = backing.problem
        elif environment.status_reason == environment_rules.HEALTHY:
            environment.status_reason = (
                f"{environment_rules.HEALTHY}; each attempt runs as {backing.where}"
            )

    # -- job queues

    async def create_job_queue(self, caller: Caller, request: NewJobQueue) -> JobQueue:
        """Create a job queue, CREATING until it settles."""
        job_queues.check_new(request)
        return await self._settling(
            JOB_QUEUE, "created", lambda conn: job_queues.insert(conn, caller, request, self._tags)
        )

    async def update_job_queue(
        self, caller: Caller, reference: str, change: QueueChange
    ) -> JobQueue:
        """Change a job queue, UPDATING until it settles."""
        return await self._settling(
            JOB_QUEUE, "updated", lambda conn: job_queues.update(conn, caller, reference, change)
        )

    async def delete_job_queue(self, caller: Caller, reference: str) -> None:
        """Delete a DISABLED job queue (DELETING, then gone)."""
        await self._settling(
            JOB_QUEUE, "updated", lambda conn: job_queues.delete(conn, caller, reference)
        )

    async def describe_job_queues(
        self,
        caller: Caller,
        references: list[str] | None,
        max_results: int | None,
        next_token: str | None,
    ) -> Page[JobQueue]:
        """The named job queues (all when None), a page at a time, with tags."""
        size = page_size(max_results)
        return await self._store.read(
            lambda conn: resource_store.describe(
                conn, job_queues.KIND, caller, references, next_token, size, self._tags
            )
        )

    async def get_job_queue_snapshot(self, caller: Caller, reference: str) -> JobQueueSnapshot:
        """The first 100 RUNNABLE jobs of a queue in dispatch order and what it uses now."""
        queue = await self._store.read(lambda conn: job_queues.get(conn, caller, reference))
        if queue is None:
            raise client_error(f"Job Queue {reference} does not exist.")
        policies = self._policies
        snapshot = JobQueueSnapshot(
            now_ms(),
            [
                (caller.arn("batch", f"job/{job.job_id}"), policies.position_since(queue.arn, job))
                for job in self._scheduler.front_of_queue(queue.arn, SNAPSHOT_SIZE)
            ],
            self._scheduler.vcpus_in_use(queue.arn),
        )
        if policies.setting(queue.arn).policy is None:
            return snapshot
        active, used = policies.share_utilization(queue.arn)
        return replace(snapshot, active_shares=active, busiest_shares=used[:TOP_SHARES])

    # -- job definitions

    async def register_job_definition(
        self, caller: Caller, request: JobDefinition
    ) -> JobDefinition:
        """Register the next revision of a job definition."""
        definition = job_definitions.check(request)
        await self._store.write(
            lambda conn: job_definitions.register(
                conn, caller, definition, self._tags, request.tags or {}
            )
        )
        self._changed(JOB_DEFINITION, "registered", definition)
        return definition

    async def deregister_job_definition(self, caller: Caller, reference: str) -> None:
        """Make one revision (``name:revision`` or ARN) INACTIVE."""
        definition = await self._store.write(
            lambda conn: job_definitions.deregister(conn, caller, reference)
        )
        self._changed(JOB_DEFINITION, "deregistered", definition)

    async def describe_job_definitions(
        self,
        caller: Caller,
        references: list[str] | None,
        name: str | None,
        status: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> Page[JobDefinition]:
        """Job definitions by reference, by name, by status, a page at a time."""
        size = page_size(max_results)
        return await self._store.read(
            lambda conn: job_definitions.describe(
                conn, caller, references, name, status, next_token, size, self._tags
            )
        )

    # -- scheduling policies

    async def create_scheduling_policy(
        self,
        caller: Caller,
        name: str,
        fairshare_policy: JsonObject | None,
        quota_share_policy: JsonObject | None,
        tags: dict[str, str] | None,
    ) -> SchedulingPolicy:
        """Create a fair-share (or quota-share) scheduling policy."""
        policy = scheduling_policies.new(
            caller, name, fairshare_policy, quota_share_policy, tags or {}
        )
        await self._store.write(
            lambda conn: scheduling_policies.insert(conn, caller, policy, self._tags, tags or {})
        )
        self._changed(SCHEDULING_POLICY, "created", policy)
        return policy

    async def update_scheduling_policy(
        self,
        caller: Caller,
        arn: str,
        fairshare_policy: JsonObject | None,
        quota_share_policy: JsonObject | None,
    ) -> None:
        """Replace a scheduling policy's body."""
        fairshare, quota_share = scheduling_policies.body(fairshare_policy, quota_share_policy)
        policy = await self._store.write(
            lambda conn: scheduling_policies.update(conn, caller, arn, fairshare, quota_share)
        )
        self._changed(SCHEDULING_POLICY, "updated", policy)

    async def delete_scheduling_policy(self, caller: Caller, arn: str) -> None:
        """Delete a scheduling policy no job queue uses."""
        policy = await self._store.write(
            lambda conn: scheduling_policies.delete(conn, caller, arn, self._tags)
        )
        self._changed(SCHEDULING_POLICY, "deleted", policy)

    async def describe_scheduling_policies(
        self, caller: Caller, arns: list[str]
    ) -> Page[SchedulingPolicy]:
        """The named scheduling policies that exist, with tags."""
        policies = await self._store.read(
            lambda conn: scheduling_policies.describe(conn, caller, arns, self._tags)
        )
        return Page(policies)

    async def list_scheduling_policies(
        self, caller: Caller, max_results: int | None, next_token: str | None
    ) -> Page[SchedulingPolicy]:
        """The ARNs of the caller's scheduling policies, a page at a time."""
        size = page_size(max_results, limit=1000)
        return await self._store.read(
            lambda conn: scheduling_policies.list_page(conn, caller, next_token, size)
        )

    # -- consumable resources

    def _consumable(self, caller: Caller, reference: str) -> ConsumableResource:
        arn = consumable_resources.arn_of(caller, reference)
        resource = self._policies.pool.resources.get(arn)
        if resource is None or not caller.owns(arn):
            raise consumable_resources.missing(reference)
        return resource

    async def create_consumable_resource(
        self,
        caller: Caller,
        name: str,
        resource_type: str | None,
        total_quantity: int | None,
        tags: dict[str, str] | None,
    ) -> ConsumableResource:
        """Create a consumable resource of ``total_quantity`` units."""
        kind = resource_type or ConsumableType.REPLENISHABLE
        total = total_quantity or 0
        consumable_resources.check_new(name, kind, total)
        TAG_RULES.check(consumable_resources.arn_of(caller, name), tags or {})

        def write(conn: Connection) -> ConsumableResource:
            resource = consumable_resources.insert(
                conn, caller, name, ConsumableType(kind), total, now_ms()
            )
            self._tags.add(conn, resource.arn, tags or {})
            return resource

        resource = await self._store.write(write)
        self._policies.pool.put(resource)
        self._policies.wake()
        return resource

    async def describe_consumable_resource(
        self, caller: Caller, reference: str
    ) -> ConsumableResource:
        """A consumable resource's quantities as of now, and its tags."""
        resource = self._consumable(caller, reference)
        found = await self._store.read(lambda conn: self._tags.get(conn, resource.arn))
        return replace(resource, tags=found)

    async def list_consumable_resources(
        self,
        caller: Caller,
        filters: Filters,
        max_results: int | None,
        next_token: str | None,
    ) -> Page[ConsumableResource]:
        """The caller's consumable resources by creation, filtered by name."""
        size = page_size(max_results)
        listing = "ListConsumableResources"
        after = PAGER.decode_int(listing, next_token)
        patterns: list[str] = []
        for name, values in filters:
            if name != consumable_resources.NAME_FILTER:
                raise client_error(
                    f"Invalid filter name {name}; use {consumable_resources.NAME_FILTER}."
                )
            patterns.extend(values)
        resources = sorted(
            (r for r in self._policies.pool.resources.values() if caller.owns(r.arn)),
            key=lambda r: r.generation,
        )
        rows = [
            (r.generation, r)
            for r in resources
            if (after is None or r.generation > after)
            and (not patterns or consumable_resources.matches(r.name, patterns))
        ][: size + 1]
        page, token = PAGER.keyed_page(listing, rows, size)
        return Page(page, token)

    async def update_consumable_resource(
        self,
        caller: Caller,
        reference: str,
        operation: str | None,
        quantity: int | None,
        client_token: str | None,
    ) -> Named:
        """SET, ADD or REMOVE units (idempotent per ``client_token``)."""
        operation = operation or "SET"
        quantity = consumable_resources.check_update(operation, quantity)
        request = (reference, operation, quantity)
        now = time.monotonic()
        if client_token is not None:
            seen = self._update_tokens.get(client_token)
            if seen is not None and now - seen[0] < TOKEN_SECONDS:
                if seen[1] != request:
                    raise client_error(
                        f"clientToken {client_token} was used with a different request."
                    )
                return seen[2]
        resource = self._consumable(caller, reference)
        total = consumable_resources.new_total(resource, operation, quantity)
        totals = [(resource.arn, resource.generation, total)]
        await self._store.write(lambda conn: consumable_resources.set_totals(conn, totals))
        resource.total = total
        self._policies.wake()
        answer = Named(resource.name, resource.arn, total_quantity=resource.reported_total)
        if client_token is not None:
            self._update_tokens[client_token] = (now, request, answer)
            while len(self._update_tokens) > MAX_TOKENS:
                self._update_tokens.popitem(last=False)
        return answer

    async def delete_consumable_resource(self, caller: Caller, reference: str) -> None:
        """Delete a consumable resource; jobs holding it keep what they took."""
        resource = self._consumable(caller, reference)

        def write(conn: Connection) -> None:
            consumable_resources.delete(conn, resource.arn)
            self._tags.drop(conn, resource.arn)

        await self._store.write(write)
        self._policies.pool.drop(resource.arn)

    async def list_jobs_by_consumable_resource(
        self,
        caller: Caller,
        reference: str,
        filters: Filters,
        max_results: int | None,
        next_token: str | None,
    ) -> Page[ResourceJobSummary]:
        """The jobs asking for a consumable resource that exists now."""
        resource = self._consumable(caller, reference)
        found, token = await self._store.read(
            lambda conn: queries.jobs_by_resource(
                conn, caller, resource.name, filters, max_results, next_token
            )
        )
        return Page(found, token)

    # -- tags

    async def tag_resource(self, caller: Caller, arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags on a taggable resource of the caller's."""
        TAG_RULES.check(arn, tags)

        def write(conn: Connection) -> None:
            self._tags.require_taggable(conn, caller, arn)
            self._tags.add(conn, arn, tags)

        await self._store.write(write)
        self._retagged(arn)

    async def untag_resource(self, caller: Caller, arn: str, keys: list[str]) -> None:
        """Remove tags by key."""
        for key in keys:
            TAG_RULES.check_key(key)

        def write(conn: Connection) -> None:
            self._tags.require_taggable(conn, caller, arn)
            self._tags.remove(conn, arn, keys)

        await self._store.write(write)
        self._retagged(arn)

    def _retagged(self, arn: str) -> None:
        # An environment's tags choose its provider: the scheduler plans with them.
        if ":compute-environment/" in arn:
            self._scheduler.resources_changed(RESOURCES_TOPIC, {"arn": arn})

    async def list_tags_for_resource(self, caller: Caller, arn: str) -> Tags:
        """A taggable resource's tags."""

        def read(conn: Connection) -> dict[str, str]:
            self._tags.require_taggable(conn, caller, arn)
            return self._tags.get(conn, arn)

        return Tags(await self._store.read(read))

    # -- jobs

    async def submit_job(
        self, caller: Caller, request: JobRequest, job_id: str | None = None
    ) -> Job:
        """Accept a job in SUBMITTED (as ``job_id`` when given); the scheduler takes it from
        there."""
        def write(conn: Connection) -> Job:
            job = submit.build(conn, caller, request, self._sequencer, job_id)
            submit.store(conn, job, self._tags)
            return job

        job = await self._store.write(write)
        self._scheduler.submitted(job.job_id)
        return job

    async def submit_job_once(self, caller: Caller, request: JobRequest, job_id: str) -> Job:
        """The job ``job_id``: the one already stored (described), or a new one submitted
        with ``request`` (a Step Functions task resumed after a restart re-attaches to the
        job it submitted)."""
        def write(conn: Connection) -> tuple[Job, bool]:
            existing = queries.describe(conn, caller, [job_id], self._tags)
            if existing:
                return existing[0], False
            job = submit.build(conn, caller, request, self._sequencer, job_id)
            submit.store(conn, job, self._tags)
            return job, True

        job, created = await self._store.write(write)
        if created:
            self._scheduler.submitted(job.job_id)
        return job

    async def describe_jobs(self, caller: Caller, job_ids: list[str]) -> list[Job]:
        """The caller's jobs among ``job_ids`` (up to 100), in request order, with their
        current tags; :meth:`Job.describe` gives each as DescribeJobs shows it."""
        return await self._store.read(
            lambda conn: queries.describe(conn, caller, job_ids, self._tags)
        )

    async def job_counts(self) -> list[tuple[str, str, int]]:
        """How many stored jobs each queue has in each status, over every account and region:
        ``(queue ARN, status, count)``, for the server's metrics."""
        return await self._store.read(queries.counts)

    async def describe_job(self, caller: Caller, job_id: str) -> Job | None:
        """The caller's job ``job_id``, None when there is none."""
        found = await self.describe_jobs(caller, [job_id])
        return found[0] if found else None

    async def list_jobs(
        self,
        caller: Caller,
        *,
        job_queue: str | None = None,
        array_job_id: str | None = None,
        multi_node_job_id: str | None = None,
        job_status: JobStatus | None = None,
        filters: Filters | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> Page[JobSummary]:
        """One page of a queue's jobs (or an array's children, a multi-node job's nodes)."""
        found, token = await self._store.read(
            lambda conn: queries.list_jobs(
                conn,
                caller,
                job_queue,
                array_job_id,
                multi_node_job_id,
                job_status,
                filters or [],
                max_results,
                next_token,
            )
        )
        return Page(found, token)

    async def cancel_job(self, caller: Caller, job_id: str, reason: str) -> None:
        """Fail a job that has not reached STARTING; placed jobs are left alone. A job still
        waiting on unfinished dependencies fails once they are resolved. As on AWS, a job
        that is not found (another account's included) is answered like one that is."""
        _check_reason(reason)
        if await self._job_exists(caller, job_id):
            await self._scheduler.cancel([job_id], reason, terminate=False)

    async def terminate_job(self, caller: Caller, job_id: str, reason: str) -> None:
        """Fail a job, stopping its attempt if it is already on the host; a job that is not
        found is answered like one that is, as on AWS."""
        _check_reason(reason)
        if await self._job_exists(caller, job_id):
            await self._scheduler.cancel([job_id], reason, terminate=True)

    async def cancel_jobs(self, caller: Caller, job_ids: list[str], reason: str) -> BulkResult:
        """CancelJob of up to 50 jobs at once, each reported on its own."""
        return await self._stop_many(caller, job_ids, reason, terminate=False)

    async def terminate_jobs(self, caller: Caller, job_ids: list[str], reason: str) -> BulkResult:
        """TerminateJob of up to 50 jobs at once, each reported on its own."""
        return await self._stop_many(caller, job_ids, reason, terminate=True)

    async def _job_exists(self, caller: Caller, job_id: str) -> bool:
        found: bool = await self._store.read(lambda conn: records.exists(conn, job_id, caller))
        return found

    async def _stop_many(
        self, caller: Caller, job_ids: list[str], reason: str, *, terminate: bool
    ) -> BulkResult:
        """Cancel or terminate the caller's jobs among ``job_ids`` in one store write.

        Like AWS, a job that is not found (another account's or region's included, so their
        existence does not show) counts as processed; a malformed id is a
        ``ValidationException`` of its own; a job id given twice is reported once.
        """
        if len(job_ids) > MAX_BULK_JOBS:
            verb = "terminated" if terminate else "cancelled"
            raise client_error(f"A maximum of {MAX_BULK_JOBS} jobs can be {verb} at once.")
        _check_reason(reason)
        wanted = list(dict.fromkeys(job_ids))
        errors = [
            JobError(job_id, "ValidationException", f"Job ID {job_id} is not valid.")
            for job_id in wanted
            if JOB_ID_PATTERN.fullmatch(job_id) is None
        ]
        refused = {error.job for error in errors}
        valid = [job_id for job_id in wanted if job_id not in refused]
        found = await self._store.read(lambda conn: records.load_many(conn, valid, caller))
        existing = [job_id for job_id in valid if job_id in found]
        if existing:
            await self._scheduler.cancel(existing, reason, terminate=terminate)
        return BulkResult(valid, errors)


def _check_reason(reason: str) -> None:
    if len(reason) > MAX_REASON:
        raise client_error(f"reason must be at most {MAX_REASON} characters.")
