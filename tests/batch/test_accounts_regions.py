"""Every Batch resource and job belongs to one account and region: the same name in two of
them is two resources, ARNs say where, and nothing of one is visible from another."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from alembic import command

from batchyard.aws.caller import Caller
from batchyard.batch import Batch, JobRequest
from batchyard.batch.resources.compute_environments import NewComputeEnvironment
from batchyard.batch.resources.job_queues import NewJobQueue
from batchyard.batch.resources.model import JobDefinition
from batchyard.bus import Bus
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import HostCapacity
from batchyard.compute.providers import Providers
from batchyard.protocol.errors import ServiceError
from batchyard.store import Store
from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config
from tests.batch.resource_support import ec2_resources
from tests.support.server import CLIENT_CONFIG, ServerProcess, wait_for

HOME = Caller("111111111111", "eu-west-1")
OTHER_ACCOUNT = Caller("222222222222", "eu-west-1")
OTHER_REGION = Caller("111111111111", "us-east-1")
CALLERS = (HOME, OTHER_ACCOUNT, OTHER_REGION)


@pytest.fixture
def batch(tmp_path: Path) -> Iterator[Batch]:
    store = Store(f"sqlite:///{tmp_path / 'batchyard.db'}")
    yield Batch(
        store,
        Bus(),
        object(),  # type: ignore[arg-type]
        Providers(LocalProvider(tmp_path / "attempts", HostCapacity(memory_mib=1024, gpus=0))),
        time_scale=1.0,
        retention_seconds=3600,
        secrets_file=tmp_path / "secrets.json",
    )
    store.close()


async def _stack(batch: Batch, caller: Caller) -> None:
    await batch.create_compute_environment(
        caller,
        NewComputeEnvironment("ce", "MANAGED", compute_resources=ec2_resources()),
    )
    await batch.settled()
    await batch.create_job_queue(
        caller, NewJobQueue("q", 1, [{"order": 1, "computeEnvironment": "ce"}])
    )
    await batch.register_job_definition(
        caller, JobDefinition("d", "container", container_properties={"image": "x"})
    )
    await batch.create_scheduling_policy(caller, "sp", None, None, {"owner": caller.account_id})
    await batch.create_consumable_resource(caller, "lic", None, 2, None)
    await batch.settled()


def test_the_same_names_in_two_accounts_and_two_regions_are_separate(batch: Batch) -> None:
    async def scenario() -> None:
        for caller in CALLERS:
            await _stack(batch, caller)
        for caller in CALLERS:
            prefix = f"arn:aws:batch:{caller.region}:{caller.account_id}:"
            [queue] = (await batch.describe_job_queues(caller, None, None, None)).items
            assert queue.arn == f"{prefix}job-queue/q"
            assert queue.compute_environment_order[0].compute_environment == (
                f"{prefix}compute-environment/ce"
            )
            [environment] = (
                await batch.describe_compute_environments(caller, None, None, None)
            ).items
            assert environment.arn == f"{prefix}compute-environment/ce"
            assert environment.ecs_cluster_arn.startswith(  # type: ignore[union-attr]
                f"arn:aws:ecs:{caller.region}:{caller.account_id}:cluster/ce_Batch_"
            )
            [definition] = (
                await batch.describe_job_definitions(caller, None, None, None, None, None)
            ).items
            assert (definition.arn, definition.revision) == (f"{prefix}job-definition/d:1", 1)
            [policy] = (await batch.list_scheduling_policies(caller, None, None)).items
            assert policy.arn == f"{prefix}scheduling-policy/sp"
            tags = await batch.list_tags_for_resource(caller, policy.arn)
            assert tags.tags == {"owner": caller.account_id}
            resource = await batch.describe_consumable_resource(caller, "lic")
            assert resource.arn == f"{prefix}consumable-resource/lic"
            [listed] = (await batch.list_consumable_resources(caller, [], None, None)).items
            assert listed.arn == resource.arn

    asyncio.run(scenario())


def test_nothing_of_one_account_or_region_is_visible_from_another(batch: Batch) -> None:
    async def scenario() -> None:
        await _stack(batch, HOME)
        job = await batch.submit_job(HOME, JobRequest("job", "q", "d"))
        assert job.job_arn == f"arn:aws:batch:eu-west-1:111111111111:job/{job.job_id}"
        home_queue = "arn:aws:batch:eu-west-1:111111111111:job-queue/q"
        for caller in (OTHER_ACCOUNT, OTHER_REGION):
            assert (await batch.describe_job_queues(caller, None, None, None)).items == []
            assert (await batch.describe_job_queues(caller, [home_queue], None, None)).items == []
            assert await batch.describe_jobs(caller, [job.job_id]) == []
            assert await batch.describe_job(caller, job.job_id) is None
            # Stopping another account's job answers as for a job that is not there, and
            # does nothing to it.
            await batch.cancel_job(caller, job.job_id, "no")
            await batch.terminate_job(caller, job.job_id, "no")
            for call in (
                batch.list_tags_for_resource(caller, home_queue),
                batch.tag_resource(caller, home_queue, {"a": "b"}),
                batch.get_job_queue_snapshot(caller, home_queue),
                batch.describe_consumable_resource(caller, "lic"),
                batch.list_jobs(caller, job_queue=home_queue),
                # A foreign queue or definition ARN names nothing to submit to.
                batch.submit_job(caller, JobRequest("job", home_queue, "d")),
                batch.create_job_queue(
                    caller, NewJobQueue("q2", 1, [{"order": 1, "computeEnvironment": "ce"}])
                ),
            ):
                with pytest.raises(ServiceError) as refused:
                    await call
                assert refused.value.code == "ClientException"
        [found] = await batch.describe_jobs(HOME, [job.job_id])
        assert found.status == "SUBMITTED" and found.is_cancelled is None
        listed = await batch.list_jobs(HOME, job_queue="q", job_status=found.status)
        assert [summary.job_id for summary in listed.items] == [job.job_id]

    asyncio.run(scenario())


def _client(server: ServerProcess, region: str) -> Any:
    return boto3.client(
        "batch",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=CLIENT_CONFIG,
    )


def _queue_arns(batch: Any) -> list[str]:
    return [q["jobQueueArn"] for q in batch.describe_job_queues()["jobQueues"]]


def test_one_store_keeps_each_regions_resources_apart(tmp_path: Path) -> None:
    """The same store served in two regions: each sees its own queue of the same name."""
    arns = {}
    for region in ("us-east-1", "eu-west-1", "us-east-1"):
        server = ServerProcess(tmp_path, env={"BATCHYARD_REGION": region}).start()
        try:
            batch = _client(server, region)
            if region not in arns:
                assert _queue_arns(batch) == []
                ce = batch.create_compute_environment(
                    computeEnvironmentName="ce", type="MANAGED", computeResources=ec2_resources()
                )["computeEnvironmentArn"]
                assert ce.startswith(f"arn:aws:batch:{region}:")
                wait_for(
                    lambda b=batch: b.describe_compute_environments()["computeEnvironments"][0][
                        "status"
                    ]
                    == "VALID",
                    what="VALID",
                )
                arns[region] = batch.create_job_queue(
                    jobQueueName="q",
                    priority=1,
                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "ce"}],
                )["jobQueueArn"]
            assert _queue_arns(batch) == [arns[region]]
            assert arns[region].startswith(f"arn:aws:batch:{region}:")
        finally:
            server.stop()


def test_existing_rows_take_their_account_and_region_from_their_arns(old_store: str) -> None:
    engine = create_store_engine(old_store)
    config = alembic_config()
    queue = "arn:aws:batch:eu-west-1:111122223333:job-queue/q"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        for target in ("batch_resources_0001", "batch_scheduling_0001", "batch_jobs_0002"):
            command.upgrade(config, f"{target.rsplit('_', 1)[0]}@{target}")
        connection.execute(
            sa.text("INSERT INTO batch_job_queues (name, arn, document) VALUES ('q', :a, :d)"),
            {"a": queue, "d": json.dumps({"jobQueueName": "q"})},
        )
        connection.execute(
            sa.text(
                "INSERT INTO batch_consumable_resources (name, arn, resource_type, total, "
                "created_at) VALUES ('r', :a, 'REPLENISHABLE', 3, 0)"
            ),
            {"a": "arn:aws:batch:us-west-2:999988887777:consumable-resource/r"},
        )
        connection.execute(
            sa.text(
                "INSERT INTO batch_jobs (job_id, seq, name, queue_arn, status, created_at, "
                "definition_name, definition_arn, vcpus, memory, gpus, document) VALUES "
                "('j', 1, 'n', :q, 'RUNNING', 0, 'd', 'd', 1, 1, 0, '{}')"
            ),
            {"q": queue},
        )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        rows = {
            table: connection.execute(
                sa.text(f"SELECT account_id, region FROM {table}")
            ).all()
            for table in ("batch_job_queues", "batch_consumable_resources", "batch_jobs")
        }
        document = connection.execute(sa.text("SELECT document FROM batch_job_queues")).scalar()
        # The rows keep their seq, and new ones come after them.
        connection.execute(
            sa.text(
                "INSERT INTO batch_job_queues (account_id, region, name, arn, document) "
                "VALUES ('1', 'r', 'q', 'arn:new', '{}')"
            )
        )
        seqs = connection.execute(sa.text("SELECT seq FROM batch_job_queues ORDER BY seq")).all()
    engine.dispose()
    assert [seq for (seq,) in seqs] == [1, 2]
    assert rows == {
        "batch_job_queues": [("111122223333", "eu-west-1")],
        "batch_consumable_resources": [("999988887777", "us-west-2")],
        "batch_jobs": [("111122223333", "eu-west-1")],
    }
    assert (json.loads(document) if isinstance(document, str) else document) == {
        "jobQueueName": "q"
    }
