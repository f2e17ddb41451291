"""Job dependencies through boto3 against a live server: plain, on and of arrays,
SEQUENTIAL and N_TO_N orders (proven from the times the children record themselves),
failure cascades with AWS's reason, prompt wake-ups, and the SubmitJob rules."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.batch.jobs_support import describe, make_definition, make_stack, submit, wait_status

DEPENDENCY_FAILED = "Dependent Job failed"


@pytest.fixture(scope="module")
def queue(batch: Any) -> str:
    return make_stack(batch, max_vcpus=8)[1]


def _recorder(batch: Any, folder: Path, label: str, sleep: str) -> str:
    """A definition whose job writes its own start and end time (ns) to ``folder``."""
    script = (
        f"i=${{AWS_BATCH_JOB_ARRAY_INDEX:-x}}; date +%s%N > {folder}/{label}.$i.start; "
        f"sleep {sleep}; date +%s%N > {folder}/{label}.$i.end"
    )
    return make_definition(batch, ["sh", "-c", script])


def _times(folder: Path, label: str, index: int | str) -> tuple[int, int]:
    start = int((folder / f"{label}.{index}.start").read_text())
    end = int((folder / f"{label}.{index}.end").read_text())
    return start, end


def test_sequential_children_run_one_after_the_other(
    batch: Any, queue: str, open_dir: Path
) -> None:
    definition = _recorder(batch, open_dir, "seq", "0.2")
    parent = submit(
        batch, queue, definition, arrayProperties={"size": 5}, dependsOn=[{"type": "SEQUENTIAL"}]
    )
    summary = describe(batch, parent)["arrayProperties"]["statusSummary"]
    assert summary["RUNNING"] + summary["STARTING"] <= 1
    assert wait_status(batch, parent)["status"] == "SUCCEEDED"
    spans = [_times(open_dir, "seq", i) for i in range(5)]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end
    assert describe(batch, f"{parent}:3")["dependsOn"] == [
        {"jobId": f"{parent}:2", "type": "SEQUENTIAL"}
    ]


def test_n_to_n_children_wait_for_their_peer_only(batch: Any, queue: str, open_dir: Path) -> None:
    # a:0 ends only once b:3 has recorded its start (or after 20 s, failing), so b:3 cannot
    # have waited for the whole of a; a:1 to a:3 end at once. (-s: the shell creates the file
    # before date has written the time into it.)
    first = make_definition(
        batch,
        [
            "sh",
            "-c",
            f"i=$AWS_BATCH_JOB_ARRAY_INDEX; date +%s%N > {open_dir}/a.$i.start; "
            f"if [ $i = 0 ]; then n=0; until [ -s {open_dir}/b.3.start ]; do "
            "n=$((n + 1)); [ $n -lt 2000 ] || exit 1; sleep 0.01; done; fi; "
            f"date +%s%N > {open_dir}/a.$i.end",
        ],
    )
    a = submit(batch, queue, first, arrayProperties={"size": 4})
    b = submit(
        batch,
        queue,
        _recorder(batch, open_dir, "b", "0"),
        arrayProperties={"size": 4},
        dependsOn=[{"jobId": a, "type": "N_TO_N"}],
    )
    assert wait_status(batch, b, timeout=30)["status"] == "SUCCEEDED"
    assert describe(batch, a)["status"] == "SUCCEEDED"
    for i in range(4):
        assert _times(open_dir, "b", i)[0] >= _times(open_dir, "a", i)[1]
    assert _times(open_dir, "b", 3)[0] < _times(open_dir, "a", 0)[1]
    assert describe(batch, f"{b}:1")["dependsOn"] == [{"jobId": f"{a}:1", "type": "N_TO_N"}]


def test_array_on_a_job_and_a_job_on_an_array(batch: Any, queue: str, open_dir: Path) -> None:
    before = submit(batch, queue, _recorder(batch, open_dir, "before", "0.3"))
    array = submit(
        batch,
        queue,
        _recorder(batch, open_dir, "arr", "0.2"),
        arrayProperties={"size": 3},
        dependsOn=[{"jobId": before}],
    )
    after = submit(
        batch, queue, _recorder(batch, open_dir, "after", "0"), dependsOn=[{"jobId": array}]
    )
    assert describe(batch, array)["status"] in ("SUBMITTED", "PENDING")
    assert wait_status(batch, after, timeout=30)["status"] == "SUCCEEDED"
    before_end = _times(open_dir, "before", "x")[1]
    children = [_times(open_dir, "arr", i) for i in range(3)]
    assert all(start >= before_end for start, _ in children)
    assert _times(open_dir, "after", "x")[0] >= max(end for _, end in children)
    parent, job = describe(batch, array), describe(batch, after)
    # Woken by the event, not by a polling round: well under a second later.
    assert job["startedAt"] - parent["stoppedAt"] < 1000


def test_a_failed_dependency_fails_the_chain_below_it(batch: Any, queue: str) -> None:
    failing = make_definition(batch, ["false"])
    quick = make_definition(batch, ["true"])
    root = submit(batch, queue, failing)
    middle = submit(batch, queue, quick, dependsOn=[{"jobId": root}])
    array = submit(batch, queue, quick, arrayProperties={"size": 3}, dependsOn=[{"jobId": middle}])
    peers = submit(
        batch,
        queue,
        quick,
        arrayProperties={"size": 3},
        dependsOn=[{"jobId": array, "type": "N_TO_N"}],
    )
    last = submit(batch, queue, quick, dependsOn=[{"jobId": peers}])
    assert wait_status(batch, root)["status"] == "FAILED"
    for job_id in (middle, array, f"{array}:1", f"{peers}:0", f"{peers}:2", last):
        job = wait_status(batch, job_id)
        assert (job["status"], job["statusReason"]) == ("FAILED", DEPENDENCY_FAILED), job_id
        assert job["attempts"] == []
    # The N_TO_N array itself ran: it fails because its children did.
    assert describe(batch, peers)["statusReason"] == "Array Child Job failed"


def test_a_failed_child_fails_the_rest_of_a_sequential_array(batch: Any, queue: str) -> None:
    definition = make_definition(batch, ["sh", "-c", '[ "$AWS_BATCH_JOB_ARRAY_INDEX" != 1 ]'])
    parent = submit(
        batch, queue, definition, arrayProperties={"size": 4}, dependsOn=[{"type": "SEQUENTIAL"}]
    )
    job = wait_status(batch, parent)
    assert (job["status"], job["statusReason"]) == ("FAILED", "Array Child Job failed")
    assert describe(batch, f"{parent}:0")["status"] == "SUCCEEDED"
    assert describe(batch, f"{parent}:1")["statusReason"] == "Essential container in task exited"
    for index in (2, 3):
        child = describe(batch, f"{parent}:{index}")
        assert (child["status"], child["statusReason"]) == ("FAILED", DEPENDENCY_FAILED)
        assert child["attempts"] == []


def test_a_job_can_wait_for_one_child(batch: Any, queue: str) -> None:
    slow_second = make_definition(
        batch, ["sh", "-c", '[ "$AWS_BATCH_JOB_ARRAY_INDEX" = 0 ] || sleep 5']
    )
    array = submit(batch, queue, slow_second, arrayProperties={"size": 2})
    follower = submit(
        batch, queue, make_definition(batch, ["true"]), dependsOn=[{"jobId": f"{array}:0"}]
    )
    assert wait_status(batch, follower)["status"] == "SUCCEEDED"
    assert describe(batch, array)["status"] == "PENDING"
    batch.terminate_job(jobId=array, reason="done here")


def test_submit_rules(batch: Any, queue: str) -> None:
    quick = make_definition(batch, ["true"])
    jobs = [submit(batch, queue, quick) for _ in range(21)]
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, quick, dependsOn=[{"jobId": j} for j in jobs])
    assert submit(batch, queue, quick, dependsOn=[{"jobId": j} for j in jobs[:20]])
    for dependencies in (
        [{"jobId": "00000000-0000-0000-0000-000000000000"}],
        [{"type": "SEQUENTIAL"}],
        [{"jobId": jobs[0], "type": "N_TO_N"}],
    ):
        with pytest.raises(batch.exceptions.ClientException):
            submit(batch, queue, quick, dependsOn=dependencies)
    small = submit(batch, queue, quick, arrayProperties={"size": 2})
    with pytest.raises(batch.exceptions.ClientException):
        submit(
            batch,
            queue,
            quick,
            arrayProperties={"size": 3},
            dependsOn=[{"jobId": small, "type": "N_TO_N"}],
        )
    with pytest.raises(batch.exceptions.ClientException):
        submit(batch, queue, quick, dependsOn=[{"jobId": f"{small}:2"}])
