"""Scheduling policies through boto3: create, describe, list, update, delete."""

from __future__ import annotations

import pytest

from tests.batch.resource_support import (
    client_error,
    make_ce,
    make_queue,
    unique,
    wait_queue_status,
)
from tests.support.server import wait_for


def test_create_describe_with_defaults(batch) -> None:
    name = unique("sp")
    created = batch.create_scheduling_policy(
        name=name,
        fairsharePolicy={
            "shareDecaySeconds": 3600,
            "computeReservation": 50,
            "shareDistribution": [
                {"shareIdentifier": "teamA*", "weightFactor": 0.5},
                {"shareIdentifier": "teamB"},
            ],
        },
        tags={"k": "v"},
    )
    assert created == {
        **created,
        "name": name,
        "arn": f"arn:aws:batch:us-east-1:123456789012:scheduling-policy/{name}",
    }
    [policy] = batch.describe_scheduling_policies(arns=[created["arn"], created["arn"] + "x"])[
        "schedulingPolicies"
    ]
    assert policy["fairsharePolicy"] == {
        "shareDecaySeconds": 3600,
        "computeReservation": 50,
        "shareDistribution": [
            {"shareIdentifier": "teamA*", "weightFactor": 0.5},
            {"shareIdentifier": "teamB", "weightFactor": 1.0},
        ],
    }
    assert policy["tags"] == {"k": "v"}


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ({"shareDecaySeconds": -1}, "shareDecaySeconds"),
        ({"shareDecaySeconds": 604801}, "shareDecaySeconds"),
        ({"computeReservation": 100}, "computeReservation"),
        ({"shareDistribution": [{"shareIdentifier": "A", "weightFactor": 0}]}, "weightFactor"),
        ({"shareDistribution": [{"shareIdentifier": "A", "weightFactor": 1000}]}, "weightFactor"),
        (
            {"shareDistribution": [{"shareIdentifier": "UserA*"}, {"shareIdentifier": "UserA1"}]},
            "overlaps",
        ),
        ({"shareDistribution": [{"shareIdentifier": "X"}, {"shareIdentifier": "X"}]}, "overlaps"),
        ({"shareDistribution": [{"shareIdentifier": "a*b"}]}, "trailing asterisk"),
    ],
)
def test_invalid_fairshare_policies(batch, policy, fragment) -> None:
    error = client_error(batch.create_scheduling_policy, name=unique("sp"), fairsharePolicy=policy)
    assert fragment in error["Message"]


def test_duplicate_and_bad_name(batch) -> None:
    name = unique("sp")
    batch.create_scheduling_policy(name=name)
    assert (
        client_error(batch.create_scheduling_policy, name=name)["Message"]
        == "Object already exists"
    )
    assert (
        "Scheduling policy name should match"
        in client_error(batch.create_scheduling_policy, name="bad/name")["Message"]
    )


def test_update_replaces_the_policy(batch) -> None:
    arn = batch.create_scheduling_policy(
        name=unique("sp"), fairsharePolicy={"computeReservation": 10}
    )["arn"]
    batch.update_scheduling_policy(arn=arn, fairsharePolicy={"shareDecaySeconds": 60})
    [policy] = batch.describe_scheduling_policies(arns=[arn])["schedulingPolicies"]
    assert policy["fairsharePolicy"]["shareDecaySeconds"] == 60
    assert policy["fairsharePolicy"]["computeReservation"] == 0
    before = batch.describe_scheduling_policies(arns=[arn])
    client_error(
        batch.update_scheduling_policy, arn=arn, fairsharePolicy={"computeReservation": 200}
    )
    assert (
        batch.describe_scheduling_policies(arns=[arn])["schedulingPolicies"]
        == before["schedulingPolicies"]
    )
    missing = arn + "-missing"
    assert "does not exist" in client_error(batch.update_scheduling_policy, arn=missing)["Message"]


def test_delete_refused_while_a_queue_uses_it(batch) -> None:
    arn = batch.create_scheduling_policy(name=unique("sp"))["arn"]
    queue = make_queue(batch, [make_ce(batch)], schedulingPolicyArn=arn)
    assert wait_queue_status(batch, queue, "VALID")["schedulingPolicyArn"] == arn
    error = client_error(batch.delete_scheduling_policy, arn=arn)
    assert error["Message"] == "Cannot delete, found existing JobQueue relationship"
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    wait_queue_status(batch, queue, "VALID")
    batch.delete_job_queue(jobQueue=queue)
    wait_for(lambda: not batch.describe_job_queues(jobQueues=[queue])["jobQueues"], timeout=10)
    batch.delete_scheduling_policy(arn=arn)
    assert batch.describe_scheduling_policies(arns=[arn])["schedulingPolicies"] == []
    assert "does not exist" in client_error(batch.delete_scheduling_policy, arn=arn)["Message"]


def test_list_paginates(new_server) -> None:
    batch = new_server().client("batch")
    arns = [batch.create_scheduling_policy(name=f"sp{i}")["arn"] for i in range(5)]
    first = batch.list_scheduling_policies(maxResults=2)
    assert [p["arn"] for p in first["schedulingPolicies"]] == arns[:2]
    pages = list(
        batch.get_paginator("list_scheduling_policies").paginate(PaginationConfig={"PageSize": 2})
    )
    assert [p["arn"] for page in pages for p in page["schedulingPolicies"]] == arns
    assert len(pages) == 3
    assert (
        client_error(batch.list_scheduling_policies, nextToken="zzz")["Message"]
        == "Invalid nextToken"
    )
