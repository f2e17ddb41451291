"""The resource domain as plain Python, no HTTP: lookups, bus events, settling, helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from batchyard.aws.caller import Caller
from batchyard.batch import RESOURCES_TOPIC, Batch
from batchyard.batch.errors import PAGER
from batchyard.batch.resources import (
    compute_environments,
    job_definitions,
    job_queues,
    scheduling_policies,
)
from batchyard.batch.resources.compute_environments import NewComputeEnvironment
from batchyard.batch.resources.definition_rules import node_range_for
from batchyard.batch.resources.environment_rules import architecture_of, merge_update
from batchyard.batch.resources.job_queues import NewJobQueue, QueueChange
from batchyard.batch.resources.model import JobDefinition, State
from batchyard.bus import Bus
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import HostCapacity
from batchyard.compute.providers import Providers
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store

CALLER = Caller("111122223333", "eu-west-1")


class _Logs:
    pass


@dataclass
class Service:
    batch: Batch
    store: Store
    bus: Bus


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    store = Store(f"sqlite:///{tmp_path / 'batchyard.db'}")
    bus = Bus()
    batch = Batch(
        store,
        bus,
        _Logs(),  # type: ignore[arg-type]
        Providers(LocalProvider(tmp_path / "attempts", HostCapacity(memory_mib=1024, gpus=0))),
        time_scale=1.0,
        retention_seconds=3600,
        secrets_file=tmp_path / "secrets.json",
    )
    yield Service(batch, store, bus)
    store.close()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def build(service: Service) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    service.bus.subscribe(RESOURCES_TOPIC, lambda topic, event: seen.append((topic, event)))
    batch = service.batch
    for name, priority in (("low", 1), ("high", 9)):
        await batch.create_compute_environment(
            CALLER,
            NewComputeEnvironment(
                f"ce-{name}",
                "MANAGED",
                compute_resources={
                    "type": "EC2", "minvCpus": 0, "maxvCpus": 8, "subnets": ["s"],
                    "instanceRole": "ecsInstanceRole",
                },
            ),
        )
        await batch.settled()
        await batch.create_job_queue(
            CALLER,
            NewJobQueue(name, priority, [{"order": 1, "computeEnvironment": f"ce-{name}"}]),
        )
    await batch.settled()
    return seen


def _definition(image: str) -> JobDefinition:
    return JobDefinition("d", "container", container_properties={"image": image})


def test_lookups_for_the_scheduler(service: Service) -> None:
    async def scenario() -> None:
        batch = service.batch
        await build(service)
        await batch.register_job_definition(CALLER, _definition("x"))
        await batch.register_job_definition(CALLER, _definition("y"))
        await batch.deregister_job_definition(CALLER, "d:2")
        await batch.update_job_queue(CALLER, "low", QueueChange(state=State.DISABLED))
        await batch.settled()

        def read(connection: Any) -> None:
            queues = job_queues.list_all(connection, CALLER)
            assert [q.name for q in queues if q.state == State.ENABLED] == ["high"]
            assert [q.name for q in queues] == ["low", "high"]
            queue = job_queues.get(
                connection, CALLER, "arn:aws:batch:eu-west-1:111122223333:job-queue/high"
            )
            assert queue is not None and queue.status == "VALID"
            [ce] = job_queues.compute_environments_of(connection, queue)
            assert ce.name == "ce-high"
            assert compute_environments.get(connection, CALLER, "ce-high") == ce
            assert job_definitions.resolve(connection, CALLER, "d").revision == 1  # type: ignore[union-attr]
            assert job_definitions.resolve(connection, CALLER, "d:2").status == "INACTIVE"  # type: ignore[union-attr]
            arn = "arn:aws:batch:eu-west-1:111122223333:job-definition/d:1"
            found = job_definitions.resolve(connection, CALLER, arn)
            assert found is not None and found.container_properties == {"image": "x"}
            assert job_definitions.resolve(connection, CALLER, "missing") is None
            assert scheduling_policies.get(connection, CALLER, "not-an-arn") is None
            # Nothing of one region is visible from another.
            elsewhere = Caller("111122223333", "us-east-1")
            assert job_queues.get(connection, elsewhere, "high") is None
            assert job_queues.get(connection, elsewhere, queue.arn) is None
            assert job_definitions.resolve(connection, elsewhere, "d") is None

        await service.store.read(read)

    run(scenario())


def test_changes_are_published_after_commit(service: Service) -> None:
    seen = run(build(service))
    queue_events = [
        e for topic, e in seen if topic == RESOURCES_TOPIC and e["resource"] == "job-queue"
    ]
    assert [(e["name"], e["action"], e["status"]) for e in queue_events] == [
        ("low", "created", "CREATING"),
        ("low", "status", "VALID"),
        ("high", "created", "CREATING"),
        ("high", "status", "VALID"),
    ]
    assert queue_events[1]["arn"] == "arn:aws:batch:eu-west-1:111122223333:job-queue/low"
    assert queue_events[1]["state"] == "ENABLED"


def test_deletion_is_published_with_status_deleted(service: Service) -> None:
    async def scenario() -> list[dict[str, Any]]:
        batch = service.batch
        seen = await build(service)
        await batch.update_job_queue(CALLER, "low", QueueChange(state=State.DISABLED))
        await batch.settled()
        await batch.delete_job_queue(CALLER, "low")
        await batch.settled()
        assert await service.store.read(lambda c: job_queues.get(c, CALLER, "low")) is None
        return [e for _, e in seen]

    published = run(scenario())
    assert published[-1] == {
        **published[-1],
        "resource": "job-queue",
        "action": "deleted",
        "status": "DELETED",
    }


def test_refused_change_publishes_nothing_and_writes_nothing(service: Service) -> None:
    async def scenario() -> None:
        seen = await build(service)
        count = len(seen)
        with pytest.raises(ServiceError) as caught:
            await service.batch.update_job_queue(
                CALLER,
                "low",
                QueueChange(
                    priority=5,
                    compute_environment_order=[{"order": 1, "computeEnvironment": "nope"}],
                ),
            )
        assert caught.value.code == "ClientException"
        assert len(seen) == count
        queue = await service.store.read(lambda c: job_queues.get(c, CALLER, "low"))
        assert queue.priority == 1

    run(scenario())


def test_tags_are_kept_for_the_callers_resources_only(service: Service) -> None:
    async def scenario() -> None:
        batch = service.batch
        await build(service)
        arn = "arn:aws:batch:eu-west-1:111122223333:job-queue/high"
        await batch.tag_resource(CALLER, arn, {"k": "v"})
        assert (await batch.list_tags_for_resource(CALLER, arn)).tags == {"k": "v"}
        with pytest.raises(ServiceError):
            await batch.tag_resource(CALLER, arn + "x", {"k": "v"})
        with pytest.raises(ServiceError):
            await batch.list_tags_for_resource(Caller("999999999999", "eu-west-1"), arn)

    run(scenario())


def test_pagination_tokens_are_bound_to_their_listing() -> None:
    token = PAGER.encode("DescribeJobQueues", 41)
    assert PAGER.decode_int("DescribeJobQueues", token) == 41
    assert PAGER.decode_int("DescribeJobQueues", None) is None
    for bad in (token + "x", "!!", "e30", PAGER.encode("DescribeComputeEnvironments", 41)):
        with pytest.raises(ServiceError):
            PAGER.decode_int("DescribeJobQueues", bad)
    page, next_token = PAGER.keyed_page("L", [(1, "a"), (2, "b"), (3, "c")], 2)
    assert page == ["a", "b"]
    assert PAGER.decode_int("L", next_token) == 2
    assert PAGER.keyed_page("L", [(1, "a")], 2) == (["a"], None)


def test_node_range_for_picks_the_narrowest_range() -> None:
    nodes = {
        "numNodes": 11,
        "mainNode": 0,
        "nodeRangeProperties": [
            {"targetNodes": "0:10", "container": {"image": "wide"}},
            {"targetNodes": "4:5", "container": {"image": "narrow"}},
        ],
    }
    assert node_range_for(nodes, 4)["container"]["image"] == "narrow"
    assert node_range_for(nodes, 6)["container"]["image"] == "wide"
    assert (
        node_range_for({**nodes, "nodeRangeProperties": nodes["nodeRangeProperties"][1:]}, 0)
        is None
    )


def test_instance_type_architectures() -> None:
    assert architecture_of(["m6g.large", "c7gn", "a1"]) == {"arm64"}
    assert architecture_of(["m5", "optimal", "c5.metal"]) == {"x86_64"}
    assert architecture_of(["default_arm64", "m5"]) == {"arm64", "x86_64"}


def test_scaling_update_merge_keeps_other_fields() -> None:
    current = {"type": "EC2", "minvCpus": 0, "desiredvCpus": 4, "maxvCpus": 8, "subnets": ["s"]}
    merged, infrastructure = merge_update(current, {"maxvCpus": 16})
    assert merged == {**current, "maxvCpus": 16}
    assert infrastructure is False
    merged, infrastructure = merge_update(current, {"minvCpus": 6})
    assert merged["desiredvCpus"] == 6
    _, infrastructure = merge_update(current, {"instanceTypes": ["c5"]})
    assert infrastructure is True
    fargate = {"type": "FARGATE", "maxvCpus": 8, "subnets": ["s"]}
    assert merge_update(fargate, {"subnets": ["t"]})[1] is False
