"""A store written by an earlier release learns what the scheduler now keeps per job."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from batchyard.store.engine import create_store_engine
from batchyard.store.migrate import alembic_config


def test_waiting_multinode_jobs_learn_their_node_count(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    jobs = (
        ("gang", "RUNNABLE", {"nodeProperties": {"numNodes": 3, "mainNode": 0}}),
        ("single", "RUNNABLE", {}),
        ("done-gang", "SUCCEEDED", {"nodeProperties": {"numNodes": 2, "mainNode": 0}}),
    )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "batch_jobs@batch_jobs_0003")
        for job_id, status, extra in jobs:
            connection.execute(
                sa.text(
                    "INSERT INTO batch_jobs (job_id, account_id, region, seq, name, queue_arn, "
                    "status, created_at, definition_name, definition_arn, vcpus, memory, gpus, "
                    "document) VALUES (:id, '123456789012', 'us-east-1', 1, 'n', 'q', :status, "
                    "0, 'd', 'd', 2, 0, 0, :document)"
                ),
                {"id": job_id, "status": status, "document": json.dumps(extra)},
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        rows = connection.execute(sa.text("SELECT job_id, nodes FROM batch_jobs")).all()
    # Finished jobs are never planned again: they keep the default.
    assert sorted(map(tuple, rows)) == [("done-gang", 1), ("gang", 3), ("single", 1)]
