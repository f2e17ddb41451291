"""MemorySize is a limit: a handler that outgrows it is killed as Lambda kills it, the next
invocation gets a fresh worker, and one that stays within it runs."""

from __future__ import annotations

from typing import Any

from batchyard.compute.limits import CgroupLayout
from tests.functions.support import call, create

GROW = """
    def handler(event, context):
        block = bytearray(event["mib"] * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        return {"mib": event["mib"], "memory": context.memory_limit_in_mb}
"""


def test_a_handler_that_outgrows_its_memory_size_is_killed(lam: Any) -> None:
    layout = CgroupLayout.detect()
    assert layout.memory_parent is not None, "this host must give the server a memory cgroup"
    name = create(lam, GROW, MemorySize=128, Timeout=30)
    response, body = call(lam, name, {"mib": 400})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
    assert call(lam, name, {"mib": 20})[1] == {"mib": 20, "memory": "128"}
    # The same allocation fits once the function has the memory.
    lam.update_function_configuration(FunctionName=name, MemorySize=1024)
    assert call(lam, name, {"mib": 400})[1] == {"mib": 400, "memory": "1024"}


OWN_CGROUP = """
    def handler(event, context):
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
        # cgroup v1 names the memory hierarchy; a v2-only host has the one line "0::/…".
        line = next((e for e in lines if ":memory:" in e), lines[-1])
        return line.rpartition("/")[2]
"""


def test_worker_cgroups_are_removed_with_their_workers(lam: Any) -> None:
    layout = CgroupLayout.detect()
    assert layout.memory_parent is not None
    name = create(lam, OWN_CGROUP, MemorySize=256)
    # The worker says which group it runs in: other functions' workers may come and go.
    group = call(lam, name)[1]
    assert group.startswith("batchyard-fn-"), "the worker runs in a cgroup of its own"
    assert (layout.memory_parent / group).is_dir()
    lam.delete_function(FunctionName=name)
    assert not (layout.memory_parent / group).exists()
