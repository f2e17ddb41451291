"""Job operation handlers: submit, describe, list, cancel, terminate, queue snapshot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from batchyard.batch.jobs import queries, submit
from batchyard.batch.jobs.attempts import now_ms
from batchyard.batch.jobs.bootstrap import start_jobs, stop_jobs
from batchyard.batch.queue_health.snapshot import fairshare_utilization
from batchyard.batch.resources import job_queues
from batchyard.batch.resources.names import client_error
from batchyard.batch.scheduler.dispatcher import Scheduler
from batchyard.batch.scheduler.policies import SchedulingPolicies
from batchyard.batch.service import api
from batchyard.protocol.legacy import RequestContext

api.on_startup(start_jobs)
api.on_shutdown(stop_jobs)
_sequencer = submit.Sequencer()


@api.operation("SubmitJob")
async def submit_job(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Accept a job in SUBMITTED; the scheduler takes it from there."""
    arn_prefix = ctx.runtime.arn("batch", "")

    def write(conn: Connection) -> submit.NewJob:
        job = submit.build(conn, params, arn_prefix=arn_prefix, sequencer=_sequencer)
        submit.store(conn, job)
        return job

    job = await ctx.runtime.store.write(write)
    ctx.runtime.get(Scheduler).submitted(job.document["jobId"])
    return {k: job.document[k] for k in ("jobArn", "jobName", "jobId")}


@api.operation("DescribeJobs")
async def describe_jobs(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Full details of up to 100 jobs."""
    found = await ctx.runtime.store.read(lambda conn: queries.describe(conn, params["jobs"]))
    return {"jobs": found}


@api.operation("ListJobs")
async def list_jobs(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """One page of a queue's jobs by status or filter."""
    return await ctx.runtime.store.read(lambda conn: queries.list_jobs(conn, params))


async def _stop(ctx: RequestContext, params: dict[str, Any], *, terminate: bool) -> dict[str, Any]:
    found = await ctx.runtime.get(Scheduler).cancel(
        params["jobId"], params["reason"], terminate=terminate
    )
    if not found:
        raise client_error(f"Job {params['jobId']} does not exist.")
    return {}


@api.operation("CancelJob")
async def cancel_job(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Fail a job that has not reached STARTING; placed jobs are left alone."""
    return await _stop(ctx, params, terminate=False)


@api.operation("TerminateJob")
async def terminate_job(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Fail a job, stopping its attempt if it is already on the host."""
    return await _stop(ctx, params, terminate=True)


SNAPSHOT_SIZE = 100


@api.operation("GetJobQueueSnapshot")
async def get_job_queue_snapshot(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The first 100 RUNNABLE jobs in dispatch order and the vCPUs the queue uses now."""
    queue = await ctx.runtime.store.read(lambda conn: job_queues.get(conn, params["jobQueue"]))
    if queue is None:
        raise client_error(f"Job Queue {params['jobQueue']} does not exist.")
    scheduler = ctx.runtime.get(Scheduler)
    now = now_ms()
    arn_prefix = ctx.runtime.arn("batch", "job/")
    front = scheduler.front_of_queue(queue["jobQueueArn"], SNAPSHOT_SIZE)
    policies = ctx.runtime.get(SchedulingPolicies)
    fairshare = fairshare_utilization(policies, queue["jobQueueArn"])
    return {
        "frontOfQueue": {
            "jobs": [
                {
                    "jobArn": f"{arn_prefix}{job.job_id}",
                    "earliestTimeAtPosition": policies.position_since(queue["jobQueueArn"], job),
                }
                for job in front
            ],
            "lastUpdatedAt": now,
        },
        "queueUtilization": {
            "totalCapacityUsage": [
                {"capacityUnit": "vCPU", "quantity": scheduler.vcpus_in_use(queue["jobQueueArn"])}
            ],
            "fairshareUtilization": fairshare,
            "lastUpdatedAt": now,
        },
    }
