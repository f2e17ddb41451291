"""Which containers the kernel killed for memory, read from the kernel log.

An engine reports ``State.OOMKilled`` only when it caught the kill itself: Docker does,
Podman 4.3 with runc on cgroup v1 (this development host) does not, although the kernel
counted it. The kernel writes one ``oom-kill:`` record per kill naming the memory cgroup
whose limit was hit (``oom_memcg=/libpod_parent/libpod-<id>``, ``/docker/<id>``,
``/system.slice/docker-<id>.scope``), which holds the container's id; this is what the
kubelet watches for the same reason. Records stay in the kernel's ring buffer, so a kill
that happened while no server was running is still found when a new one re-attaches.

Reading ``/dev/kmsg`` needs root (the engine's own host); elsewhere this finds nothing
and the engine's word is all there is.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

KMSG = Path("/dev/kmsg")
READ_SIZE = 8192
_OOM_MEMCG = re.compile(rb"oom_memcg=([^,\s]*)")
_CONTAINER_ID = re.compile(rb"[0-9a-f]{64}")


class OomLog:
    """The ids of containers whose memory limit the kernel has killed a process for."""

    def __init__(self, path: Path = KMSG) -> None:
        self._path = path
        self._fd: int | None = None
        self._unreadable = False
        self._killed: set[str] = set()
        self._lock = threading.Lock()

    def killed_in(self, container_id: str) -> bool:
        """Whether the kernel has logged an OOM kill in ``container_id``'s memory cgroup.

        Blocking (reads what the kernel logged since the last call); call it from a worker
        thread, after the container has ended, so that its kill is already logged.
        """
        with self._lock:
            self._read_new()
            return container_id in self._killed

    def _read_new(self) -> None:
        if self._fd is None:
            if self._unreadable:
                return
            try:
                # A new reader starts at the oldest record the ring buffer still holds.
                self._fd = os.open(self._path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                self._unreadable = True
                return
        while True:
            try:
                record = os.read(self._fd, READ_SIZE)
            except BlockingIOError:
                return
            except BrokenPipeError:
                # Records were overwritten before they were read; go on with the next ones.
                continue
            except OSError:
                return
            if not record:
                return
            # One record per read from /dev/kmsg: "priority,sequence,time,flags;message\n"
            # and continuation lines; a plain file (a saved log) gives many at once.
            for line in record.split(b"\n"):
                message = line.partition(b";")[2]
                if message.startswith(b"oom-kill:"):
                    memcg = _OOM_MEMCG.search(message)
                    if memcg is not None:
                        self._killed.update(i.decode() for i in _CONTAINER_ID.findall(memcg[1]))

    def close(self) -> None:
        """Close the kernel log."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
