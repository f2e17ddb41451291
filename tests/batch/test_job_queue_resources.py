"""Job queues through boto3: create, describe, update, delete and their errors."""

from __future__ import annotations

import pytest

from tests.batch.resource_support import (
    client_error,
    describe_ce,
    describe_queue,
    ec2_resources,
    fargate_resources,
    make_ce,
    make_queue,
    unique,
    wait_queue_status,
)
from tests.support.server import wait_for


@pytest.fixture(scope="module")
def ec2_ces(batch) -> list[str]:
    return [make_ce(batch) for _ in range(4)]


@pytest.fixture(scope="module")
def fargate_ce(batch) -> str:
    return make_ce(batch, computeResources=fargate_resources())


@pytest.fixture(scope="module")
def policy_arn(batch) -> str:
    return batch.create_scheduling_policy(name=unique("policy"))["arn"]


def order(*names: str) -> list[dict]:
    return [{"order": i + 1, "computeEnvironment": name} for i, name in enumerate(names)]


def test_create_and_describe(batch, ec2_ces) -> None:
    name = unique("jq")
    created = batch.create_job_queue(
        jobQueueName=name,
        priority=10,
        computeEnvironmentOrder=order(ec2_ces[1], ec2_ces[0]),
        tags={"k": "v"},
        jobStateTimeLimitActions=[
            {
                "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                "state": "RUNNABLE",
                "maxTimeSeconds": 600,
                "action": "CANCEL",
            }
        ],
    )
    assert created["jobQueueArn"] == f"arn:aws:batch:us-east-1:123456789012:job-queue/{name}"
    queue = wait_queue_status(batch, name, "VALID")
    assert queue["statusReason"] == "JobQueue Healthy"
    assert queue["state"] == "ENABLED"
    assert queue["priority"] == 10
    assert queue["tags"] == {"k": "v"}
    assert [e["computeEnvironment"] for e in queue["computeEnvironmentOrder"]] == [
        describe_ce(batch, ec2_ces[1])["computeEnvironmentArn"],
        describe_ce(batch, ec2_ces[0])["computeEnvironmentArn"],
    ]
    assert queue["jobStateTimeLimitActions"][0]["maxTimeSeconds"] == 600
    assert describe_queue(batch, created["jobQueueArn"])["jobQueueName"] == name


def test_duplicate_queue_name(batch, ec2_ces) -> None:
    name = make_queue(batch, ec2_ces[:1])
    error = client_error(
        batch.create_job_queue,
        jobQueueName=name,
        priority=1,
        computeEnvironmentOrder=order(ec2_ces[0]),
    )
    assert error["Message"] == "Object already exists"


def test_invalid_queue_name(batch, ec2_ces) -> None:
    error = client_error(
        batch.create_job_queue,
        jobQueueName="bad name",
        priority=1,
        computeEnvironmentOrder=order(ec2_ces[0]),
    )
    assert error["Message"].endswith("Job queue name should match valid pattern")


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda ces, fg: [], "between 1 and 3"),
        (lambda ces, fg: order(*ces[:4]), "between 1 and 3"),
        (
            lambda ces, fg: [
                {"order": 1, "computeEnvironment": ces[0]},
                {"order": 1, "computeEnvironment": ces[1]},
            ],
            "duplicate order",
        ),
        (lambda ces, fg: order(ces[0], ces[0]), "more than once"),
        (lambda ces, fg: order("no-such-ce"), "does not exist"),
        (lambda ces, fg: order(ces[0], fg), "same type"),
        (
            lambda ces, fg: [{"order": -1, "computeEnvironment": ces[0]}],
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_compute_environment_order(batch, ec2_ces, fargate_ce, build, fragment) -> None:
    name = unique("jq")
    error = client_error(
        batch.create_job_queue,
        jobQueueName=name,
        priority=1,
        computeEnvironmentOrder=build(ec2_ces, fargate_ce),
    )
    assert fragment in error["Message"]
    assert describe_queue(batch, name) is None


def test_environment_must_be_valid(batch) -> None:
    invalid = unique("ce")
    batch.create_compute_environment(
        computeEnvironmentName=invalid,
        type="MANAGED",
        computeResources=ec2_resources(),
        serviceRole="arn:aws:iam::bad:nope",
    )
    wait_for(lambda: describe_ce(batch, invalid)["status"] == "INVALID", timeout=10)
    error = client_error(
        batch.create_job_queue,
        jobQueueName=unique("jq"),
        priority=1,
        computeEnvironmentOrder=order(invalid),
    )
    assert "is not VALID" in error["Message"]


def test_fargate_queue_type(batch, fargate_ce) -> None:
    spot = make_ce(batch, computeResources=fargate_resources(type="FARGATE_SPOT"))
    name = make_queue(batch, [fargate_ce, spot])
    assert describe_queue(batch, name)["jobQueueType"] == "ECS_FARGATE"


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        ({"maxTimeSeconds": 599}, "between 600 and 86400"),
        ({"maxTimeSeconds": 86401}, "between 600 and 86400"),
        ({"action": "TERMINATE"}, "CANCEL"),
        ({"reason": "SOMETHING:ELSE"}, "not supported"),
    ],
)
def test_bad_time_limit_actions(batch, ec2_ces, action, fragment) -> None:
    limit = {
        "reason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        "state": "RUNNABLE",
        "maxTimeSeconds": 3600,
        "action": "CANCEL",
        **action,
    }
    error = client_error(
        batch.create_job_queue,
        jobQueueName=unique("jq"),
        priority=1,
        computeEnvironmentOrder=order(ec2_ces[0]),
        jobStateTimeLimitActions=[limit],
    )
    assert fragment in error["Message"]


def test_priority_range(batch, ec2_ces) -> None:
    error = client_error(
        batch.create_job_queue,
        jobQueueName=unique("jq"),
        priority=1001,
        computeEnvironmentOrder=order(ec2_ces[0]),
    )
    assert "priority" in error["Message"]


def test_scheduling_policy_must_exist(batch, ec2_ces) -> None:
    error = client_error(
        batch.create_job_queue,
        jobQueueName=unique("jq"),
        priority=1,
        computeEnvironmentOrder=order(ec2_ces[0]),
        schedulingPolicyArn="arn:aws:batch:us-east-1:123456789012:scheduling-policy/missing",
    )
    assert "does not exist" in error["Message"]


def test_scheduling_policy_can_be_replaced_not_added_or_removed(batch, ec2_ces, policy_arn) -> None:
    fifo = make_queue(batch, ec2_ces[:1])
    error = client_error(batch.update_job_queue, jobQueue=fifo, schedulingPolicyArn=policy_arn)
    assert "FIFO" in error["Message"]
    fair = make_queue(batch, ec2_ces[:1], schedulingPolicyArn=policy_arn)
    other = batch.create_scheduling_policy(name=unique("policy"))["arn"]
    batch.update_job_queue(jobQueue=fair, schedulingPolicyArn=other)
    assert wait_queue_status(batch, fair, "VALID")["schedulingPolicyArn"] == other
    error = client_error(batch.update_job_queue, jobQueue=fair, schedulingPolicyArn="")
    assert "not removed" in error["Message"]


def test_update_priority_state_and_order(batch, ec2_ces) -> None:
    name = make_queue(batch, ec2_ces[:1])
    updated = batch.update_job_queue(
        jobQueue=name,
        priority=7,
        state="DISABLED",
        computeEnvironmentOrder=order(ec2_ces[2], ec2_ces[3]),
    )
    assert updated["jobQueueName"] == name
    assert describe_queue(batch, name)["status"] in ("UPDATING", "VALID")
    queue = wait_queue_status(batch, name, "VALID")
    assert (queue["priority"], queue["state"]) == (7, "DISABLED")
    assert [
        e["computeEnvironment"].rsplit("/", 1)[1] for e in queue["computeEnvironmentOrder"]
    ] == ec2_ces[2:4]


def test_update_with_bad_order_changes_nothing(batch, ec2_ces) -> None:
    name = make_queue(batch, ec2_ces[:1])
    before = describe_queue(batch, name)
    client_error(
        batch.update_job_queue,
        jobQueue=name,
        priority=3,
        computeEnvironmentOrder=order("missing-ce"),
    )
    assert describe_queue(batch, name) == before


def test_delete_requires_disabled_then_removes(batch, ec2_ces) -> None:
    name = make_queue(batch, ec2_ces[:1])
    error = client_error(batch.delete_job_queue, jobQueue=name)
    assert error["Message"] == "Cannot delete, resource is not in DISABLED state"
    batch.update_job_queue(jobQueue=name, state="DISABLED")
    wait_queue_status(batch, name, "VALID")
    batch.delete_job_queue(jobQueue=name)
    wait_for(lambda: describe_queue(batch, name) is None, timeout=10, what="queue deleted")
    assert "does not exist" in client_error(batch.delete_job_queue, jobQueue=name)["Message"]
    assert (
        "does not exist"
        in client_error(batch.update_job_queue, jobQueue=name, priority=2)["Message"]
    )


def test_deleting_the_queue_frees_its_environment(batch) -> None:
    ce = make_ce(batch)
    queue = make_queue(batch, [ce])
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    wait_queue_status(batch, queue, "VALID")
    batch.delete_job_queue(jobQueue=queue)
    wait_for(lambda: describe_queue(batch, queue) is None, timeout=10)
    batch.update_compute_environment(computeEnvironment=ce, state="DISABLED")
    wait_for(lambda: describe_ce(batch, ce)["status"] == "VALID", timeout=10)
    batch.delete_compute_environment(computeEnvironment=ce)
    wait_for(lambda: describe_ce(batch, ce) is None, timeout=10)


def test_pagination(new_server) -> None:
    batch = new_server().client("batch")
    ce = make_ce(batch)
    names = [make_queue(batch, [ce], name=f"q{i}") for i in range(5)]
    paginator = batch.get_paginator("describe_job_queues")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["jobQueues"]) for p in pages] == [2, 2, 1]
    assert [q["jobQueueName"] for p in pages for q in p["jobQueues"]] == names
    everything = batch.describe_job_queues(jobQueues=[])["jobQueues"]
    assert [q["jobQueueName"] for q in everything] == names
    first = batch.describe_job_queues(jobQueues=names, maxResults=3)
    assert len(first["jobQueues"]) == 3
    rest = batch.describe_job_queues(jobQueues=names, maxResults=3, nextToken=first["nextToken"])
    assert [q["jobQueueName"] for q in rest["jobQueues"]] == names[3:]
    assert "nextToken" not in rest
    token = batch.describe_compute_environments(maxResults=1)
    assert client_error(batch.describe_job_queues, nextToken=token.get("nextToken") or "x")[
        "Message"
    ] == ("Invalid nextToken")
