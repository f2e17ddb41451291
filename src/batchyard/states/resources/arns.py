"""Step Functions ARNs and names: building them, reading them, and AWS's errors for bad ones."""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchyard.protocol.errors import ServiceError

# AWS rejects whitespace, brackets, wildcards, these punctuation marks and control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_ARN = re.compile(r"^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):([A-Za-z]+):(.+)$")


@dataclass(frozen=True)
class Arn:
    """A parsed ``arn:<partition>:states:<region>:<account>:<kind>:<rest>``."""

    partition: str
    region: str
    account: str
    kind: str
    parts: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}"


def invalid_arn(arn: str, reason: str | None = None) -> ServiceError:
    """AWS's InvalidArn error for ``arn``."""
    return ServiceError("InvalidArn", f"Invalid Arn: '{reason or arn}'")


def parse_arn(arn: str, *kinds: str) -> Arn:
    """Split a Step Functions ARN, insisting its resource type is one of ``kinds``."""
    match = _ARN.match(arn)
    if match is None:
        raise invalid_arn(arn, f"Invalid ARN prefix: {arn}")
    partition, region, account, kind, rest = match.groups()
    if kind not in kinds:
        raise invalid_arn(arn, f"Resource type not valid in this context: {kind}")
    return Arn(partition, region, account, kind, tuple(rest.split(":")))


def check_name(name: str) -> str:
    """Raise InvalidName unless ``name`` is a valid state machine, execution or activity name."""
    if not 1 <= len(name) <= 80 or _BAD_NAME.search(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
    return name


def machine_arn(prefix: str, name: str) -> str:
    """The unqualified ARN of state machine ``name``."""
    return f"{prefix}:stateMachine:{name}"


def version_arn(machine: str, version: int) -> str:
    """The ARN of version ``version`` of state machine ``machine``."""
    return f"{machine}:{version}"


def alias_arn(machine: str, alias: str) -> str:
    """The ARN of alias ``alias`` of state machine ``machine``."""
    return f"{machine}:{alias}"


def execution_arn(machine: str, name: str) -> str:
    """A Standard execution's ARN: ``...:execution:<machine name>:<execution name>``."""
    parsed = parse_arn(machine, "stateMachine")
    return f"{parsed.prefix}:execution:{parsed.parts[0]}:{name}"


def express_execution_arn(machine: str, name: str, run_id: str) -> str:
    """An Express execution's ARN: ``...:express:<machine name>:<execution name>:<id>``."""
    parsed = parse_arn(machine, "stateMachine")
    return f"{parsed.prefix}:express:{parsed.parts[0]}:{name}:{run_id}"


def activity_arn(prefix: str, name: str) -> str:
    """The ARN of activity ``name``."""
    return f"{prefix}:activity:{name}"


def split_qualified(arn: str) -> tuple[str, str | None]:
    """(unqualified state machine ARN, version number or alias name or None)."""
    parsed = parse_arn(arn, "stateMachine")
    if len(parsed.parts) > 2:
        raise invalid_arn(arn)
    base = machine_arn(parsed.prefix, parsed.parts[0])
    return base, parsed.parts[1] if len(parsed.parts) == 2 else None
