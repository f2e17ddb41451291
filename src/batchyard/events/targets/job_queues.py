"""Batch job queue targets: each delivery submits a job to the queue.

BatchParameters give the job definition, the job name, and optionally the array size and
the number of attempts. When the target's input is configured (Input, InputPath or an input
transformer) and is a JSON object, it becomes the job's ``parameters`` (values that are not
strings are passed as their JSON text), filling the definition's ``Ref::`` placeholders.
"""

from __future__ import annotations

import json
from typing import Any

from batchyard.aws.caller import Caller
from batchyard.batch import Batch, JobRequest
from batchyard.events.targets import JOB_QUEUE, Delivery, TargetError, deliverer
from batchyard.protocol.errors import ServiceError
from batchyard.protocol.service import load_model
from batchyard.protocol.validate import validate_input
from batchyard.runtime import Runtime

_INPUT_OPTIONS = ("Input", "InputPath", "InputTransformer")


def submit_request(delivery: Delivery) -> dict[str, Any]:
    """The SubmitJob request a delivery to a job queue makes."""
    batch = delivery.target["BatchParameters"]
    request: dict[str, Any] = {
        "jobName": batch["JobName"],
        "jobQueue": delivery.arn,
        "jobDefinition": batch["JobDefinition"],
    }
    if "ArrayProperties" in batch and "Size" in batch["ArrayProperties"]:
        request["arrayProperties"] = {"size": batch["ArrayProperties"]["Size"]}
    if "RetryStrategy" in batch and "Attempts" in batch["RetryStrategy"]:
        request["retryStrategy"] = {"attempts": batch["RetryStrategy"]["Attempts"]}
    if any(option in delivery.target for option in _INPUT_OPTIONS):
        try:
            document = json.loads(delivery.input)
        except (ValueError, RecursionError):
            document = None
        if isinstance(document, dict):
            request["parameters"] = {
                key: value if isinstance(value, str) else json.dumps(value)
                for key, value in document.items()
            }
    return request


@deliverer(JOB_QUEUE)
async def deliver_to_job_queue(runtime: Runtime, delivery: Delivery) -> None:
    """Submit a job as SubmitJob would, checked against the Batch model first."""
    operation = load_model("batch").operation_model("SubmitJob")
    caller = Caller(runtime.settings.account_id, runtime.settings.region).acting_for(delivery.arn)
    try:
        params = validate_input(operation.input_shape, submit_request(delivery))
        await runtime.get(Batch).submit_job(caller, JobRequest.from_input(params))
    except ServiceError as error:
        raise TargetError(error.code, error.message) from None
