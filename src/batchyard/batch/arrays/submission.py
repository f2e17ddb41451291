"""SubmitJob rules for array jobs and for ``dependsOn`` in all its forms.

``arrayProperties.size`` is 2-10,000. ``dependsOn`` has at most 20 entries: a plain entry
names any existing job (an array parent means the whole array, ``<id>:<index>`` one child);
``N_TO_N`` names an array of the same size, child ``i`` waiting for child ``i``;
``SEQUENTIAL`` makes an array's children run one after the other (a jobId beside it is a
plain dependency of the array). Both typed forms belong to array jobs only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from batchyard.batch.arrays import children
from batchyard.batch.jobs import records
from batchyard.batch.resources.names import client_error

MIN_SIZE = 2
MAX_SIZE = 10_000
MAX_DEPENDENCIES = 20


def array_properties(params: dict[str, Any]) -> dict[str, int] | None:
    """The parent's ``arrayProperties`` for a SubmitJob request, None for a plain job."""
    properties = params.get("arrayProperties")
    if not properties or properties.get("size") is None:
        return None
    size = properties["size"]
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise client_error(f"Array size must be between {MIN_SIZE} and {MAX_SIZE}; got {size}.")
    return {"size": size}


def check_dependencies(
    conn: Connection, dependencies: list[dict[str, Any]], array_size: int | None
) -> None:
    """Refuse a ``dependsOn`` list AWS would refuse (ClientException)."""
    if len(dependencies) > MAX_DEPENDENCIES:
        raise client_error(f"A job can depend on at most {MAX_DEPENDENCIES} jobs.")
    for dependency in dependencies:
        kind = dependency.get("type")
        job_id = dependency.get("jobId")
        if kind in (children.N_TO_N, children.SEQUENTIAL) and array_size is None:
            raise client_error(f"{kind} dependencies can only be used by array jobs.")
        if not job_id:
            if kind != children.SEQUENTIAL:
                raise client_error(
                    "dependsOn entries need a jobId, except SEQUENTIAL entries of array jobs."
                )
            continue
        found = records.documents(conn, [job_id]).get(job_id)
        if found is None:
            raise client_error(f"Dependent job {job_id} does not exist.")
        if kind == children.N_TO_N and children.size_of(found) != array_size:
            raise client_error(
                f"An N_TO_N dependency needs an array job of the same size ({array_size}); "
                f"job {job_id} is not one."
            )
