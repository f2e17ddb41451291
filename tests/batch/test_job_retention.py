"""Finished jobs are purged once the retention has passed (AWS keeps them 7 days): whole, with
their children, nodes and tags; unfinished jobs and the children of a running array stay.
The server here keeps finished jobs for 3 seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config
from tests.batch.jobs_support import (
    describe,
    make_definition,
    make_multinode_definition,
    make_stack,
    submit,
    wait_status,
)
from tests.batch.resource_support import make_ce, make_queue
from tests.support.server import ServerProcess, wait_for

RETENTION_SECONDS = 3


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("retention"),
        env={"BATCHYARD_JOB_RETENTION_DAYS": str(RETENTION_SECONDS / 86400)},
    ).start()
    yield server
    server.stop()


def _gone(batch: Any, job_ids: list[str]) -> bool:
    return batch.describe_jobs(jobs=job_ids)["jobs"] == []


def test_finished_jobs_are_purged_whole_after_the_retention(
    short_lived: ServerProcess, open_dir: Path
) -> None:
    batch = short_lived.client("batch")
    queue = make_stack(batch, max_vcpus=4)[1]
    held = make_queue(batch, [make_ce(batch, state="DISABLED")])
    waiting = submit(batch, held, make_definition(batch, ["true"]))
    plain = submit(batch, queue, make_definition(batch, ["true"]), tags={"team": "a"})
    release = open_dir / "release"
    # Child 0 ends at once; child 1 runs until the test releases it.
    script = (
        f"[ $AWS_BATCH_JOB_ARRAY_INDEX = 0 ] && exit 0; n=0; until [ -e {release} ]; do "
        "n=$((n + 1)); [ $n -lt 3000 ] || exit 1; sleep 0.01; done"
    )
    array = submit(
        batch, queue, make_definition(batch, ["sh", "-c", script]), arrayProperties={"size": 2}
    )
    plain_job = wait_status(batch, plain)
    assert plain_job["status"] == "SUCCEEDED"
    assert wait_status(batch, f"{array}:0")["status"] == "SUCCEEDED"
    wait_for(lambda: _gone(batch, [plain]), timeout=30, what="the finished job is purged")
    assert batch.list_jobs(jobQueue=queue, jobStatus="SUCCEEDED")["jobSummaryList"] == []
    with pytest.raises(batch.exceptions.ClientException):
        batch.list_tags_for_resource(resourceArn=plain_job["jobArn"])
    # The array runs on: its finished child stays with it, older than the retention.
    assert describe(batch, array)["status"] not in ("SUCCEEDED", "FAILED")
    assert describe(batch, f"{array}:0")["status"] == "SUCCEEDED"
    release.touch()
    assert wait_status(batch, array)["status"] == "SUCCEEDED"
    wait_for(
        lambda: _gone(batch, [array, f"{array}:0", f"{array}:1"]),
        timeout=30,
        what="the array and its children are purged",
    )
    assert describe(batch, waiting)["status"] == "RUNNABLE"


def test_a_multinode_job_is_purged_with_its_nodes(short_lived: ServerProcess) -> None:
    batch = short_lived.client("batch")
    queue = make_stack(batch, max_vcpus=4)[1]
    job_id = submit(batch, queue, make_multinode_definition(batch, ["true"], 2))
    assert wait_status(batch, job_id)["status"] == "SUCCEEDED"
    wait_for(
        lambda: _gone(batch, [job_id, f"{job_id}#0", f"{job_id}#1"]),
        timeout=30,
        what="the job and its nodes are purged",
    )


def test_a_store_from_before_the_retention_learns_when_its_jobs_stopped(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "batch_jobs@batch_jobs_0001")
        for job_id, status, stopped in (("a", "SUCCEEDED", 1000), ("b", "RUNNING", None)):
            document = {"jobId": job_id, "status": status, "stoppedAt": stopped}
            connection.execute(
                sa.text(
                    "INSERT INTO batch_jobs (job_id, seq, name, queue_arn, status, created_at, "
                    "definition_name, definition_arn, vcpus, memory, gpus, document) VALUES "
                    "(:id, 1, 'n', 'q', :status, 0, 'd', 'd', 1, 1, 0, :document)"
                ),
                {"id": job_id, "status": status, "document": json.dumps(document)},
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        rows = connection.execute(sa.text("SELECT job_id, stopped_at FROM batch_jobs")).all()
    assert sorted(map(tuple, rows)) == [("a", 1000), ("b", None)]
