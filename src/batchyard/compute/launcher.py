"""The command line that starts an attempt without running Python in the forked child.

A ``preexec_fn`` stops CPython from using vfork, so every attempt would fork the whole server,
copying page tables in proportion to its RSS (4.25 ms per start at ~100 MiB, 27 ms at
~700 MiB on the development machine, against 0.55 ms with vfork). Instead the child execs
small host programs that do the set-up and then exec the job's command in the same process:
``setpriv`` sets the parent-death signal and ``sh`` joins the attempt's cgroups (or caps the
address space where there are none). Their cost is paid in the child, not in the server.

Switching to the job's user comes last, in a second ``setpriv``: writing to ``cgroup.procs``
needs the server's privileges, and the kernel clears the parent-death signal whenever the
credentials change. setpriv (util-linux 2.38) applies ``--pdeathsig`` after
``--reuid``/``--regid`` whatever the order of its options, so the one that switches also
arms the signal again; the first one covers the set-up before it.

The program is looked up here, in the parent, so a missing one is still a launch error rather
than the shell's exit status 127.

Given a file to record the exit in, the shell does not exec the command but waits for it and
writes its exit status there before exiting with it: a server killed after the command ended
but before it committed the end then finds the real exit status on restart, instead of
taking the attempt for one its host cut off and running the job again. The shell traps TERM
(a trap with a command is not inherited, unlike an ignored signal), so a stop reaches the
command and the shell still records how it ended; SIGKILL ends both, which needs no record.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from batchyard.compute.provider import LaunchError

SETPRIV = shutil.which("setpriv")
SHELL = shutil.which("sh") or "/bin/sh"
# The shell's set-up failing is reported the way env(1) and chroot(1) report theirs.
SETUP_FAILED = 125
# $1: address-space cap in KiB or "-"; $2: the file to record the exit status in, or "-";
# then cgroup.procs files up to "--"; then the command.
ENTER = (
    'if [ "$1" != - ]; then ulimit -v "$1" || exit 125; fi; record=$2; shift 2; '
    'while [ "$1" != -- ]; do echo 0 >"$1" || exit 125; shift; done; shift; '
    'if [ "$record" = - ]; then exec "$@"; fi; '
    'trap : TERM; "$@"; status=$?; { echo "$status" >"$record"; } 2>/dev/null; exit "$status"'
)


def resolve_program(program: str, cwd: Path, path: str | None) -> str:
    """The file ``program`` names, as exec would find it from ``cwd`` with ``path`` as PATH."""
    if "/" in program:
        candidate = cwd / program
        if not candidate.exists():
            raise _cannot_start(errno.ENOENT, program)
        if candidate.is_dir() or not os.access(candidate, os.X_OK):
            raise _cannot_start(errno.EACCES, program)
        return str(candidate)
    found = shutil.which(program, path=path if path is not None else os.defpath)
    if found is None:
        raise _cannot_start(errno.ENOENT, program)
    return str(Path(cwd, found))


def _cannot_start(code: int, program: str) -> LaunchError:
    return LaunchError(
        f"CannotStartContainerError: [Errno {code}] {os.strerror(code)}: {program!r}"
    )


def wrap(
    command: list[str],
    *,
    cgroup_procs: list[Path],
    address_space_kib: int | None,
    switch: list[str] | None = None,
    record_exit: Path | None = None,
) -> list[str]:
    """``command`` behind the set-up steps the child needs, each only when there is one.

    ``switch``: setpriv options that change the credentials, applied after the rest;
    ``record_exit``: where the exit status is written once the command has ended.
    """
    wrapped = list(command)
    if switch:
        if SETPRIV is None:
            raise LaunchError("CannotStartContainerError: setpriv is needed to switch users")
        wrapped = [SETPRIV, *switch, "--pdeathsig", "KILL", "--", *wrapped]
        if not (cgroup_procs or address_space_kib or record_exit):
            return wrapped
    if cgroup_procs or address_space_kib or record_exit:
        limit = str(address_space_kib) if address_space_kib else "-"
        wrapped = [
            SHELL,
            "-c",
            ENTER,
            "batchyard-attempt",
            limit,
            str(record_exit) if record_exit else "-",
            *map(str, cgroup_procs),
            "--",
            *wrapped,
        ]
    if SETPRIV is not None:
        wrapped = [SETPRIV, "--pdeathsig", "KILL", "--", *wrapped]
    return wrapped
