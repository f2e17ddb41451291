"""Consumable resources against a live server: the API, jobs holding units, quantities at
every moment, NON_REPLENISHABLE consumption, overrides and ListJobsByConsumableResource."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from tests.batch.fair_share_support import finished, set_ce_state
from tests.batch.jobs_support import (
    describe,
    make_multinode_definition,
    make_stack,
    submit,
    wait_status,
)
from tests.batch.resource_support import client_error, ec2_resources, make_ce, make_queue, unique
from tests.support.server import ServerProcess, wait_for


def make_resource(batch: Any, total: int, **params: Any) -> str:
    """Create a consumable resource; returns its name."""
    name = unique("cr")
    batch.create_consumable_resource(consumableResourceName=name, totalQuantity=total, **params)
    return name


def needing(batch: Any, resource: str, quantity: int, command: list[str]) -> str:
    """A job definition whose jobs each need ``quantity`` of ``resource``."""
    name = unique("jd")
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "busybox",
            "command": command,
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "128"},
            ],
        },
        consumableResourceProperties={
            "consumableResourceList": [{"consumableResource": resource, "quantity": quantity}]
        },
    )
    return name


def quantities(batch: Any, name: str) -> tuple[int, int, int]:
    """(total, in use, available) of a resource as Describe shows it."""
    found = batch.describe_consumable_resource(consumableResource=name)
    return found["totalQuantity"], found["inUseQuantity"], found["availableQuantity"]


def test_resource_api_round_trip(batch: Any) -> None:
    name = make_resource(batch, 5, tags={"team": "render"})
    described = batch.describe_consumable_resource(consumableResource=name)
    arn = described["consumableResourceArn"]
    assert arn.endswith(f":consumable-resource/{name}")
    assert described["resourceType"] == "REPLENISHABLE"
    assert (described["totalQuantity"], described["inUseQuantity"]) == (5, 0)
    assert described["availableQuantity"] == 5 and described["tags"] == {"team": "render"}
    assert (
        batch.describe_consumable_resource(consumableResource=arn)["consumableResourceName"] == name
    )
    assert (
        batch.update_consumable_resource(consumableResource=name, operation="ADD", quantity=2)[
            "totalQuantity"
        ]
        == 7
    )
    batch.update_consumable_resource(consumableResource=arn, operation="REMOVE", quantity=3)
    assert quantities(batch, name) == (4, 0, 4)
    batch.update_consumable_resource(consumableResource=name, operation="SET", quantity=9)
    assert quantities(batch, name) == (9, 0, 9)
    error = client_error(
        batch.update_consumable_resource, consumableResource=name, operation="REMOVE", quantity=10
    )
    assert "total quantity is 9" in error["Message"]
    for _ in range(2):
        batch.update_consumable_resource(
            consumableResource=name, operation="ADD", quantity=1, clientToken="once"
        )
    assert quantities(batch, name)[0] == 10
    batch.tag_resource(resourceArn=arn, tags={"cost": "low"})
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "team": "render",
        "cost": "low",
    }
    batch.delete_consumable_resource(consumableResource=name)
    assert (
        "does not exist"
        in client_error(batch.describe_consumable_resource, consumableResource=name)["Message"]
    )


def test_resource_api_refusals(batch: Any) -> None:
    name = make_resource(batch, 1)
    assert (
        "already exists"
        in client_error(
            batch.create_consumable_resource, consumableResourceName=name, totalQuantity=1
        )["Message"]
    )
    client_error(batch.create_consumable_resource, consumableResourceName="bad name!")
    client_error(
        batch.create_consumable_resource, consumableResourceName=unique("cr"), resourceType="X"
    )
    client_error(
        batch.create_consumable_resource, consumableResourceName=unique("cr"), totalQuantity=-1
    )
    client_error(
        batch.update_consumable_resource, consumableResource=name, operation="DOUBLE", quantity=1
    )
    client_error(batch.delete_consumable_resource, consumableResource=unique("missing"))
    client_error(batch.list_consumable_resources, filters=[{"name": "COLOR", "values": ["x"]}])
    assert quantities(batch, name) == (1, 0, 1)


def test_list_filters_by_name_prefix_and_pages(batch: Any) -> None:
    prefix = unique("lst")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
    seen, token = [], None
    while True:
        page = batch.list_consumable_resources(
            filters=[{"name": "CONSUMABLE_RESOURCE_NAME", "values": [f"{prefix.upper()}*"]}],
            maxResults=2,
            **({"nextToken": token} if token else {}),
        )
        seen += [r["consumableResourceName"] for r in page["consumableResources"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names


def test_two_jobs_needing_two_of_three_units_never_overlap(batch: Any) -> None:
    resource = make_resource(batch, 3)
    queue = make_stack(batch, max_vcpus=4)[1]
    definition = needing(batch, resource, 2, ["sleep", "2"])
    first = submit(batch, queue, definition)
    second = submit(batch, queue, definition)
    wait_status(batch, first, "RUNNING")
    held = wait_for(
        lambda: (job := describe(batch, second)).get("statusReason") and job,
        timeout=10,
        what="the second job's held reason",
    )
    assert held["status"] == "RUNNABLE"
    assert held["statusReason"] == (
        f"Waiting for consumable resources: {resource} (needs 2, 1 available)"
    )
    assert quantities(batch, resource) == (3, 2, 1)
    listed = batch.list_jobs_by_consumable_resource(consumableResource=resource)["jobs"]
    assert {(j["jobArn"].rsplit("/", 1)[-1], j["quantity"]) for j in listed} == {
        (first, 2),
        (second, 2),
    }
    running = batch.list_jobs_by_consumable_resource(
        consumableResource=resource, filters=[{"name": "JOB_STATUS", "values": ["RUNNING"]}]
    )["jobs"]
    assert [j["jobStatus"] for j in running] == ["RUNNING"]
    wait_status(batch, second, "RUNNING", timeout=20)
    assert quantities(batch, resource) == (3, 2, 1)
    jobs = finished(batch, [first, second])
    assert jobs[1]["startedAt"] >= jobs[0]["stoppedAt"]
    assert wait_for(lambda: quantities(batch, resource) == (3, 0, 3), timeout=5)
    assert jobs[0]["consumableResourceProperties"] == {
        "consumableResourceList": [{"consumableResource": resource, "quantity": 2}]
    }


def test_non_replenishable_units_are_consumed_for_good(batch: Any) -> None:
    resource = make_resource(batch, 1, resourceType="NON_REPLENISHABLE")
    queue = make_stack(batch, max_vcpus=4)[1]
    definition = needing(batch, resource, 1, ["true"])
    first = finished(batch, [submit(batch, queue, definition)])[0]
    assert first["status"] == "SUCCEEDED"
    assert quantities(batch, resource) == (0, 0, 0)
    second = submit(batch, queue, definition)
    held = wait_for(
        lambda: (job := describe(batch, second)).get("statusReason") and job,
        timeout=10,
        what="held reason",
    )
    assert held["status"] == "RUNNABLE" and "needs 1, 0 available" in held["statusReason"]
    batch.update_consumable_resource(consumableResource=resource, operation="ADD", quantity=1)
    assert wait_status(batch, second)["status"] == "SUCCEEDED"
    assert quantities(batch, resource) == (0, 0, 0)


def test_submit_override_replaces_the_quantity(batch: Any) -> None:
    resource = make_resource(batch, 3)
    queue = make_stack(batch, max_vcpus=4)[1]
    definition = needing(batch, resource, 1, ["sleep", "1"])
    whole = submit(
        batch,
        queue,
        definition,
        consumableResourcePropertiesOverride={
            "consumableResourceList": [{"consumableResource": resource, "quantity": 3}]
        },
    )
    wait_status(batch, whole, "RUNNING")
    assert quantities(batch, resource) == (3, 3, 0)
    assert describe(batch, whole)["consumableResourceProperties"]["consumableResourceList"] == [
        {"consumableResource": resource, "quantity": 3}
    ]
    finished(batch, [whole])
    missing = client_error(
        batch.submit_job,
        jobName="j",
        jobQueue=queue,
        jobDefinition=definition,
        consumableResourcePropertiesOverride={
            "consumableResourceList": [{"consumableResource": "no-such-thing", "quantity": 1}]
        },
    )
    assert "no-such-thing does not exist" in missing["Message"]


def test_resources_and_consumption_survive_a_restart(
    new_server: Callable[..., ServerProcess], tmp_path: Any
) -> None:
    server = new_server(data_dir=tmp_path / "data")
    batch = server.client("batch")
    kept = make_resource(batch, 4)
    once = make_resource(batch, 2, resourceType="NON_REPLENISHABLE")
    queue = make_stack(batch, max_vcpus=2)[1]
    finished(batch, [submit(batch, queue, needing(batch, once, 1, ["true"]))])
    server.stop()
    batch = new_server(data_dir=tmp_path / "data").client("batch")
    assert quantities(batch, kept) == (4, 0, 4)
    assert quantities(batch, once) == (1, 0, 1)


def test_array_children_take_units_one_by_one(batch: Any) -> None:
    resource = make_resource(batch, 3)
    queue = make_stack(batch, max_vcpus=4)[1]
    parent = submit(
        batch, queue, needing(batch, resource, 2, ["sleep", "1"]), arrayProperties={"size": 3}
    )
    wait_for(
        lambda: describe(batch, parent)["arrayProperties"]["statusSummary"].get("RUNNING") == 1,
        timeout=10,
        what="a child running",
    )
    assert quantities(batch, resource) == (3, 2, 1)
    children = finished(batch, [f"{parent}:{index}" for index in range(3)])
    spans = sorted((child["startedAt"], child["stoppedAt"]) for child in children)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    assert wait_status(batch, parent)["status"] == "SUCCEEDED"
    assert wait_for(lambda: quantities(batch, resource) == (3, 0, 3), timeout=5)


def test_a_held_job_still_waits_for_its_units_after_a_restart(
    new_server: Callable[..., ServerProcess], tmp_path: Any
) -> None:
    server = new_server(data_dir=tmp_path / "data")
    batch = server.client("batch")
    resource = make_resource(batch, 0)
    queue = make_stack(batch, max_vcpus=2)[1]
    held = submit(batch, queue, needing(batch, resource, 2, ["sleep", "1"]))
    wait_for(lambda: describe(batch, held).get("statusReason"), timeout=10, what="held")
    server.stop()
    batch = new_server(data_dir=tmp_path / "data").client("batch")
    assert describe(batch, held)["status"] == "RUNNABLE"
    batch.update_consumable_resource(consumableResource=resource, operation="SET", quantity=2)
    wait_status(batch, held, "RUNNING")
    assert quantities(batch, resource) == (2, 2, 0)
    assert wait_status(batch, held)["status"] == "SUCCEEDED"


def test_a_multi_node_job_takes_its_units_once(batch: Any) -> None:
    resource = make_resource(batch, 2)
    queue = make_stack(batch, max_vcpus=4)[1]
    name = make_multinode_definition(
        batch,
        ["sleep", "1"],
        2,
        consumableResourceProperties={
            "consumableResourceList": [{"consumableResource": resource, "quantity": 2}]
        },
    )
    first, second = submit(batch, queue, name), submit(batch, queue, name)
    wait_status(batch, first, "RUNNING")
    assert quantities(batch, resource) == (2, 2, 0)
    jobs = finished(batch, [first, second])
    assert jobs[1]["startedAt"] >= jobs[0]["stoppedAt"]
    assert wait_for(lambda: quantities(batch, resource) == (2, 0, 2), timeout=5)


def test_a_resource_deleted_in_use_and_recreated_is_the_same_for_waiting_jobs(
    batch: Any,
) -> None:
    resource = make_resource(batch, 1)
    queue = make_stack(batch, max_vcpus=4)[1]
    definition = needing(batch, resource, 1, ["sleep", "1"])
    running, waiting = submit(batch, queue, definition), submit(batch, queue, definition)
    wait_status(batch, running, "RUNNING")
    batch.delete_consumable_resource(consumableResource=resource)
    assert wait_status(batch, running)["status"] == "SUCCEEDED"
    held = wait_for(
        lambda: "does not exist" in (describe(batch, waiting).get("statusReason") or ""),
        timeout=10,
        what="the waiting job held for a missing resource",
    )
    assert held and describe(batch, waiting)["status"] == "RUNNABLE"
    batch.create_consumable_resource(consumableResourceName=resource, totalQuantity=1)
    # The deleted generation's return was ignored: the new resource starts all available.
    assert wait_status(batch, waiting)["status"] == "SUCCEEDED"
    assert wait_for(lambda: quantities(batch, resource) == (1, 0, 1), timeout=5)


def test_queues_sharing_a_resource_never_overcommit_it(batch: Any) -> None:
    resource = make_resource(batch, 3)
    ce = make_ce(batch, computeResources=ec2_resources(maxvCpus=8))
    first, second = make_queue(batch, [ce], priority=5), make_queue(batch, [ce], priority=1)
    definition = needing(batch, resource, 2, ["sleep", "0.5"])
    set_ce_state(batch, ce, "DISABLED")
    parent = submit(batch, first, definition, arrayProperties={"size": 2})
    plain = [submit(batch, second, definition) for _ in range(2)]
    wait_status(batch, plain[-1], "RUNNABLE")
    # Both queues' heads are offered the same units in one pass.
    set_ce_state(batch, ce, "ENABLED")
    jobs = finished(batch, [f"{parent}:0", f"{parent}:1", *plain])
    spans = sorted((job["startedAt"], job["stoppedAt"]) for job in jobs)
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    assert wait_for(lambda: quantities(batch, resource) == (3, 0, 3), timeout=5)
