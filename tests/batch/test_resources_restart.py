"""Resources survive a restart exactly: every describe answer is the same afterwards."""

from __future__ import annotations

from sqlalchemy import create_engine, select, update

from batchyard.store.tables.batch_resources import compute_environments
from tests.batch.resource_support import (
    LOCAL_HEALTHY,
    describe_ce,
    ec2_resources,
    make_ce,
    make_queue,
    snapshot,
    wait_ce_status,
)
from tests.support.server import wait_for


def test_every_resource_survives_a_restart(new_server) -> None:
    first = new_server()
    batch = first.client("batch")
    policy = batch.create_scheduling_policy(
        name="fair",
        fairsharePolicy={"shareDecaySeconds": 60, "shareDistribution": [{"shareIdentifier": "a*"}]},
        tags={"kind": "policy"},
    )["arn"]
    ec2 = make_ce(
        batch,
        name="ec2",
        tags={"kind": "ce"},
        computeResources=ec2_resources(minvCpus=1, desiredvCpus=2),
    )
    make_ce(batch, name="unmanaged", type="UNMANAGED", unmanagedvCpus=4, state="DISABLED")
    make_queue(
        batch, [ec2], name="queue", priority=9, schedulingPolicyArn=policy, tags={"kind": "queue"}
    )
    batch.register_job_definition(
        jobDefinitionName="def",
        type="container",
        tags={"kind": "definition"},
        containerProperties={"image": "busybox", "vcpus": 1, "memory": 64},
        retryStrategy={"attempts": 2},
        timeout={"attemptDurationSeconds": 120},
    )
    batch.register_job_definition(
        jobDefinitionName="def", type="container", containerProperties={"image": "busybox"}
    )
    batch.deregister_job_definition(jobDefinition="def:1")
    batch.tag_resource(resourceArn=policy, tags={"added": "later"})
    wait_ce_status(batch, "ec2", "VALID")
    before = snapshot(batch)
    first.stop()

    second = new_server(data_dir=first.data_dir)
    after = snapshot(second.client("batch"))
    assert after == before
    assert len(after["computeEnvironments"]) == 2
    assert [d["status"] for d in after["jobDefinitions"]] == ["INACTIVE", "ACTIVE"]
    assert after["tags"][policy] == {"kind": "policy", "added": "later"}
    second_batch = second.client("batch")
    assert (
        second_batch.register_job_definition(
            jobDefinitionName="def", type="container", containerProperties={"image": "busybox"}
        )["revision"]
        == 3
    )


def test_transitions_left_half_way_settle_on_start(new_server) -> None:
    first = new_server()
    batch = first.client("batch")
    make_ce(batch, name="ce")
    make_ce(batch, name="gone", state="DISABLED")
    first.kill()
    # Put the rows back where a process dying mid-transition would leave them.
    engine = create_engine(f"sqlite:///{first.data_dir / 'batchyard.db'}")
    with engine.begin() as connection:
        for name, status in (("ce", "UPDATING"), ("gone", "DELETING")):
            document = connection.execute(
                select(compute_environments.c.document).where(compute_environments.c.name == name)
            ).scalar_one()
            connection.execute(
                update(compute_environments)
                .where(compute_environments.c.name == name)
                .values(document={**document, "status": status})
            )
    engine.dispose()
    second = new_server(data_dir=first.data_dir)
    client = second.client("batch")
    assert wait_ce_status(client, "ce", "VALID")["statusReason"] == LOCAL_HEALTHY
    wait_for(lambda: describe_ce(client, "gone") is None, timeout=10, what="gone deleted")
