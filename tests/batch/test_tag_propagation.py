"""propagateTags: the job's and its definition's tags go together to the task, the job's
winning on a shared key; more than 50 together and the job fails instead of starting."""

from __future__ import annotations

from typing import Any

from tests.batch.jobs_support import make_stack, submit, wait_status
from tests.batch.resource_support import unique

TOO_MANY = (
    "Tags could not be propagated: the job and its job definition have more than 50 tags "
    "combined."
)


def _tags(prefix: str, count: int) -> dict[str, str]:
    return {f"{prefix}{i}": str(i) for i in range(count)}


def _definition(batch: Any, **params: Any) -> str:
    name = unique("jd-tags")
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "busybox",
            "command": ["true"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "128"},
            ],
        },
        tags=_tags("def-", 30),
        **params,
    )
    return name


def test_more_than_fifty_propagated_tags_fail_the_job(batch: Any) -> None:
    _, queue = make_stack(batch)
    propagating = _definition(batch, propagateTags=True)
    failed = wait_status(batch, submit(batch, queue, propagating, tags=_tags("job-", 21)))
    assert failed["status"] == "FAILED"
    assert failed["statusReason"] == TOO_MANY
    assert failed["attempts"] == []
    # 20 keys shared with the definition (the job's values win): 30 + 10 = 40 tags.
    shared = {**_tags("def-", 20), **_tags("job-", 10)}
    assert wait_status(batch, submit(batch, queue, propagating, tags=shared))["status"] == (
        "SUCCEEDED"
    )
    # The submit-time propagateTags replaces the definition's.
    plain = _definition(batch)
    assert wait_status(batch, submit(batch, queue, plain, tags=_tags("job-", 30)))["status"] == (
        "SUCCEEDED"
    )
    refused = submit(batch, queue, plain, tags=_tags("job-", 30), propagateTags=True)
    assert wait_status(batch, refused)["statusReason"] == TOO_MANY
    allowed = submit(batch, queue, propagating, tags=_tags("job-", 30), propagateTags=False)
    assert wait_status(batch, allowed)["status"] == "SUCCEEDED"


def test_array_children_propagate_their_array_tags(batch: Any) -> None:
    _, queue = make_stack(batch)
    parent = submit(
        batch,
        queue,
        _definition(batch, propagateTags=True),
        tags=_tags("job-", 21),
        arrayProperties={"size": 2},
    )
    assert wait_status(batch, parent)["status"] == "FAILED"
    child = wait_status(batch, f"{parent}:0")
    assert (child["status"], child["statusReason"]) == ("FAILED", TOO_MANY)
