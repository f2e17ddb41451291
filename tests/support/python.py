"""A Python interpreter with the suite's packages that any user can run.

Attempts and Lambda workers of a root server run under uids of their own, so the
interpreter they exec, its standard library and the packages must be readable by others.
An interpreter installed under a private home (pyenv in /root) is not; then a virtual
environment is made from the system's python3 of the same version, in a directory anyone
can read, that sees this environment's site-packages through a .pth file.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from batchyard.compute.identity import reachable_by_anyone

SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


def _reachable(python: Path, *paths: Path) -> bool:
    return all(reachable_by_anyone(path) for path in (python, *paths) if path.exists())


@functools.cache
def shared_python() -> str:
    """The path of an interpreter any uid can run, with this environment's packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    if _reachable(Path(sys.executable), stdlib, site):
        return sys.executable
    assert reachable_by_anyone(site), f"{site} must be readable by other users"
    assert SYSTEM_PYTHON.exists(), f"{SYSTEM_PYTHON} is needed where {sys.executable} is private"
    root = Path(tempfile.mkdtemp(prefix="batchyard-python-"))
    root.chmod(0o755)
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(root)], check=True)
    own_site = root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    # addsitedir, not a bare path: the site's own .pth files (an editable install's finder)
    # must run too.
    (own_site / "site-packages" / "suite.pth").write_text(
        f"import site; site.addsitedir({str(site)!r})\n"
    )
    return str(root / "bin" / "python")


def stdlib_python() -> str:
    """An interpreter any uid can run, for job commands that need only the standard library:
    the system's own where it is there (whatever the checkout's permissions)."""
    if SYSTEM_PYTHON.exists() and _reachable(SYSTEM_PYTHON):
        return str(SYSTEM_PYTHON)
    return shared_python()
