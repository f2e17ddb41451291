"""Event buses: this server has the ``default`` bus only."""

from __future__ import annotations

from batchyard.protocol.errors import ServiceError

DEFAULT_BUS = "default"


def bus_name(name_or_arn: str | None) -> str:
    """The bus a request names (by name or ARN); ResourceNotFoundException unless default."""
    name = (name_or_arn or DEFAULT_BUS).rsplit("event-bus/", 1)[-1]
    if name != DEFAULT_BUS:
        raise ServiceError("ResourceNotFoundException", f"Event bus {name} does not exist.")
    return name
