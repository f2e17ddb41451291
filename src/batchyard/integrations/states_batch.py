"""Step Functions' Batch tasks, served by the Batch facade: ``arn:aws:states:::batch:submitJob``
and its ``.sync`` and ``.waitForTaskToken`` forms.

Parameters are SubmitJob's members in PascalCase. Request-response answers with the job's
JobArn/JobId/JobName; ``.sync`` waits for the job to end and answers with the DescribeJobs
job in PascalCase, failing the task with ``States.TaskFailed`` (the job as cause) when the
job FAILED; ``.waitForTaskToken`` submits the job and waits for SendTaskSuccess or
SendTaskFailure with the token (which the parameters hand the job, typically as
``ContainerOverrides.Environment`` from ``$$.Task.Token``), whatever the job does.

The job id is derived from the task attempt, and the job is stored only if no job has that id
yet, so a task resumed after a restart re-attaches to the job it submitted.
"""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.model import ListShape

from batchyard.aws.caller import Caller
from batchyard.batch import JOB_TOPIC, Batch, JobRequest
from batchyard.batch.api import RULES as batch_api
from batchyard.bus import Bus
from batchyard.protocol.errors import ServiceError
from batchyard.states import (
    EXECUTION_TOPIC,
    StepFunctions,
    TaskFailure,
    TaskRequest,
    unknown_resource,
)
from batchyard.states.integrations.calls import (
    checked,
    child_id,
    compact,
    execution_of,
    from_service,
    input_shape,
    output_shape,
    pattern_of,
    request_id,
    sdk_metadata,
    task_failure,
    to_service,
)
from batchyard.states.integrations.waits import Children, Settle, TokenWait, Watch

RESOURCE = "arn:aws:states:::batch:submitJob"
SYNC = ".sync"
ENDED = ("SUCCEEDED", "FAILED")
STOP_REASON = "Step Functions execution stopped"


def job_ended(event: dict[str, Any]) -> bool:
    """Whether a ``batch.job`` bus event is the job's last."""
    return event.get("status") in ENDED


class BatchSubmitJob:
    """Submit a Batch job from a Task, and for ``.sync`` wait until it ends."""

    def __init__(
        self, batch: Batch, jobs: Watch, children: Children, settle: Settle, tokens: TokenWait
    ) -> None:
        self.batch = batch
        self.tokens = tokens
        self.settle = settle
        self.jobs = jobs
        self.children = children
        jobs_shape = output_shape("batch", "DescribeJobs").members["jobs"]
        assert isinstance(jobs_shape, ListShape)
        self.job_shape = jobs_shape.member

    async def invoke(self, request: TaskRequest) -> Any:
        """Run the task: submit (once), then answer or wait."""
        pattern = pattern_of(request.resource, RESOURCE)
        if pattern not in ("", SYNC, self.tokens.SUFFIX):
            raise unknown_resource(request)
        params = to_service(input_shape("batch", "SubmitJob"), request.parameters)
        job_id = child_id(request)
        execution = execution_of(request)
        caller = request.caller
        await self.settle(execution)
        if pattern == self.tokens.SUFFIX:
            return await self.tokens.wait(
                request, lambda: self._submit_once(caller, job_id, params)
            )
        if pattern == "":
            job = await self._submit_once(caller, job_id, params)
            return {
                "JobArn": job["jobArn"], "JobId": job["jobId"], "JobName": job["jobName"],
                **sdk_metadata(request_id()),
            }
        with (
            self.jobs.expecting(job_id) as ended,
            self.children.tracking(execution, job_id, lambda: self._terminate(caller, job_id)),
        ):
            job = await self._submit_once(caller, job_id, params)
            if job["status"] not in ENDED:
                job = await ended
        output = from_service(self.job_shape, job)
        if job["status"] == "FAILED":
            raise TaskFailure("States.TaskFailed", compact(output))
        return output

    async def _submit_once(
        self, caller: Caller, job_id: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The job ``job_id`` of the execution's account and region: the one already stored,
        or a new one submitted with ``params``."""
        try:
            request = JobRequest.from_input(checked(batch_api, "SubmitJob", params))
            job = await self.batch.submit_job_once(caller, request, job_id)
        except ServiceError as error:
            raise self._failure(error) from None
        return job.describe()

    @staticmethod
    def _failure(error: ServiceError) -> TaskFailure:
        status = error.status or batch_api.error_status(error.code)
        return task_failure("batch", error, status, request_id())

    async def _terminate(self, caller: Caller, job_id: str) -> None:
        # The execution may stop before its job was stored: then there is nothing to stop.
        with contextlib.suppress(ServiceError):
            await self.batch.terminate_job(caller, job_id, STOP_REASON)


def register(states: StepFunctions, bus: Bus, batch: Batch) -> None:
    """Serve ``batch:submitJob`` (``.sync``, ``.waitForTaskToken``) as a Task resource of
    ``states``."""
    jobs = Watch(bus, JOB_TOPIC, lambda job: job["jobId"], job_ended)
    children = Children(bus, EXECUTION_TOPIC)
    submit = BatchSubmitJob(batch, jobs, children, states.settle, TokenWait(states))
    states.register_invoker(RESOURCE, submit)
