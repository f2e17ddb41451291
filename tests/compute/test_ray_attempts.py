"""Attempts on a real Ray cluster: output, exit codes, stopping, placement and capacity."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path

import pytest
from tests.support.ray_cluster import Lines, ProviderHarness

from batchyard.compute.provider import AttemptSpec, ExitStatus, LaunchError
from batchyard.compute.ray import RayAttempt, RayProvider


def spec(command: list[str], **kwargs: object) -> AttemptSpec:
    """An attempt of a job of its own, with ``kwargs`` for the resources."""
    environment = {"AWS_BATCH_JOB_ATTEMPT": "1", **kwargs.pop("environment", {})}  # type: ignore[dict-item]
    job_id = str(uuid.uuid4())
    return AttemptSpec(
        attempt_id=uuid.uuid4().hex,
        job_id=job_id,
        command=command,
        environment={"AWS_BATCH_JOB_ID": job_id, **environment},
        **kwargs,  # type: ignore[arg-type]
    )


def start(harness: ProviderHarness, attempt: AttemptSpec, lines: Lines) -> RayAttempt:
    return harness.run(harness.provider.start(attempt, lines))


def wait(harness: ProviderHarness, attempt: RayAttempt, timeout: float = 60.0) -> ExitStatus:
    return harness.run(attempt.wait(), timeout)


def test_output_exit_code_environment_and_working_directory(ray_harness: ProviderHarness) -> None:
    lines = Lines()
    attempt_spec = spec(
        ["sh", "-c", "echo one; echo two >&2; printf 'no-newline'; echo $X $AWS_BATCH_JOB_ATTEMPT;"
         " pwd; exit 3"],
        environment={"X": "ex"},
    )
    attempt = start(ray_harness, attempt_spec, lines)
    status = wait(ray_harness, attempt)
    assert (status.exit_code, status.reason) == (3, None)
    assert ("stdout", "one") in lines.lines and ("stderr", "two") in lines.lines
    assert ("stdout", "no-newlineex 1") in lines.lines
    workdir = ray_harness.work_root / attempt_spec.attempt_id
    assert ("stdout", str(workdir)) in lines.lines
    assert not workdir.exists()
    assert attempt.identity["provider"] == "ray" and attempt.identity["nodeIp"].startswith("127.")
    # The server's own environment does not leak into the job.
    lines = Lines()
    wait(ray_harness, start(ray_harness, spec(["sh", "-c", "env | sort"]), lines))
    names = {text.partition("=")[0] for text in lines.texts()}
    assert "AWS_BATCH_JOB_ID" in names and not any(name.startswith("RAY_") for name in names)


def test_exit_by_signal_and_commands_that_cannot_start(ray_harness: ProviderHarness) -> None:
    status = wait(ray_harness, start(ray_harness, spec(["sh", "-c", "kill -9 $$"]), Lines()))
    assert status.exit_code == 137
    # The attempt ends with its main process: a background child holding the output pipes
    # open is killed with the group, as in a container.
    lines = Lines()
    began = time.monotonic()
    status = wait(ray_harness, start(ray_harness, spec(["sh", "-c", "sleep 60 & echo bye"]), lines))
    assert status.exit_code == 0 and lines.texts() == ["bye"] and time.monotonic() - began < 30
    with pytest.raises(LaunchError, match=r"CannotStartContainerError: .*No such file"):
        start(ray_harness, spec(["/no/such/program"]), Lines())
    with pytest.raises(LaunchError, match="no command"):
        start(ray_harness, spec([]), Lines())


def test_lines_arrive_while_the_attempt_runs(
    ray_harness: ProviderHarness, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    lines = Lines()
    command = f"echo first; while [ ! -e {release} ]; do sleep 0.05; done; echo second"
    attempt = start(ray_harness, spec(["sh", "-c", command]), lines)
    lines.wait_for("first")
    assert not attempt.ended, "the line must come while the attempt still runs"
    release.touch()
    assert wait(ray_harness, attempt).exit_code == 0
    assert lines.texts() == ["first", "second"]


@pytest.mark.parametrize(
    ("trap", "expected"), [("echo term; exit 7", 7), ("", 137)], ids=["handled", "ignored"]
)
def test_stop_sends_sigterm_then_sigkill_after_the_grace(
    ray_harness: ProviderHarness, trap: str, expected: int
) -> None:
    lines = Lines()
    # ``sleep & wait`` so that the shell runs its trap at once rather than after the sleep.
    command = f"trap '{trap}' TERM; echo armed; sleep 30 & wait; sleep 30 & wait"
    attempt = start(ray_harness, spec(["sh", "-c", command]), lines)
    lines.wait_for("armed")
    began = time.monotonic()
    ray_harness.run(attempt.stop(1.0))
    status = wait(ray_harness, attempt)
    took = time.monotonic() - began
    assert status.exit_code == expected
    if expected == 7:
        assert "term" in lines.texts() and took < 5
    else:
        assert took >= 1.0, "SIGKILL must wait out the grace"


def test_a_timeout_is_a_stop(ray_harness: ProviderHarness) -> None:
    lines = Lines()
    attempt = start(ray_harness, spec(["sh", "-c", "echo running; exec sleep 30"]), lines)

    async def with_timeout() -> ExitStatus:
        try:
            return await asyncio.wait_for(attempt.wait(), 0.5)
        except TimeoutError:
            await attempt.stop(5.0)
            return await attempt.wait()

    status = ray_harness.run(with_timeout())
    assert status.exit_code == 128 + 15 and lines.texts() == ["running"]


def test_two_vcpu_attempts_never_share_a_two_cpu_node(ray_harness: ProviderHarness) -> None:
    command = ["sh", "-c", "echo start $(date +%s%N); sleep 1; echo end $(date +%s%N)"]
    runs = [(spec(command, vcpus=2.0), Lines()) for _ in range(3)]

    async def run_all() -> list[tuple[RayAttempt, ExitStatus]]:
        async def one(attempt_spec: AttemptSpec, lines: Lines) -> tuple[RayAttempt, ExitStatus]:
            attempt = await ray_harness.provider.start(attempt_spec, lines)
            return attempt, await attempt.wait()

        return await asyncio.gather(*(one(s, lines) for s, lines in runs))

    results = ray_harness.run(run_all())
    intervals: dict[str, list[tuple[int, int]]] = {}
    for (attempt, status), (_, lines) in zip(results, runs, strict=True):
        assert status.exit_code == 0
        stamps = dict(text.split() for text in lines.texts())
        intervals.setdefault(attempt.identity["nodeId"], []).append(
            (int(stamps["start"]), int(stamps["end"]))
        )
    # Three attempts, two nodes: one node ran two of them, one after the other.
    assert sorted(len(v) for v in intervals.values()) == [1, 2]
    for spans in intervals.values():
        spans.sort()
        for (_, end), (begin, _) in itertools.pairwise(spans):
            assert begin >= end, f"two 2-vCPU attempts overlapped on one node: {spans}"


def test_capacity_comes_from_rays_view_and_oversized_requests_are_refused(
    ray_harness: ProviderHarness,
) -> None:
    provider: RayProvider = ray_harness.provider
    assert provider.health().status == "VALID"
    cluster = provider.cluster_capacity()
    assert cluster is not None
    assert cluster.total.vcpus == 4.0 and sorted(n.total.vcpus for n in cluster.nodes) == [0, 2, 2]
    assert cluster.fits(spec(["true"], vcpus=2.0))
    assert not cluster.fits(spec(["true"], vcpus=3.0))
    assert not cluster.fits(spec(["true"], vcpus=1.0, memory_mib=4096))
    # Ray would keep such a task pending for ever: the provider refuses it instead.
    with pytest.raises(LaunchError, match=r"needs 3 vCPU; no node of the Ray cluster"):
        start(ray_harness, spec(["true"], vcpus=3.0), Lines())
    with pytest.raises(LaunchError, match=r"needs 1 vCPU, 1 GPU"):
        start(ray_harness, spec(["true"], gpus=1), Lines())
