"""FunctionName as Lambda accepts it: a name, a full ARN or a partial ARN, maybe qualified."""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchyard.protocol.errors import ServiceError

LATEST = "$LATEST"
MAX_NAME = 64

_FORM = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z0-9-]+):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_-]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    """Which function a request names, and with which qualifier (None when unqualified)."""

    name: str
    qualifier: str | None = None


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]``."""
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def parse_function_name(
    value: str, region: str, account: str, qualifier: str | None = None
) -> FunctionRef:
    """Resolve ``value`` to the function it names in this region and account.

    A name from another region or account names no function here, so it is reported as not
    found with the ARN the caller gave, as Lambda does for a function it cannot see.
    """
    match = _FORM.match(value)
    if match is None:
        raise ServiceError(
            "InvalidParameterValueException",
            f"1 validation error detected: Value '{value}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
            "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
            Type="User",
        )
    name = match["name"]
    if len(name) > MAX_NAME:
        raise ServiceError(
            "InvalidParameterValueException",
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_NAME}",
            Type="User",
        )
    embedded = match["qualifier"]
    if embedded and qualifier and embedded != qualifier:
        raise ServiceError(
            "InvalidParameterValueException",
            "The derived qualifier from the function name does not match the specified "
            "qualifier.",
            Type="User",
        )
    chosen = embedded or qualifier
    foreign = (match["region"] and match["region"] != region) or (
        match["account"] and match["account"] != account
    )
    if foreign:
        raise not_found(value)
    return FunctionRef(name=name, qualifier=chosen)


def not_found(arn: str) -> ServiceError:
    """Lambda's answer for a function (or qualified function) that does not exist."""
    return ServiceError(
        "ResourceNotFoundException", f"Function not found: {arn}", Type="User"
    )
