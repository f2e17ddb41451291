"""The store on a real PostgreSQL server (a private one, see ``tests/support/postgres.py``):
group commit with failing writes isolated, and a server on it that runs jobs and workflows and
resumes them after SIGKILL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from batchyard.store import Store
from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status
from tests.batch.resource_support import make_ce, make_queue
from tests.support.job_logs import job_output
from tests.support.postgres import PostgresServer
from tests.support.server import ServerProcess, wait_for

probe = sa.Table("probe", sa.MetaData(), sa.Column("k", sa.String, primary_key=True))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


def test_writes_commit_in_groups_and_a_failing_one_rolls_back_alone(
    postgres: PostgresServer,
) -> None:
    store = Store(postgres.database())
    with store.engine.begin() as conn:
        probe.create(conn)

    def insert(key: str) -> Callable[[sa.Connection], None]:
        return lambda conn: conn.execute(probe.insert().values(k=key)) and None

    def half_done(conn: sa.Connection) -> None:
        conn.execute(probe.insert().values(k="half-done"))
        raise ValueError("rejected")

    async def main() -> list[Any]:
        writes = [insert(f"k{i}") for i in range(200)]
        # A Python error and a database error (which aborts the transaction on PostgreSQL)
        # in the middle of the same groups.
        writes[50:50] = [half_done, insert("k7")]
        return await asyncio.gather(*(store.write(w) for w in writes), return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[50], ValueError)
    assert isinstance(results[51], IntegrityError)
    assert not any(isinstance(r, Exception) for i, r in enumerate(results) if i not in (50, 51))
    keys = store.read_sync(lambda c: {r.k for r in c.execute(sa.select(probe))})
    assert keys == {f"k{i}" for i in range(200)}
    store.close()


def _logged(server: ServerProcess, job: dict[str, Any]) -> list[str]:
    events = server.client("logs").get_log_events(
        logGroupName="/aws/batch/job",
        logStreamName=job["container"]["logStreamName"],
        startFromHead=True,
    )["events"]
    return [event["message"] for event in events]


def test_a_server_on_postgres_runs_work_and_resumes_it_after_sigkill(
    postgres: PostgresServer, new_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    url = postgres.database()
    env = {"BATCHYARD_DATABASE_URL": url, "BATCHYARD_TIME_SCALE": "10"}
    data_dir = tmp_path / "data"
    first = new_server(env=env, data_dir=data_dir)
    batch, sfn = first.client("batch"), first.client("stepfunctions")
    queue = make_stack(batch)[1]
    job = wait_status(batch, submit(batch, queue, make_definition(batch, ["echo", "hello"])))
    assert job["status"] == "SUCCEEDED"
    assert job_output(_logged(first, job)) == ["hello"]
    array = submit(batch, queue, make_definition(batch, ["true"]), arrayProperties={"size": 3})
    after = submit(batch, queue, make_definition(batch, ["true"]), dependsOn=[{"jobId": array}])
    assert wait_status(batch, after)["status"] == "SUCCEEDED"
    assert describe(batch, array)["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    held_ce = make_ce(batch, state="DISABLED")
    held = submit(batch, make_queue(batch, [held_ce]), make_definition(batch, ["true"]))
    wait_status(batch, held, "RUNNABLE")
    definition = {
        "StartAt": "Pause",
        "States": {
            "Pause": {"Type": "Wait", "Seconds": 20, "Next": "Done"},
            "Done": {"Type": "Pass", "Result": "done", "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name="pg-wait", definition=json.dumps(definition), roleArn="arn:aws:iam::1:role/r"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_for(
        lambda: any(
            e["type"] == "WaitStateEntered"
            for e in sfn.get_execution_history(executionArn=execution)["events"]
        ),
        what="the Wait to start",
    )

    first.kill()
    second = new_server(env=env, data_dir=data_dir)
    batch, sfn = second.client("batch"), second.client("stepfunctions")
    described = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        timeout=30,
        what="the execution to finish",
    )
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", "done")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert describe(batch, held)["status"] == "RUNNABLE"
    batch.update_compute_environment(computeEnvironment=held_ce, state="ENABLED")
    assert wait_status(batch, held)["status"] == "SUCCEEDED"
    assert job_output(_logged(second, job)) == ["hello"]
    # All of it was kept in PostgreSQL.
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM batch_jobs")).scalar()
    engine.dispose()
    assert stored is not None and stored >= 4
