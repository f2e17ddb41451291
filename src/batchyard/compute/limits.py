"""Resource limits for local attempts: a cgroup per attempt where the host allows it.

With a writable memory cgroup (v1 or v2) each attempt gets its own child group with a hard
memory limit, and the kernel's OOM-kill counter tells us afterwards whether the attempt was
killed for memory, which is reported the way AWS reports it. vCPUs become a CFS quota when
the cpu controller is writable too. Without cgroups the memory limit falls back to
RLIMIT_AS, which makes allocations fail instead of killing the process, so an
out-of-memory end cannot be told apart from any other failure there.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CFS_PERIOD_US = 100_000


def _own_cgroups() -> dict[str, str]:
    """Controller name → this process's cgroup path ("" key for the v2 unified group)."""
    groups: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return groups
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups


def _writable_dir(path: Path) -> Path | None:
    return path if path.is_dir() and os.access(path, os.W_OK) else None


@dataclass(frozen=True)
class CgroupLayout:
    """Where attempt cgroups are created on this host (None: that limit is unavailable)."""

    memory_parent: Path | None
    cpu_parent: Path | None
    unified: bool

    @classmethod
    def detect(cls) -> CgroupLayout:
        """Find writable memory/cpu cgroups of this process, v1 or v2."""
        groups = _own_cgroups()
        if "memory" in groups:
            memory = _writable_dir(CGROUP_ROOT / "memory" / groups["memory"].lstrip("/"))
            cpu_path = groups.get("cpu")
            cpu = _writable_dir(CGROUP_ROOT / "cpu" / cpu_path.lstrip("/")) if cpu_path else None
            return cls(memory, cpu, unified=False)
        if "" in groups and (CGROUP_ROOT / "cgroup.controllers").exists():
            parent = _writable_dir(CGROUP_ROOT / groups[""].lstrip("/"))
            if parent is not None:
                controllers = (parent / "cgroup.subtree_control").read_text().split()
                memory = parent if "memory" in controllers else None
                cpu = parent if "cpu" in controllers else None
                return cls(memory, cpu, unified=True)
        return cls(None, None, unified=False)


def remove_stale_groups(layout: CgroupLayout, prefix: str) -> None:
    """Remove empty attempt cgroups named ``prefix*`` that a dead server left behind."""
    for parent in {layout.memory_parent, layout.cpu_parent} - {None}:
        assert parent is not None
        for group in parent.glob(f"{prefix}*"):
            with contextlib.suppress(OSError):
                group.rmdir()


class AttemptLimits:
    """The cgroups (or rlimits) of one attempt: set up before start, inspected after exit."""

    def __init__(
        self, layout: CgroupLayout, name: str, memory_mib: int | None, vcpus: float
    ) -> None:
        self._layout = layout
        self._memory_mib = memory_mib
        self._groups: list[Path] = []
        self._memory_group: Path | None = None
        if memory_mib and layout.memory_parent is not None:
            self._memory_group = self._make(layout.memory_parent / name)
            if self._memory_group is not None:
                limit = str(memory_mib * 1024 * 1024)
                limit_file = "memory.max" if layout.unified else "memory.limit_in_bytes"
                (self._memory_group / limit_file).write_text(limit)
                swap_file = "memory.swap.max" if layout.unified else "memory.memsw.limit_in_bytes"
                # Without swap accounting the attempt could page past its limit.
                with contextlib.suppress(OSError):
                    (self._memory_group / swap_file).write_text("0" if layout.unified else limit)
        if vcpus > 0 and layout.cpu_parent is not None:
            quota = int(vcpus * CFS_PERIOD_US)
            group = (
                self._memory_group
                if layout.unified and self._memory_group is not None
                else self._make(layout.cpu_parent / name)
            )
            if group is not None:
                with contextlib.suppress(OSError):
                    if layout.unified:
                        (group / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}")
                    else:
                        (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
                        (group / "cpu.cfs_quota_us").write_text(str(quota))

    def _make(self, path: Path) -> Path | None:
        try:
            path.mkdir(exist_ok=True)
        except OSError:
            return None
        if path not in self._groups:
            self._groups.append(path)
        return path

    def cgroup_procs(self) -> list[Path]:
        """The ``cgroup.procs`` files the attempt's process must join before its command runs."""
        return [group / "cgroup.procs" for group in self._groups]

    def address_space_kib(self) -> int | None:
        """The RLIMIT_AS cap (KiB) standing in for a memory cgroup, None when not needed."""
        if self._memory_mib and self._memory_group is None:
            return self._memory_mib * 1024
        return None

    def out_of_memory(self) -> bool:
        """Whether the kernel OOM-killed a process of this attempt."""
        if self._memory_group is None:
            return False
        name = "memory.events" if self._layout.unified else "memory.oom_control"
        try:
            text = (self._memory_group / name).read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def release(self) -> None:
        """Remove the attempt's cgroups (they must be empty by now)."""
        for group in self._groups:
            with contextlib.suppress(OSError):
                group.rmdir()
