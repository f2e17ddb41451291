"""Array children as the rest of the service sees them: ids, and documents synthesized from
the parent for children that have no row of their own yet.

A parent's ``runtime["array"]`` records what its children cannot: whether the array was
released (its own dependencies met, children RUNNABLE or waiting on theirs) and whether it
was cancelled or terminated as a whole. With those, the state of a child without a row
follows from the parent alone.
"""

from __future__ import annotations

from typing import Any

from batchyard.batch.jobs.model import FAILED, PENDING, RUNNABLE, RUNNABLE_SINCE, SUBMITTED

SEPARATOR = ":"
SEQUENTIAL = "SEQUENTIAL"
N_TO_N = "N_TO_N"
# Members of the parent's document a child does not inherit: its own run and dependencies.
NOT_INHERITED = (
    "arrayProperties",
    "attempts",
    "dependsOn",
    "isCancelled",
    "isTerminated",
    "startedAt",
    "statusReason",
    "stoppedAt",
    "tags",
)


def child_id(parent_id: str, index: int) -> str:
    """The id of child ``index`` of array ``parent_id``."""
    return f"{parent_id}{SEPARATOR}{index}"


def split(job_id: str) -> tuple[str, int] | None:
    """(parent id, index) of an array child id, None for any other id."""
    parent, separator, index = job_id.rpartition(SEPARATOR)
    if not separator or not parent or not index.isdigit():
        return None
    return parent, int(index)


def size_of(document: dict[str, Any]) -> int | None:
    """The size of an array parent, None for any other job."""
    properties = document.get("arrayProperties") or {}
    size = properties.get("size")
    return int(size) if size is not None and "index" not in properties else None


def is_sequential(document: dict[str, Any]) -> bool:
    """Whether the array's children run one after the other (a SEQUENTIAL dependency)."""
    return any(d.get("type") == SEQUENTIAL for d in document.get("dependsOn") or [])


def n_to_n_sources(document: dict[str, Any]) -> list[str]:
    """The arrays whose child ``i`` each child ``i`` of this array waits for."""
    return [
        d["jobId"]
        for d in document.get("dependsOn") or []
        if d.get("type") == N_TO_N and d.get("jobId")
    ]


def own_dependencies(document: dict[str, Any]) -> list[str]:
    """The jobs the array as a whole waits for before any child may run."""
    return [
        d["jobId"]
        for d in document.get("dependsOn") or []
        if d.get("jobId") and d.get("type") != N_TO_N
    ]


def waits_per_child(document: dict[str, Any]) -> bool:
    """Whether released children still wait on dependencies of their own."""
    return is_sequential(document) or bool(n_to_n_sources(document))


def array_state(runtime: dict[str, Any]) -> dict[str, Any]:
    """The parent's array bookkeeping (released, cancel)."""
    return dict(runtime.get("array") or {})


def implicit_state(
    parent: dict[str, Any], runtime: dict[str, Any]
) -> tuple[str, str | None, dict[str, Any]]:
    """(status, statusReason, extra members) of the parent's children that have no row."""
    state = array_state(runtime)
    cancel = state.get("cancel")
    if cancel:
        return FAILED, cancel["reason"], {cancel["flag"]: True, "stoppedAt": cancel["at"]}
    if not state.get("released"):
        status = parent["status"]
        if status == FAILED:
            return FAILED, parent.get("statusReason"), {"stoppedAt": parent.get("stoppedAt")}
        return (SUBMITTED if status == SUBMITTED else PENDING), None, {}
    return (PENDING if waits_per_child(parent) else RUNNABLE), None, {}


def implicit_runtime(parent: dict[str, Any], runtime: dict[str, Any]) -> dict[str, Any]:
    """The ``runtime`` of the parent's children that have no row: a RUNNABLE child has been
    RUNNABLE since its array was released."""
    released_at = array_state(runtime).get("releasedAt")
    if released_at is None or implicit_state(parent, runtime)[0] != RUNNABLE:
        return {}
    return {RUNNABLE_SINCE: released_at}


def dependencies_of(parent: dict[str, Any], index: int) -> list[dict[str, str]]:
    """``dependsOn`` of child ``index``: its predecessor (SEQUENTIAL), its peers (N_TO_N)."""
    parent_id = parent["jobId"]
    found = [
        {"jobId": child_id(source, index), "type": N_TO_N} for source in n_to_n_sources(parent)
    ]
    if is_sequential(parent) and index > 0:
        found.append({"jobId": child_id(parent_id, index - 1), "type": SEQUENTIAL})
    return found


def document(parent: dict[str, Any], runtime: dict[str, Any], index: int) -> dict[str, Any]:
    """Child ``index`` of ``parent`` as it is before it has a row; ``parent`` is consumed."""
    child = {k: v for k, v in parent.items() if k not in NOT_INHERITED}
    child["jobId"] = child_id(parent["jobId"], index)
    child["jobArn"] = child_id(parent["jobArn"], index)
    child["arrayProperties"] = {"index": index, "size": size_of(parent)}
    child["dependsOn"] = dependencies_of(parent, index)
    child["attempts"] = []
    child["tags"] = {}
    status, reason, extra = implicit_state(parent, runtime)
    child["status"] = status
    if reason is not None:
        child["statusReason"] = reason
    child.update({k: v for k, v in extra.items() if v is not None})
    return child
