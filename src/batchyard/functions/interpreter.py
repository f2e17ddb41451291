"""Which Python a Lambda worker runs, and whether it can run under an identity of its own.

A worker runs the server's packages (boto3, batchyard's bootstrap) under a uid of its own, so
the interpreter, its standard library and those packages must be readable by other users. An
interpreter installed under a private home (pyenv in ``/root``) is not; then the system's
interpreter of the same version runs the worker, with the server's site-packages added (their
compiled modules are built for that version's ABI). Only when neither will do do workers run
as the server's user, and the log says why.
"""

from __future__ import annotations

import logging
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import batchyard
from batchyard.compute.identity import Identities, job_identities, reachable_by_anyone
from batchyard.config import Settings

log = logging.getLogger(__name__)

SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
BOOTSTRAP = "batchyard.functions.bootstrap"


@dataclass(frozen=True, slots=True)
class WorkerRuntime:
    """How workers start: the command before the bootstrap's own arguments, and who they run
    as (None: the server's user)."""

    command: tuple[str, ...]
    identities: Identities | None


# The server's own interpreter, under the server's user.
AS_SERVER = WorkerRuntime((sys.executable, "-m", BOOTSTRAP), None)


def worker_runtime(settings: Settings) -> WorkerRuntime:
    """The interpreter and identities of this server's workers."""
    own = AS_SERVER.command
    identities = job_identities(settings.job_user)
    if not identities.switching:
        return WorkerRuntime(own, None)
    paths = sysconfig.get_paths()
    sites = sorted({Path(paths["purelib"]), Path(paths["platlib"])})
    packages = [Path(batchyard.__file__).parent, *sites]
    closed = _closed(packages)
    if not closed:
        if not _closed([Path(sys.executable), Path(paths["stdlib"])]):
            return WorkerRuntime(own, identities)
        if not _closed([SYSTEM_PYTHON]):
            return WorkerRuntime(_system_command(sites), identities)
        closed = _closed([Path(sys.executable), Path(paths["stdlib"])])
    log.warning(
        "Lambda workers run as this server's user: their Python is not readable by other "
        "users (%s), and no readable %s of the same version stands in",
        ", ".join(closed),
        SYSTEM_PYTHON,
    )
    return WorkerRuntime(own, None)


def _closed(paths: list[Path]) -> list[str]:
    """Those of ``paths`` another uid could not read (missing ones count as closed)."""
    return sorted(str(path) for path in paths if not reachable_by_anyone(path))


def _system_command(sites: list[Path]) -> tuple[str, ...]:
    # addsitedir, not sys.path: the sites' own .pth files (an editable install's finder) run.
    # The working directory goes first on sys.path as ``python -m`` puts it (``-c`` puts "",
    # which the bootstrap could not swap for a descriptor when the path cannot be walked).
    program = (
        "import os, runpy, site, sys\n"
        "sys.path[0] = os.getcwd()\n"
        + "".join(f"site.addsitedir({str(site)!r})\n" for site in sites)
        + f"runpy.run_module({BOOTSTRAP!r}, run_name='__main__', alter_sys=True)\n"
    )
    return (str(SYSTEM_PYTHON), "-c", program)
