"""Compute environments through boto3: create, describe, update, delete and their errors."""

from __future__ import annotations

import pytest

from tests.batch.resource_support import (
    LOCAL_HEALTHY,
    client_error,
    describe_ce,
    ec2_resources,
    fargate_resources,
    make_ce,
    make_queue,
    unique,
    wait_ce_status,
)
from tests.support.server import wait_for


def test_create_goes_creating_then_valid_with_aws_defaults(batch) -> None:
    name = unique("ce")
    created = batch.create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        computeResources=ec2_resources(instanceRole="ecsInstanceRole"),
        tags={"team": "a"},
    )
    assert created["computeEnvironmentName"] == name
    assert created["computeEnvironmentArn"] == (
        f"arn:aws:batch:us-east-1:123456789012:compute-environment/{name}"
    )
    ce = wait_ce_status(batch, name, "VALID")
    assert ce["statusReason"] == LOCAL_HEALTHY
    assert ce["state"] == "ENABLED"
    assert ce["tags"] == {"team": "a"}
    resources = ce["computeResources"]
    assert resources["minvCpus"] == 0
    assert resources["desiredvCpus"] == 0
    assert resources["maxvCpus"] == 16
    assert resources["allocationStrategy"] == "BEST_FIT"
    assert ce["serviceRole"].endswith("/AWSServiceRoleForBatch")
    assert ce["ecsClusterArn"].startswith("arn:aws:ecs:us-east-1:123456789012:cluster/")
    assert ce["containerOrchestrationType"] == "ECS"


def test_describe_by_arn_and_unknown_names(batch) -> None:
    name = make_ce(batch)
    arn = describe_ce(batch, name)["computeEnvironmentArn"]
    found = batch.describe_compute_environments(computeEnvironments=[arn, "no-such-ce"])
    assert [ce["computeEnvironmentName"] for ce in found["computeEnvironments"]] == [name]


def test_unmanaged_environment(batch) -> None:
    name = make_ce(batch, type="UNMANAGED", unmanagedvCpus=8)
    ce = describe_ce(batch, name)
    assert ce["type"] == "UNMANAGED"
    assert ce["unmanagedvCpus"] == 8
    assert "computeResources" not in ce


def test_duplicate_name_is_refused(batch) -> None:
    name = make_ce(batch)
    error = client_error(
        batch.create_compute_environment,
        computeEnvironmentName=name,
        type="MANAGED",
        computeResources=ec2_resources(),
    )
    assert error["Message"] == "Object already exists"


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "dot.name", "_leading", "-leading"])
def test_invalid_names_are_refused(batch, name) -> None:
    error = client_error(
        batch.create_compute_environment,
        computeEnvironmentName=name,
        type="MANAGED",
        computeResources=ec2_resources(),
    )
    assert error["Message"] == (
        "Error executing request, Exception : Compute environment name should match valid pattern"
    )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"type": "MANAGED"}, "computeResources must be specified"),
        ({"type": "UNMANAGED", "computeResources": ec2_resources()}, "UNMANAGED"),
        (
            {"type": "MANAGED", "computeResources": ec2_resources(minvCpus=8, maxvCpus=4)},
            "minvCpus must be less than or equal to maxvCpus",
        ),
        (
            {"type": "MANAGED", "computeResources": ec2_resources(minvCpus=4, desiredvCpus=2)},
            "desiredvCpus must be between minvCpus and maxvCpus",
        ),
        (
            {"type": "MANAGED", "computeResources": ec2_resources(desiredvCpus=32)},
            "desiredvCpus must be between minvCpus and maxvCpus",
        ),
        ({"type": "MANAGED", "computeResources": ec2_resources(subnets=[])}, "subnets"),
        (
            {"type": "MANAGED", "computeResources": fargate_resources(instanceTypes=["m5"])},
            "instanceTypes",
        ),
        ({"type": "MANAGED", "computeResources": fargate_resources(minvCpus=0)}, "minvCpus"),
        (
            {
                "type": "MANAGED",
                "computeResources": fargate_resources(subnets=[f"s-{i}" for i in range(17)]),
            },
            "16 subnets",
        ),
        (
            {"type": "MANAGED", "computeResources": ec2_resources(instanceTypes=["m6g", "m5"])},
            "architectures",
        ),
        (
            {
                "type": "MANAGED",
                "computeResources": ec2_resources(allocationStrategy="SPOT_CAPACITY_OPTIMIZED"),
            },
            "only supported for SPOT",
        ),
        ({"type": "MANAGED", "computeResources": ec2_resources(type="SPOT")}, "spotIamFleetRole"),
        (
            {
                "type": "MANAGED",
                "computeResources": ec2_resources(
                    type="SPOT", bidPercentage=150, allocationStrategy="SPOT_CAPACITY_OPTIMIZED"
                ),
            },
            "bidPercentage",
        ),
        (
            {"type": "MANAGED", "computeResources": ec2_resources(), "unmanagedvCpus": 4},
            "unmanagedvCpus",
        ),
        *[
            ({"type": "MANAGED", "computeResources": resources}, fragment)
            for resources, fragment in (
                ({**ec2_resources(), "instanceRole": None}, "Instance role is required."),
                ({**ec2_resources(type="SPOT", spotIamFleetRole="r"), "instanceRole": None},
                 "Instance role is required."),
                ({**ec2_resources(), "minvCpus": None}, "Resource minvCpus is required."),
                (ec2_resources(instanceTypes=["c5", "m5.huge"]), "Instance type m5.huge is not"),
            )
        ],
    ],
)
def test_invalid_compute_resources_are_refused(batch, params, fragment) -> None:
    params = {
        **params,
        "computeResources": {
            k: v for k, v in (params.get("computeResources") or {}).items() if v is not None
        },
    } if "computeResources" in params else params
    name = unique("bad-ce")
    error = client_error(batch.create_compute_environment, computeEnvironmentName=name, **params)
    assert fragment in error["Message"]
    assert describe_ce(batch, name) is None


def test_instance_types_families_and_batchs_own_choices_are_accepted(batch) -> None:
    for types in (["optimal"], ["default_x86_64"], ["default_arm64"], ["c5", "m5.large"]):
        name = unique("types")
        batch.create_compute_environment(
            computeEnvironmentName=name, type="MANAGED",
            computeResources=ec2_resources(instanceTypes=types),
        )
        assert describe_ce(batch, name)["computeResources"]["instanceTypes"] == types


def test_fargate_environment_keeps_only_fargate_fields(batch) -> None:
    name = make_ce(batch, computeResources=fargate_resources(securityGroupIds=["sg-1"]))
    resources = describe_ce(batch, name)["computeResources"]
    assert resources["type"] == "FARGATE"
    assert "minvCpus" not in resources
    assert "instanceTypes" not in resources


def test_bad_instance_role_turns_invalid_and_update_recovers(batch) -> None:
    name = unique("ce")
    batch.create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        computeResources=ec2_resources(
            instanceRole="arn:aws:iam::123456789012:role/not-a-profile",
            allocationStrategy="BEST_FIT_PROGRESSIVE",
        ),
    )
    ce = wait_ce_status(batch, name, "INVALID")
    assert ce["statusReason"].startswith("CLIENT_ERROR - ")
    batch.update_compute_environment(
        computeEnvironment=name,
        computeResources={
            "instanceRole": "arn:aws:iam::123456789012:instance-profile/ecsInstanceRole"
        },
    )
    assert wait_ce_status(batch, name, "VALID")["statusReason"] == LOCAL_HEALTHY


def test_bad_service_role_turns_invalid(batch) -> None:
    name = unique("ce")
    batch.create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        computeResources=ec2_resources(),
        serviceRole="arn:aws:iam::bad:not-a-role",
    )
    ce = wait_ce_status(batch, name, "INVALID")
    assert "sts:AssumeRole" in ce["statusReason"]


def test_update_scaling_goes_updating_then_valid(batch) -> None:
    name = make_ce(batch)
    result = batch.update_compute_environment(
        computeEnvironment=name, computeResources={"minvCpus": 2, "desiredvCpus": 4, "maxvCpus": 32}
    )
    assert result["computeEnvironmentName"] == name
    ce = wait_ce_status(batch, name, "VALID")
    resources = ce["computeResources"]
    assert (resources["minvCpus"], resources["desiredvCpus"], resources["maxvCpus"]) == (2, 4, 32)
    assert resources["subnets"] == ["subnet-1"]


def test_update_cannot_scale_desired_down(batch) -> None:
    name = make_ce(batch, computeResources=ec2_resources(desiredvCpus=4))
    error = client_error(
        batch.update_compute_environment,
        computeEnvironment=name,
        computeResources={"desiredvCpus": 2},
    )
    assert error["Message"] == (
        "Manually scaling down compute environment is not supported. Disconnecting job queues "
        "from compute environment will cause it to scale-down to minvCpus."
    )


def test_update_refuses_out_of_range_vcpus(batch) -> None:
    name = make_ce(batch)
    error = client_error(
        batch.update_compute_environment, computeEnvironment=name, computeResources={"minvCpus": 64}
    )
    assert "minvCpus must be less than or equal to maxvCpus" in error["Message"]
    assert describe_ce(batch, name)["computeResources"]["minvCpus"] == 0


def test_infrastructure_update_needs_a_progressive_strategy(batch) -> None:
    best_fit = make_ce(batch)
    error = client_error(
        batch.update_compute_environment,
        computeEnvironment=best_fit,
        computeResources={"instanceTypes": ["c5"]},
    )
    assert "BEST_FIT" in error["Message"]
    progressive = make_ce(
        batch, computeResources=ec2_resources(allocationStrategy="BEST_FIT_PROGRESSIVE")
    )
    batch.update_compute_environment(
        computeEnvironment=progressive,
        computeResources={"instanceTypes": ["c5"], "updateToLatestImageVersion": True},
        updatePolicy={"terminateJobsOnUpdate": True},
    )
    ce = wait_ce_status(batch, progressive, "VALID")
    assert ce["computeResources"]["instanceTypes"] == ["c5"]
    assert "updateToLatestImageVersion" not in ce["computeResources"]
    assert ce["updatePolicy"] == {"terminateJobsOnUpdate": True, "jobExecutionTimeoutMinutes": 30}


def test_update_unknown_environment(batch) -> None:
    error = client_error(
        batch.update_compute_environment, computeEnvironment="nope-" + unique("x"), state="DISABLED"
    )
    assert "does not exist" in error["Message"]


def test_delete_requires_disabled(batch) -> None:
    name = make_ce(batch)
    error = client_error(batch.delete_compute_environment, computeEnvironment=name)
    assert error["Message"] == "Cannot delete, resource is not in DISABLED state"
    assert describe_ce(batch, name)["status"] == "VALID"


def test_delete_refused_while_a_queue_uses_it(batch) -> None:
    name = make_ce(batch)
    make_queue(batch, [name])
    batch.update_compute_environment(computeEnvironment=name, state="DISABLED")
    wait_ce_status(batch, name, "VALID")
    error = client_error(batch.delete_compute_environment, computeEnvironment=name)
    assert error["Message"] == "Cannot delete, found existing JobQueue relationship"


def test_disable_then_delete_removes_it_and_frees_the_name(batch) -> None:
    name = make_ce(batch)
    batch.update_compute_environment(computeEnvironment=name, state="DISABLED")
    assert wait_ce_status(batch, name, "VALID")["state"] == "DISABLED"
    batch.delete_compute_environment(computeEnvironment=name)
    wait_for(lambda: describe_ce(batch, name) is None, timeout=10, what="deleted")
    error = client_error(batch.delete_compute_environment, computeEnvironment=name)
    assert "does not exist" in error["Message"]
    make_ce(batch, name=name)


def test_pagination_walks_every_environment_once(new_server) -> None:
    batch = new_server().client("batch")
    names = [make_ce(batch, name=f"page-{i}") for i in range(5)]
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"maxResults": 2, **({"nextToken": token} if token else {})}
        page = batch.describe_compute_environments(**kwargs)
        assert len(page["computeEnvironments"]) <= 2
        seen += [ce["computeEnvironmentName"] for ce in page["computeEnvironments"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names
    assert pages == 3
    error = client_error(batch.describe_compute_environments, nextToken="garbage!")
    assert error["Message"] == "Invalid nextToken"
    error = client_error(batch.describe_compute_environments, maxResults=0)
    assert "maxResults" in error["Message"]
    paginator = batch.get_paginator("describe_compute_environments")
    listed = [
        ce["computeEnvironmentName"]
        for p in paginator.paginate(PaginationConfig={"PageSize": 3})
        for ce in p["computeEnvironments"]
    ]
    assert listed == names
