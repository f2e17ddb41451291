"""The resource domain as plain Python, no HTTP: lookups, bus events, settling, helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchyard.batch.resources import (
    compute_environments,
    events,
    job_definitions,
    job_queues,
    lifecycle,
    scheduling_policies,
    tags,
)
from batchyard.batch.resources.compute_environment_rules import architecture_of, merge_update
from batchyard.batch.resources.job_definition_rules import node_range_for
from batchyard.batch.resources.pagination import decode_token, encode_token, paginate
from batchyard.config import Settings
from batchyard.protocol.errors import ServiceError
from batchyard.runtime import Runtime
from batchyard.store import Store


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(data_dir=tmp_path, region="eu-west-1", account_id="111122223333")
    store = Store(settings.resolved_database_url)
    yield Runtime(settings=settings, store=store)
    store.close()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def settled(runtime: Runtime) -> None:
    await lifecycle.settler(runtime).drain()


async def build(runtime: Runtime) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    runtime.bus.subscribe(events.TOPIC, lambda topic, event: seen.append((topic, event)))
    for name, priority in (("low", 1), ("high", 9)):
        await compute_environments.create(
            runtime,
            {
                "computeEnvironmentName": f"ce-{name}",
                "type": "MANAGED",
                "computeResources": {"type": "EC2", "maxvCpus": 8, "subnets": ["s"]},
            },
        )
        await settled(runtime)
        await job_queues.create(
            runtime,
            {
                "jobQueueName": name,
                "priority": priority,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": f"ce-{name}"}],
            },
        )
    await settled(runtime)
    return seen


def test_lookups_for_the_scheduler(runtime) -> None:
    async def scenario() -> None:
        await build(runtime)
        await job_definitions.register(
            runtime,
            {"jobDefinitionName": "d", "type": "container", "containerProperties": {"image": "x"}},
        )
        await job_definitions.register(
            runtime,
            {"jobDefinitionName": "d", "type": "container", "containerProperties": {"image": "y"}},
        )
        await job_definitions.deregister(runtime, {"jobDefinition": "d:2"})
        await job_queues.update(runtime, {"jobQueue": "low", "state": "DISABLED"})
        await settled(runtime)

        def read(connection: Any) -> None:
            assert [q["jobQueueName"] for q in job_queues.list_enabled(connection)] == ["high"]
            assert [q["jobQueueName"] for q in job_queues.list_all(connection)] == ["low", "high"]
            queue = job_queues.get(
                connection, "arn:aws:batch:eu-west-1:111122223333:job-queue/high"
            )
            assert queue["status"] == "VALID"
            [ce] = job_queues.compute_environments_of(connection, queue)
            assert ce["computeEnvironmentName"] == "ce-high"
            assert compute_environments.get(connection, "ce-high") == ce
            assert job_definitions.resolve(connection, "d")["revision"] == 1
            assert job_definitions.resolve(connection, "d:2")["status"] == "INACTIVE"
            arn = "arn:aws:batch:eu-west-1:111122223333:job-definition/d:1"
            assert job_definitions.resolve(connection, arn)["containerProperties"] == {"image": "x"}
            assert job_definitions.resolve(connection, "missing") is None
            assert scheduling_policies.get(connection, "not-an-arn") is None

        await runtime.store.read(read)

    run(scenario())


def test_changes_are_published_after_commit(runtime) -> None:
    seen = run(build(runtime))
    queue_events = [
        e for topic, e in seen if topic == events.TOPIC and e["resource"] == "job-queue"
    ]
    assert [(e["name"], e["action"], e["status"]) for e in queue_events] == [
        ("low", "created", "CREATING"),
        ("low", "status", "VALID"),
        ("high", "created", "CREATING"),
        ("high", "status", "VALID"),
    ]
    assert queue_events[1]["arn"] == "arn:aws:batch:eu-west-1:111122223333:job-queue/low"
    assert queue_events[1]["state"] == "ENABLED"


def test_deletion_is_published_with_status_deleted(runtime) -> None:
    async def scenario() -> list[dict[str, Any]]:
        seen = await build(runtime)
        await job_queues.update(runtime, {"jobQueue": "low", "state": "DISABLED"})
        await settled(runtime)
        await job_queues.delete(runtime, {"jobQueue": "low"})
        await settled(runtime)
        assert await runtime.store.read(lambda c: job_queues.get(c, "low")) is None
        return [e for _, e in seen]

    published = run(scenario())
    assert published[-1] == {
        **published[-1],
        "resource": "job-queue",
        "action": "deleted",
        "status": "DELETED",
    }


def test_refused_change_publishes_nothing_and_writes_nothing(runtime) -> None:
    async def scenario() -> None:
        seen = await build(runtime)
        count = len(seen)
        with pytest.raises(ServiceError) as caught:
            await job_queues.update(
                runtime,
                {
                    "jobQueue": "low",
                    "priority": 5,
                    "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "nope"}],
                },
            )
        assert caught.value.code == "ClientException"
        assert len(seen) == count
        assert (await runtime.store.read(lambda c: job_queues.get(c, "low")))["priority"] == 1

    run(scenario())


def test_other_resource_types_can_register_as_taggable(runtime) -> None:
    known = {"arn:aws:batch:eu-west-1:111122223333:test-widget/abc"}
    tags.register_taggable("test-widget", lambda connection, arn: arn in known)
    arn = next(iter(known))

    async def scenario() -> None:
        await tags.tag_resource(runtime, {"resourceArn": arn, "tags": {"k": "v"}})
        assert await tags.list_tags_for_resource(runtime, {"resourceArn": arn}) == {
            "tags": {"k": "v"}
        }
        with pytest.raises(ServiceError):
            await tags.tag_resource(runtime, {"resourceArn": arn + "x", "tags": {"k": "v"}})

    run(scenario())


def test_pagination_tokens_are_bound_to_their_listing() -> None:
    token = encode_token("DescribeJobQueues", 41)
    assert decode_token("DescribeJobQueues", token) == 41
    assert decode_token("DescribeJobQueues", None) is None
    for bad in (token + "x", "!!", "e30", encode_token("DescribeComputeEnvironments", 41)):
        with pytest.raises(ServiceError):
            decode_token("DescribeJobQueues", bad)
    page, next_token = paginate("L", [(1, "a"), (2, "b"), (3, "c")], 2)
    assert page == ["a", "b"]
    assert decode_token("L", next_token) == 2
    assert paginate("L", [(1, "a")], 2) == (["a"], None)


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
