"""SubmitJob resource overrides follow the job definition's rules: a malformed or too small
VCPU/MEMORY/GPU override is a ClientException (never a server error) and stores no job."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batch.jobs_support import make_definition, make_stack
from tests.batch.resource_support import client_error, unique

BAD_OVERRIDES = [
    ({"resourceRequirements": [{"type": "MEMORY", "value": "abc"}]}, "MEMORY"),
    ({"resourceRequirements": [{"type": "GPU", "value": "x"}]}, "GPU"),
    ({"resourceRequirements": [{"type": "VCPU", "value": "0"}]}, "VCPU"),
    ({"resourceRequirements": [{"type": "MEMORY", "value": "2"}]}, "4 MiB"),
]


@pytest.fixture(scope="module")
def queue(batch: Any) -> str:
    return make_stack(batch)[1]


@pytest.mark.parametrize(("overrides", "named"), BAD_OVERRIDES)
def test_bad_resource_overrides_are_refused(
    batch: Any, queue: str, overrides: dict[str, Any], named: str
) -> None:
    name = unique("bad-override")
    error = client_error(
        batch.submit_job,
        jobName=name,
        jobQueue=queue,
        jobDefinition=make_definition(batch, ["true"]),
        containerOverrides=overrides,
    )
    assert named in error["Message"]
    listed = batch.list_jobs(
        jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name]}]
    )["jobSummaryList"]
    assert listed == []


def test_legacy_overrides_below_the_minimum_are_refused(batch: Any, queue: str) -> None:
    definition = unique("jd-legacy")
    batch.register_job_definition(
        jobDefinitionName=definition,
        type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 64},
    )
    for overrides in ({"vcpus": 0}, {"memory": 1}):
        client_error(
            batch.submit_job,
            jobName=unique("bad-legacy"),
            jobQueue=queue,
            jobDefinition=definition,
            containerOverrides=overrides,
        )
