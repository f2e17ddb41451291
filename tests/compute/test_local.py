"""The local provider runs real processes: output, exit codes, limits, stopping and reaping."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from tests.support.server import wait_for

from batchyard.compute.limits import CgroupLayout
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import (
    OUT_OF_MEMORY_REASON,
    AttemptSpec,
    HostCapacity,
    LaunchError,
    ServiceAccess,
)


def _spec(command: list[str], **kwargs: object) -> AttemptSpec:
    return AttemptSpec(
        attempt_id=uuid.uuid4().hex,
        job_id=str(uuid.uuid4()),
        command=command,
        environment={"AWS_BATCH_JOB_ATTEMPT": "1", **kwargs.pop("environment", {})},  # type: ignore[dict-item]
        **kwargs,  # type: ignore[arg-type]
    )


def _run(
    provider: LocalProvider, spec: AttemptSpec
) -> tuple[int | None, str | None, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []

    async def go() -> tuple[int | None, str | None]:
        attempt = await provider.start(spec, lambda ts, stream, text: lines.append((stream, text)))
        status = await attempt.wait()
        return status.exit_code, status.reason

    code, reason = asyncio.run(go())
    return code, reason, lines


def test_output_lines_environment_and_working_dir(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path)
    spec = _spec(
        [
            "sh",
            "-c",
            "echo one; echo two >&2; printf 'no-newline'; echo $X $AWS_BATCH_JOB_ATTEMPT; pwd",
        ],
        environment={"X": "ex"},
    )
    code, reason, lines = _run(provider, spec)
    assert code == 0 and reason is None
    assert ("stdout", "one") in lines and ("stderr", "two") in lines
    assert ("stdout", "no-newlineex 1") in lines
    assert ("stdout", str(tmp_path / spec.attempt_id)) in lines
    assert not (tmp_path / spec.attempt_id).exists()


def test_exit_code_and_signal_death(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path)
    assert _run(provider, _spec(["sh", "-c", "exit 3"]))[0] == 3
    assert _run(provider, _spec(["sh", "-c", "kill -9 $$"]))[0] == 137


def test_missing_program_cannot_start(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path)
    with pytest.raises(LaunchError, match="CannotStartContainerError"):
        _run(provider, _spec(["/no/such/program"]))


def test_memory_limit_is_an_out_of_memory_kill(tmp_path: Path) -> None:
    layout = CgroupLayout.detect()
    assert layout.memory_parent is not None, "this host must give the server a memory cgroup"
    provider = LocalProvider(tmp_path, layout=layout)
    spec = _spec(
        [sys.executable, "-c", "b = bytearray(300 * 1024 * 1024); print('survived')"], memory_mib=64
    )
    code, reason, lines = _run(provider, spec)
    assert (code, reason) == (137, OUT_OF_MEMORY_REASON)
    assert ("stdout", "survived") not in lines


def test_without_cgroups_the_memory_limit_fails_allocations(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path, layout=CgroupLayout(None, None, unified=False))
    spec = _spec(
        [sys.executable, "-c", "b = bytearray(300 * 1024 * 1024); print('survived')"], memory_mib=64
    )
    code, _reason, lines = _run(provider, spec)
    assert code != 0
    assert ("stdout", "survived") not in lines
    assert any("MemoryError" in text for stream, text in lines if stream == "stderr")


def test_stop_terms_then_kills_the_whole_group(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path)
    spec = _spec(["sh", "-c", "trap '' TERM; echo ready; sleep 30 & sleep 30; wait"])

    async def go() -> tuple[int | None, float]:
        ready = asyncio.Event()
        attempt = await provider.start(spec, lambda ts, stream, text: ready.set())
        await asyncio.wait_for(ready.wait(), timeout=10)
        began = time.monotonic()
        await attempt.stop(0.3)
        status = await attempt.wait()
        return status.exit_code, time.monotonic() - began

    code, elapsed = asyncio.run(go())
    assert code == 137
    assert elapsed < 5


def test_reap_kills_leftovers_of_an_earlier_server(tmp_path: Path) -> None:
    job_id = str(uuid.uuid4())
    child = subprocess.Popen(
        ["sh", "-c", "sleep 60"],
        start_new_session=True,
        env={**os.environ, "AWS_BATCH_JOB_ID": job_id},
    )
    provider = LocalProvider(tmp_path, capacity=HostCapacity(memory_mib=1024, gpus=0))
    assert not provider.reap({"pgid": child.pid, "jobId": "someone-else"})
    assert child.poll() is None
    assert provider.reap({"pgid": child.pid, "jobId": job_id})
    assert child.wait(timeout=10) == -signal.SIGKILL


def test_the_attempt_runs_inside_its_own_memory_cgroup(tmp_path: Path) -> None:
    layout = CgroupLayout.detect()
    assert layout.memory_parent is not None, "this host must give the server a memory cgroup"
    provider = LocalProvider(tmp_path, layout=layout)
    spec = _spec(["cat", "/proc/self/cgroup"], memory_mib=64)
    code, _reason, lines = _run(provider, spec)
    assert code == 0
    memory_lines = [text for _, text in lines if ":memory:" in text or text.startswith("0::")]
    assert any(text.endswith(spec.attempt_id) for text in memory_lines), lines


def test_programs_are_found_on_the_jobs_own_path(tmp_path: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "hello").write_text("#!/bin/sh\necho hello from $0\n")
    (tools / "hello").chmod(0o755)
    (tools / "plain").write_text("not a program\n")
    provider = LocalProvider(tmp_path / "work")
    env = {"PATH": f"{tools}:/usr/bin:/bin"}
    code, _reason, lines = _run(provider, _spec(["hello"], environment=env))
    assert (code, lines) == (0, [("stdout", f"hello from {tools / 'hello'}")])
    for missing in (["hello"], [str(tools / "plain")], ["./relative-missing"]):
        with pytest.raises(LaunchError, match="CannotStartContainerError"):
            _run(provider, _spec(missing))


def test_the_attempt_dies_with_the_server(tmp_path: Path) -> None:
    script = f"""
import asyncio, sys, uuid
from pathlib import Path
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import AttemptSpec

async def main():
    provider = LocalProvider(Path({str(tmp_path)!r}))
    spec = AttemptSpec(uuid.uuid4().hex, str(uuid.uuid4()), ["sleep", "60"], {{}})
    attempt = await provider.start(spec, lambda *line: None)
    print(attempt.identity["pid"], flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    pid = int(server.stdout.readline())
    # setpriv arms the parent-death signal a moment after the start; a server killed before
    # that leaves the child to the next start-up's reap. Once the command runs, it is armed.
    wait_for(
        lambda: Path(f"/proc/{pid}/comm").read_text().strip() == "sleep",
        timeout=10,
        what="the command to run",
    )
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
        assert time.monotonic() < deadline, "the attempt outlived the server"
        time.sleep(0.02)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


def test_the_attempts_sdks_are_pointed_at_the_server_as_the_jobs_account(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path, endpoint_url="http://127.0.0.1:4580")
    access = ServiceAccess("eu-west-1", "AKIDEXAMPLE", "secret", session_token="token")
    script = (
        "echo $AWS_ENDPOINT_URL $AWS_REGION $AWS_DEFAULT_REGION $AWS_ACCESS_KEY_ID "
        "$AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN"
    )
    spec = _spec(["sh", "-c", script], access=access, environment={"AWS_REGION": "job-wins"})
    code, _reason, lines = _run(provider, spec)
    assert (code, lines) == (
        0,
        [("stdout", "http://127.0.0.1:4580 job-wins eu-west-1 AKIDEXAMPLE secret token")],
    )


def test_the_exit_status_is_recorded_until_released_and_found_by_a_later_server(
    tmp_path: Path,
) -> None:
    exits = tmp_path / "exits"
    provider = LocalProvider(tmp_path / "work", exits_dir=exits)
    spec = _spec(["sh", "-c", "exit 3"])
    never_ended = _spec(["true"])

    async def scenario() -> None:
        attempt = await provider.start(spec, lambda *_: None)
        assert (await attempt.wait()).exit_code == 3
        assert (exits / spec.attempt_id).read_text() == "3\n"
        # A server killed now, before committing the end, leaves the record to the next one.
        later = LocalProvider(tmp_path / "work", exits_dir=exits)
        found = await later.reattach(dict(attempt.identity), lambda *_: None, 0)
        assert found is not None and (await found.wait()).exit_code == 3
        missing = {**attempt.identity, "attemptId": never_ended.attempt_id}
        assert await later.reattach(missing, lambda *_: None, 0) is None
        await found.release()
        assert not (exits / spec.attempt_id).exists()

    asyncio.run(scenario())
    # Records no attempt was taken over for are swept at start-up.
    (exits / "stale").write_text("0\n")
    LocalProvider(tmp_path / "work", exits_dir=exits).sweep()
    assert list(exits.iterdir()) == []


def test_a_stopped_command_that_handles_sigterm_ends_with_its_own_exit_code(
    tmp_path: Path,
) -> None:
    exits = tmp_path / "exits"
    provider = LocalProvider(tmp_path / "work", exits_dir=exits)
    ready = tmp_path / "ready"
    spec = _spec(["sh", "-c", f"trap 'exit 7' TERM; touch {ready}; while :; do sleep 0.05; done"])

    async def scenario() -> int | None:
        attempt = await provider.start(spec, lambda *_: None)
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "the command did not start"
            await asyncio.sleep(0.02)
        await attempt.stop(10)
        code = (await attempt.wait()).exit_code
        assert (exits / spec.attempt_id).read_text() == f"{code}\n"
        return code

    assert asyncio.run(scenario()) == 7
