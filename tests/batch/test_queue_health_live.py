"""Queue health against a live server: AWS's blocked-head reasons, the "Batch Job Queue
Blocked" event, jobStateTimeLimitActions cancelling a head that can never be placed."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.batch.jobs_support import describe, make_definition, submit, wait_status
from tests.batch.resource_support import ec2_resources, make_ce, make_queue
from tests.support.server import ServerProcess, wait_for

CE_MAX = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE"
CE_MAX_TEXT = (
    f"{CE_MAX} - CE(s) associated with the job queue cannot meet the CPU requirement of the job."
)
REQUIREMENT = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"


def _limit(reason: str) -> list[dict[str, Any]]:
    return [{"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"}]


def test_never_placeable_head_is_cancelled_by_the_time_limit_and_announced(
    new_server: Callable[..., ServerProcess],
) -> None:
    # 600 s of queue time limit pass in one second at this scale.
    server = new_server(env={"BATCHYARD_TIME_SCALE": "600"})
    batch, events, logs = server.client("batch"), server.client("events"), server.client("logs")
    group = f"/blocked/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=group)
    events.put_rule(
        Name="blocked",
        EventPattern=json.dumps(
            {"source": ["aws.batch"], "detail-type": ["Batch Job Queue Blocked"]}
        ),
    )
    events.put_targets(
        Rule="blocked",
        Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"}],
    )
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=2))
    queue = make_queue(batch, [ce], jobStateTimeLimitActions=_limit(CE_MAX))
    definition = make_definition(batch, ["true"])
    too_big = submit(
        batch,
        queue,
        definition,
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "4"}]},
    )
    behind = submit(batch, queue, definition)
    other_queue = make_queue(batch, [ce], jobStateTimeLimitActions=_limit(REQUIREMENT))
    other_reason = submit(
        batch,
        other_queue,
        definition,
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "4"}]},
    )
    cancelled = wait_status(batch, too_big, timeout=20)
    assert cancelled["status"] == "FAILED"
    assert (
        cancelled["statusReason"] == f"Canceled by JobStateTimeLimit action due to reason: {CE_MAX}"
    )
    assert cancelled["isCancelled"] is True
    assert wait_status(batch, behind)["status"] == "SUCCEEDED"
    # The other queue's limit names another reason: its head outlives 1.5 x that limit.
    created = describe(batch, other_reason)["createdAt"]
    wait_for(lambda: time.time() * 1000 - created > 1500, timeout=5, what="900 scaled seconds")
    waiting = describe(batch, other_reason)
    assert (waiting["status"], waiting["statusReason"]) == ("RUNNABLE", CE_MAX_TEXT)
    delivered = wait_for(
        lambda: logs.filter_log_events(logGroupName=group)["events"],
        timeout=10,
        what="the queue-blocked event",
    )
    event = json.loads(delivered[0]["message"])
    assert event["detail-type"] == "Batch Job Queue Blocked"
    assert event["resources"] == [cancelled["jobArn"], cancelled["jobQueue"]]
    assert event["detail"]["status"] == "RUNNABLE"
    assert event["detail"]["statusReason"] == CE_MAX_TEXT


def test_a_blocked_head_stays_first_and_starts_once_its_environment_grows(batch: Any) -> None:
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=2))
    queue = make_queue(batch, [ce])
    job_id = submit(
        batch,
        queue,
        make_definition(batch, ["true"]),
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "3"}]},
    )
    job = wait_for(
        lambda: (j := describe(batch, job_id)).get("statusReason") and j,
        timeout=10,
        what="blocked reason",
    )
    assert (job["status"], job["statusReason"]) == ("RUNNABLE", CE_MAX_TEXT)
    wait_for(lambda: time.time() * 1000 - job["createdAt"] > 300, timeout=5, what="300 ms")
    snapshot = batch.get_job_queue_snapshot(jobQueue=queue)["frontOfQueue"]
    assert [entry["jobArn"] for entry in snapshot["jobs"]] == [job["jobArn"]]
    # Nothing left or joined ahead of it: it has held first place since it was submitted.
    since = snapshot["jobs"][0]["earliestTimeAtPosition"]
    assert 0 <= since - job["createdAt"] < 100
    assert snapshot["lastUpdatedAt"] - since >= 300
    batch.update_compute_environment(computeEnvironment=ce, computeResources={"maxvCpus": 4})
    assert wait_status(batch, job_id, timeout=20)["status"] == "SUCCEEDED"


def test_a_head_whose_environments_are_all_invalid_waits_with_action_required(
    batch: Any,
) -> None:
    ce = make_ce(
        batch,
        computeResources=ec2_resources(maxvCpus=2, allocationStrategy="BEST_FIT_PROGRESSIVE"),
    )
    queue = make_queue(batch, [ce])
    batch.update_compute_environment(
        computeEnvironment=ce,
        computeResources={"instanceRole": "arn:aws:iam::123456789012:role/not-a-profile"},
    )
    wait_for(
        lambda: batch.describe_compute_environments(computeEnvironments=[ce])[
            "computeEnvironments"
        ][0]["status"]
        == "INVALID",
        timeout=10,
        what="the environment to turn INVALID",
    )
    job_id = submit(batch, queue, make_definition(batch, ["true"]))
    blocked = wait_for(
        lambda: (job := describe(batch, job_id)).get("statusReason") and job,
        timeout=10,
        what="the head to be reported blocked",
    )
    assert blocked["status"] == "RUNNABLE"
    assert blocked["statusReason"] == (
        "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."
    )
    batch.update_compute_environment(
        computeEnvironment=ce,
        computeResources={
            "instanceRole": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole"
        },
    )
    assert wait_status(batch, job_id)["status"] == "SUCCEEDED"
