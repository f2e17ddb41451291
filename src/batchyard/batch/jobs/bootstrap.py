"""Start and stop the job machinery of a server: recovery, the scheduler, the provider."""

from __future__ import annotations

from functools import partial

from batchyard.batch.jobs import events, records
from batchyard.batch.jobs.attempts import AttemptServices
from batchyard.batch.jobs.model import host_lost_reason
from batchyard.batch.jobs.retention import JobRetention
from batchyard.batch.resources import tags
from batchyard.batch.resources.events import TOPIC as RESOURCES_TOPIC
from batchyard.batch.scheduler.dispatcher import Scheduler, recover
from batchyard.batch.scheduler.policies import SchedulingPolicies
from batchyard.compute.local import LocalProvider
from batchyard.logs import Logs
from batchyard.runtime import Runtime
from batchyard.secrets.local_file import LocalSecrets


async def start_jobs(runtime: Runtime) -> None:
    """Settle attempts a previous server left behind, then start scheduling.

    Queued jobs are picked up where they were; attempts that were running when the server
    died are failed with a host-lost reason and retried when their strategy allows.
    """
    settings = runtime.settings
    if settings.time_scale <= 0:
        raise ValueError("time_scale must be greater than 0")
    provider = LocalProvider(settings.data_dir / "attempts")
    services = AttemptServices(
        store=runtime.store,
        bus=runtime.bus,
        provider=provider,
        sink=runtime.get(Logs),
        time_scale=settings.time_scale,
        task_arn_prefix=runtime.arn("ecs", "task/batchyard/"),
        secrets=LocalSecrets(settings.resolved_secrets_file),
    )
    snapshots = await runtime.store.write(
        partial(recover, reap=provider.reap, reason=host_lost_reason())
    )
    provider.sweep()
    events.publish(runtime.bus, snapshots)
    tags.register_taggable("job", lambda conn, arn: records.exists(conn, arn.rsplit("/", 1)[-1]))
    policies = runtime.add(SchedulingPolicies(runtime))
    await policies.start()
    scheduler = runtime.add(Scheduler(services, ordering=policies.ordering))
    policies.attach(scheduler.wake)
    runtime.bus.subscribe(RESOURCES_TOPIC, scheduler.resources_changed)
    await scheduler.start()
    retention = runtime.add(
        JobRetention(runtime.store, settings.job_retention_days * 86400, settings.time_scale)
    )
    retention.sweeper.start()


async def stop_jobs(runtime: Runtime) -> None:
    """Stop purging finished jobs, scheduling and the attempts on this host."""
    await runtime.get(JobRetention).sweeper.stop()
    await runtime.get(Scheduler).stop()
