"""Who local attempts run as: resolving users, the uid of each attempt, and a non-root server."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from pathlib import Path

import pytest

from batchyard.compute.container_spec import ContainerSpec
from batchyard.compute.identity import (
    UID_BASE,
    UID_SPAN,
    Identities,
    job_identities,
    resolve_user,
)
from batchyard.compute.launcher import SETPRIV, wrap
from batchyard.compute.limits import CgroupLayout
from batchyard.compute.local import LocalProvider
from batchyard.compute.provider import AttemptSpec, LaunchError

JOB_USER = "batchyard-jobs"


def _run(
    provider: LocalProvider, script: str, user: str | None = None, memory_mib: int | None = None
) -> list[str]:
    spec = AttemptSpec(
        attempt_id=uuid.uuid4().hex,
        job_id=str(uuid.uuid4()),
        command=["sh", "-c", script],
        environment={},
        memory_mib=memory_mib,
        container=ContainerSpec("busybox", user=user) if user else None,
    )
    lines: list[str] = []

    async def go() -> int | None:
        attempt = await provider.start(spec, lambda ts, stream, text: lines.append(text))
        return (await attempt.wait()).exit_code

    assert asyncio.run(go()) == 0, lines
    return lines


def test_users_resolve_as_docker_reads_them() -> None:
    nobody = resolve_user("nobody")
    assert (nobody.uid, nobody.name, nobody.init_groups) == (65534, "nobody", True)
    assert resolve_user("nobody:4000").setpriv_options() == [
        "--reuid=65534",
        "--regid=4000",
        "--clear-groups",
    ]
    bare = resolve_user("4321")
    assert (bare.uid, bare.gid, bare.name, bare.init_groups) == (4321, 4321, "4321", False)
    with pytest.raises(LaunchError, match="unable to find user ghost: no matching entries"):
        resolve_user("ghost")
    with pytest.raises(LaunchError, match="unable to find group ghosts"):
        resolve_user("nobody:ghosts")
    for root in ("root", "0", "nobody:0", "0:65534"):
        with pytest.raises(LaunchError, match="is root on this host"):
            resolve_user(root)


def test_the_switch_comes_after_the_cgroups_and_rearms_the_death_signal() -> None:
    switch = ["--reuid=5", "--regid=5", "--clear-groups"]
    command = wrap(
        ["cmd"], cgroup_procs=[Path("/g/cgroup.procs")], address_space_kib=None, switch=switch
    )
    assert command[:4] == [SETPRIV, "--pdeathsig", "KILL", "--"]
    inner = command.index("/g/cgroup.procs") + 2
    assert command[inner:] == [SETPRIV, *switch, "--pdeathsig", "KILL", "--", "cmd"]
    # Nothing to set up: one setpriv does both.
    assert wrap(["cmd"], cgroup_procs=[], address_space_kib=None, switch=switch) == [
        SETPRIV,
        *switch,
        "--pdeathsig",
        "KILL",
        "--",
        "cmd",
    ]


def test_each_attempt_gets_a_private_directory_and_a_uid_of_its_own(tmp_path: Path) -> None:
    assert os.geteuid() == 0, "the suite runs as root, as CI does"
    layout = CgroupLayout.detect()
    provider = LocalProvider(tmp_path / "work", identities=job_identities(JOB_USER), layout=layout)
    # ".", not $HOME: pytest's temporary directory is closed to other users.
    script = "id -u; id -g; stat -c %a:%u .; echo $USER; cat /proc/self/cgroup"
    first = _run(provider, script, memory_mib=64)
    second = _run(provider, script, memory_mib=64)
    group = os.stat("/proc/self").st_gid
    for lines in (first, second):
        uid = int(lines[0])
        assert UID_BASE <= uid < UID_BASE + UID_SPAN
        assert int(lines[1]) != group
        assert lines[2] == f"700:{uid}" and lines[3] == JOB_USER
        if layout.memory_parent is not None:
            # Joined while still root, before the switch.
            assert any("batchyard-" in line for line in lines[4:]), lines
    assert first[0] != second[0]
    assert oct((tmp_path / "work").stat().st_mode & 0o777) == "0o711"


def test_a_named_user_is_used_as_given(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path, identities=job_identities(JOB_USER))
    assert _run(provider, "id -u; echo $USER $LOGNAME", user="nobody") == ["65534", "nobody nobody"]


def test_an_unknown_user_fails_to_start_and_leaves_nothing(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path, identities=job_identities(JOB_USER))
    with pytest.raises(LaunchError, match="CannotStartContainerError: unable to find user"):
        _run(provider, "true", user="ghost")
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_is_not_root_runs_attempts_as_itself_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="batchyard.compute.identity"):
        identities = Identities(JOB_USER, switching=False)
    [record] = caplog.records
    assert "run as this server's own user" in record.getMessage()
    assert identities.lease("nobody").identity is None
    provider = LocalProvider(tmp_path, identities=identities)
    uid, home = _run(provider, "id -u; echo $HOME", user="nobody")
    assert uid == str(os.getuid()) and home.startswith(f"{tmp_path}/")


def test_the_job_user_cannot_be_root() -> None:
    with pytest.raises(ValueError, match="is root"):
        Identities("root", switching=True)
