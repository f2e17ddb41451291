"""Who an attempt or a Lambda worker runs as: never the server's own user when it can switch.

A server running as root gives every attempt and worker a uid of its own, drawn from
``UID_BASE`` upwards, in the group of the configured job user (created when missing). One
shared uid would not do: processes of the same uid can read each other's files, working
directories and ``/proc/<pid>/environ`` (where the job's credentials are) and signal each
other. The uids have no passwd entry; setpriv switches to a bare number. The range,
0x70000000 up, lies beyond what useradd, systemd's dynamic users and its container ranges
hand out, and below 2^31, which some tools read as negative. A uid is picked at random
rather than counted up so that a restarted server, or a second server on the host, is
unlikely to hand out one a live process (or a file left in /tmp) still has.

``containerProperties.user`` (a name or a uid, each optionally ``:group``) is honoured as it
is given; attempts naming the same user share it. Root is refused: without a container it
would be the host's root.

A server that is not root cannot switch: everything runs as its own user, which isolates
nothing from the server (the jobs can read its files and signal it); it says so once.
"""

from __future__ import annotations

import functools
import grp
import logging
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from batchyard.compute.provider import LaunchError

log = logging.getLogger(__name__)

UID_BASE = 0x7000_0000
UID_SPAN = 1 << 24
NOLOGIN = "/usr/sbin/nologin"


@dataclass(frozen=True)
class JobIdentity:
    """The credentials one attempt's or worker's process switches to."""

    uid: int
    gid: int
    # USER and LOGNAME for the process.
    name: str
    # With a passwd name, its supplementary groups; else none.
    init_groups: bool = False

    def setpriv_options(self) -> list[str]:
        """The setpriv options that switch to this identity."""
        groups = "--init-groups" if self.init_groups else "--clear-groups"
        return [f"--reuid={self.uid}", f"--regid={self.gid}", groups]


class Lease:
    """An identity held while its process runs; ``release`` once the process is gone."""

    def __init__(self, identity: JobIdentity | None, pool: Identities | None = None) -> None:
        self.identity = identity
        self._pool = pool

    @property
    def own_uid(self) -> int | None:
        """The uid only this lease's process runs as (one drawn for it), None when the
        identity is fixed (a ``containerProperties.user`` others may share, or no switch)."""
        return self.identity.uid if self._pool is not None and self.identity else None

    def release(self) -> None:
        """Give the uid back (a no-op for fixed identities and a second call)."""
        if self._pool is not None and self.identity is not None:
            self._pool.give_back(self.identity.uid)
            self._pool = None


def _cannot_find(kind: str, name: str) -> LaunchError:
    return LaunchError(
        f"CannotStartContainerError: unable to find {kind} {name}: "
        f"no matching entries in {'passwd' if kind == 'user' else 'group'} file"
    )


def _group_id(group: str) -> int:
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise _cannot_find("group", group) from None


def resolve_user(user: str) -> JobIdentity:
    """The identity ``containerProperties.user`` names: ``name``, ``uid``, ``name:group`` or
    ``uid:gid``; a launch error when a name is unknown or it is root."""
    name, _, group = user.partition(":")
    entry: pwd.struct_passwd | None
    if name.isdigit():
        uid = int(name)
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            entry = None
    else:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise _cannot_find("user", name) from None
        uid = entry.pw_uid
    gid = _group_id(group) if group else (entry.pw_gid if entry else uid)
    if uid == 0 or gid == 0:
        raise LaunchError(
            f"CannotStartContainerError: user {user!r} is root on this host "
            "(local attempts have no container); name an unprivileged user"
        )
    return JobIdentity(
        uid, gid, entry.pw_name if entry else str(uid), init_groups=entry is not None and not group
    )


def _ensure_user(name: str) -> pwd.struct_passwd:
    """The passwd entry of ``name``, creating a system user without a home or shell."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or shutil.which("useradd", path="/usr/sbin:/sbin")
    if useradd is None:
        raise RuntimeError(f"job user {name!r} does not exist and there is no useradd to make it")
    result = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            NOLOGIN,
            name,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(
            f"could not create job user {name!r}: {result.stderr.strip() or result.returncode}"
        ) from None


def reachable_by_anyone(path: Path) -> bool:
    """Whether a process of an unrelated uid could read ``path`` (every directory above it
    searchable by others, the path itself readable), judged from the mode bits."""
    try:
        resolved = path.resolve(strict=True)
        return bool(resolved.stat().st_mode & stat.S_IROTH) and _searchable(resolved.parents)
    except OSError:
        return False


def _searchable(folders: Sequence[Path]) -> bool:
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in folders)


def warn_unless_searchable(folder: Path) -> None:
    """Log when jobs could not reach ``folder`` by its path: a directory above it is closed
    to other users (they still run in it, but an absolute path such as HOME fails)."""
    existing = next(p for p in (folder.resolve(), *folder.resolve().parents) if p.exists())
    try:
        if _searchable([existing, *existing.parents]):
            return
    except OSError:
        pass
    log.warning(
        "jobs cannot reach %s by its path: a directory above it is closed to other users", folder
    )


class Identities:
    """Hands out the identities of one server's attempts and workers."""

    def __init__(self, job_user: str, switching: bool) -> None:
        """``switching``: whether this process may change credentials (it is root)."""
        self.switching = switching
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._gid = os.getgid()
        self._name = job_user
        if switching:
            entry = _ensure_user(job_user)
            if entry.pw_uid == 0 or entry.pw_gid == 0:
                raise ValueError(f"job user {job_user!r} is root or in root's group")
            self._gid, self._name = entry.pw_gid, entry.pw_name
        else:
            log.warning(
                "%s: attempts and Lambda workers run as this server's own user, so they can "
                "read its data directory and signal it",
                "not running as root" if os.geteuid() else "setpriv is missing",
            )

    def lease(self, user: str | None = None) -> Lease:
        """The identity for a new process: ``user`` when given, else a fresh uid of its own
        in the job user's group; no switch (None) when this server cannot switch."""
        if not self.switching:
            return Lease(None)
        if user:
            return Lease(resolve_user(user))
        with self._lock:
            while (uid := UID_BASE + secrets.randbelow(UID_SPAN)) in self._held:
                pass
            self._held.add(uid)
        return Lease(JobIdentity(uid, self._gid, self._name), self)

    def give_back(self, uid: int) -> None:
        """Let ``uid`` be handed out again."""
        with self._lock:
            self._held.discard(uid)


@functools.cache
def job_identities(job_user: str) -> Identities:
    """The one ``Identities`` of this process for ``job_user``: attempts and workers draw
    from the same set of uids, and the user is created and the log line written once."""
    return Identities(job_user, switching=os.geteuid() == 0 and shutil.which("setpriv") is not None)
