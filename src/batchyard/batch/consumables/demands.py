"""What a submitted job asks of consumable resources.

The job definition's ``consumableResourceProperties`` list the resources and per-job
quantities; ``consumableResourcePropertiesOverride`` at SubmitJob replaces the quantity of
the resources it names (and may add resources), never a resource's total. The result is the
job's ``consumableResourceProperties`` in DescribeJobs, and one demand row per resource.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from batchyard.batch.consumables import store
from batchyard.batch.resources.names import client_error

MAX_PER_JOB = 5


def _name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def job_properties(
    conn: Connection, definition: dict[str, Any], params: dict[str, Any]
) -> dict[str, Any] | None:
    """The job's ``consumableResourceProperties``, None when it needs none.

    Raises ClientException for unknown resources and quantities below 1.
    """
    listed = (definition.get("consumableResourceProperties") or {}).get(
        "consumableResourceList"
    ) or []
    merged: dict[str, dict[str, Any]] = {
        _name(item["consumableResource"]): dict(item) for item in listed
    }
    override = (params.get("consumableResourcePropertiesOverride") or {}).get(
        "consumableResourceList"
    ) or []
    for item in override:
        reference = item.get("consumableResource")
        if not reference:
            raise client_error("consumableResourceList entries must name a consumableResource.")
        merged[_name(reference)] = {
            "consumableResource": reference,
            "quantity": item.get("quantity"),
        }
    if not merged:
        return None
    if len(merged) > MAX_PER_JOB:
        raise client_error(f"A job can require at most {MAX_PER_JOB} consumable resources.")
    for name, item in merged.items():
        if item.get("quantity") is None or item["quantity"] < 1:
            raise client_error("consumableResourceList quantity must be at least 1.")
        if store.find(conn, item["consumableResource"]) is None:
            raise client_error(f"Consumable resource {name} does not exist.")
    return {"consumableResourceList": list(merged.values())}


def record(conn: Connection, document: dict[str, Any], seq: int) -> None:
    """Store the demand rows of a newly submitted job document."""
    listed = (document.get("consumableResourceProperties") or {}).get("consumableResourceList")
    if listed:
        store.add_demands(
            conn,
            document["jobId"],
            seq,
            [(_name(item["consumableResource"]), int(item["quantity"])) for item in listed],
        )
