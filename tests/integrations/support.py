"""Helpers for the integration tests: Batch resources, functions, machines, histories."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.batch.resource_support import ec2_resources, make_ce, make_queue, unique
from tests.functions.support import create
from tests.states_api.conftest import machine
from tests.support.server import wait_for

__all__ = ["Stack", "create", "ended", "events", "machine", "make_stack", "task_run", "unique"]


@dataclass
class Stack:
    """A queue on a compute environment, and a way to register job definitions for it."""

    batch: Any
    queue: str

    def definition(self, command: list[str], **container: Any) -> str:
        """Register a job definition running ``command``; returns its ARN."""
        container.setdefault(
            "resourceRequirements",
            [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}],
        )
        return str(self.batch.register_job_definition(
            jobDefinitionName=unique("jd"), type="container",
            containerProperties={"image": "busybox", "command": command, **container},
        )["jobDefinitionArn"])


def make_stack(batch: Any) -> Stack:
    """A compute environment of 8 vCPUs and a queue on it."""
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=8))
    queue = make_queue(batch, [ce], priority=1)
    arn = batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["jobQueueArn"]
    return Stack(batch, arn)


def events(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """The execution's history, oldest first."""
    return sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def ended(sfn: Any, arn: str, timeout: float = 60) -> dict[str, Any]:
    """DescribeExecution once ``arn`` is no longer RUNNING."""
    return wait_for(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        timeout=timeout, interval=0.05, what=f"{arn} to end",
    )


def task_run(
    sfn: Any, state: dict[str, Any], document: Any = None, timeout: float = 60
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a one-Task machine to its end: (DescribeExecution, history)."""
    arn = machine(sfn, {"StartAt": "Task", "States": {"Task": {**state, "End": True}}})
    execution = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps({} if document is None else document)
    )["executionArn"]
    described = ended(sfn, execution, timeout)
    return described, events(sfn, execution)
