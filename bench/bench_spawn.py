"""What starting one attempt's process costs: plain ``true`` against the launcher's command.

The local provider starts attempts by vfork and lets the child set itself up: ``setpriv``
(parent-death signal) and ``sh`` (joining the attempt's cgroups) run before the command.
This prints the parent's and the children's CPU per start for plain ``true``, for ``true``
behind the launcher, and behind the launcher joining a memory (and cpu) cgroup, and the
ratio of the last to plain ``true`` in child CPU, the price paid for not forking the server.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import time

from harness import report

from batchyard.compute.launcher import wrap
from batchyard.compute.limits import AttemptLimits, CgroupLayout


def _cost(argv: list[str], count: int) -> dict[str, float]:
    """Parent CPU, child CPU and wall ms per start of ``argv`` (run to its end)."""
    before_self = resource.getrusage(resource.RUSAGE_SELF)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    for _ in range(count):
        subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL).wait()
    wall = time.perf_counter() - began
    after_self = resource.getrusage(resource.RUSAGE_SELF)
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)

    def spent(after: resource.struct_rusage, before: resource.struct_rusage) -> float:
        return (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000

    return {
        "parent_cpu_ms": spent(after_self, before_self) / count,
        "child_cpu_ms": spent(after_children, before_children) / count,
        "wall_ms": wall * 1000 / count,
    }


def main() -> None:
    """Measure the three ways of starting ``true`` and report the child-CPU ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 starts each instead of 500")
    args = parser.parse_args()
    count = 100 if args.quick else 500
    true = "/bin/true"
    plain = _cost([true], count)
    wrapped = _cost(wrap([true], cgroup_procs=[], address_space_kib=None), count)
    limits = AttemptLimits(CgroupLayout.detect(), f"batchyard-bench-{os.getpid()}", 2048, 1.0)
    groups = len(limits.cgroup_procs())
    try:
        joined = _cost(
            wrap(
                [true],
                cgroup_procs=limits.cgroup_procs(),
                address_space_kib=limits.address_space_kib(),
            ),
            count,
        )
    finally:
        limits.release()
    figures: dict[str, float | int | str] = {"starts_each": count}
    for label, cost in (("plain", plain), ("launcher", wrapped), ("launcher_cgroups", joined)):
        figures.update({f"{label}_{key}": value for key, value in cost.items()})
    figures["cgroups_joined"] = groups
    report(
        "Starting one attempt's process",
        figures,
        joined["child_cpu_ms"] / plain["child_cpu_ms"],
        "plain `true` (child CPU per start)",
        "none set (reported)",
    )


if __name__ == "__main__":
    main()
