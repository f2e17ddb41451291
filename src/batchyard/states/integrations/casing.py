"""Step Functions' PascalCase spelling of a service's API members, driven by botocore's model.

Task parameters name a service's members in PascalCase (``JobQueue`` for Batch's
``jobQueue``) and results come back the same way. Only structure member names change case:
map keys (job parameters, tags) are the user's own and pass through untouched.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from batchyard.states.asl.errors import RuntimeFailure


def pascal(name: str) -> str:
    """``jobQueue`` → ``JobQueue``."""
    return name[:1].upper() + name[1:]


def to_service(shape: Shape, value: Any, field: str = "Parameters") -> Any:
    """A PascalCase parameter document as the service's request members.

    A member the service does not have fails the task, as AWS refuses such parameters.
    """
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {pascal(name): name for name in shape.members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = members.get(key)
            if name is None:
                raise RuntimeFailure(
                    f"The field '{key}' is not supported by Step Functions in {field}"
                )
            out[name] = to_service(shape.members[name], item, f"{field}.{key}")
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_service(shape.member, item, field) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_service(shape.value, item, field) for key, item in value.items()}
    return value


def from_service(shape: Shape, value: Any) -> Any:
    """A service's response document in PascalCase; members the model lacks are dropped."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            pascal(name): from_service(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members and item is not None
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [from_service(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: from_service(shape.value, item) for key, item in value.items()}
    return value
