"""Step Functions ARNs and names, read with the shared ARN parser, and AWS's errors for a bad
one or for one that names nothing.

Every ARN a caller hands in is read here first: its resource type must fit the operation
(InvalidArn otherwise), and an ARN of another account or region names nothing the caller can
see (the operation's "does not exist" error).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from batchyard.aws import arns
from batchyard.aws.caller import Caller
from batchyard.protocol.errors import ServiceError

# AWS rejects whitespace, brackets, wildcards, these punctuation marks and control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_KIND = re.compile(r"[A-Za-z]+")
_ACCOUNT = re.compile(r"\d{12}")

NotFound = Callable[[str], ServiceError]


@dataclass(frozen=True, slots=True)
class StatesArn:
    """A parsed ``arn:<partition>:states:<region>:<account>:<kind>:<rest>``."""

    partition: str
    region: str
    account: str
    kind: str
    parts: tuple[str, ...]

    @property
    def prefix(self) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account}"

    def seen_by(self, caller: Caller) -> bool:
        """Whether the resource is in the caller's account and region."""
        return self.account == caller.account_id and self.region == caller.region


def invalid_arn(arn: str, reason: str | None = None) -> ServiceError:
    """AWS's InvalidArn error for ``arn``."""
    return ServiceError("InvalidArn", f"Invalid Arn: '{reason or arn}'")


def parse_arn(arn: str, *kinds: str) -> StatesArn:
    """Split a Step Functions ARN, insisting its resource type is one of ``kinds``."""
    parsed = arns.parse(arn, "states")
    kind = parsed.resource_type if parsed is not None else ""
    if (
        parsed is None
        or not parsed.region
        or _ACCOUNT.fullmatch(parsed.account) is None
        or _KIND.fullmatch(kind) is None
        or parsed.resource[len(kind) : len(kind) + 1] != ":"
        or not parsed.resource_id
        or "\n" in parsed.resource_id
    ):
        raise invalid_arn(arn, f"Invalid ARN prefix: {arn}")
    if kind not in kinds:
        raise invalid_arn(arn, f"Resource type not valid in this context: {kind}")
    return StatesArn(
        parsed.partition, parsed.region, parsed.account, kind,
        tuple(parsed.resource_id.split(":")),
    )


def owned(caller: Caller, arn: str, missing: NotFound, *kinds: str) -> StatesArn:
    """:func:`parse_arn`, and ``missing(arn)`` when the ARN is of another account or region."""
    parsed = parse_arn(arn, *kinds)
    if not parsed.seen_by(caller):
        raise missing(arn)
    return parsed


def check_name(name: str) -> str:
    """Raise InvalidName unless ``name`` is a valid state machine, execution or activity name."""
    if not 1 <= len(name) <= 80 or _BAD_NAME.search(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
    return name


def machine_arn(caller: Caller, name: str) -> str:
    """The unqualified ARN of state machine ``name`` of the caller."""
    return caller.arn("states", f"stateMachine:{name}")


def activity_arn(caller: Caller, name: str) -> str:
    """The ARN of activity ``name`` of the caller."""
    return caller.arn("states", f"activity:{name}")


def qualified_arn(machine: str, qualifier: int | str) -> str:
    """The ARN of version ``qualifier`` (a number) or alias ``qualifier`` of ``machine``."""
    return f"{machine}:{qualifier}"


def execution_arn(machine: str, name: str) -> str:
    """A Standard execution's ARN: ``...:execution:<machine name>:<execution name>``."""
    parsed = parse_arn(machine, "stateMachine")
    return f"{parsed.prefix}:execution:{parsed.parts[0]}:{name}"


def express_execution_arn(machine: str, name: str, run_id: str) -> str:
    """An Express execution's ARN: ``...:express:<machine name>:<execution name>:<id>``."""
    parsed = parse_arn(machine, "stateMachine")
    return f"{parsed.prefix}:express:{parsed.parts[0]}:{name}:{run_id}"


def split_qualified(arn: str) -> tuple[str, str | None]:
    """(unqualified state machine ARN, version number or alias name or None)."""
    parsed = parse_arn(arn, "stateMachine")
    if len(parsed.parts) > 2:
        raise invalid_arn(arn)
    base = f"{parsed.prefix}:stateMachine:{parsed.parts[0]}"
    return base, parsed.parts[1] if len(parsed.parts) == 2 else None


# -- what an ARN that names nothing gets -----------------------------------------------------
def machine_does_not_exist(arn: str) -> ServiceError:
    """AWS's StateMachineDoesNotExist for ``arn``."""
    return ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


def execution_does_not_exist(arn: str) -> ServiceError:
    """AWS's ExecutionDoesNotExist."""
    return ServiceError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")


def activity_does_not_exist(arn: str) -> ServiceError:
    """AWS's ActivityDoesNotExist."""
    return ServiceError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")


def resource_not_found(arn: str) -> ServiceError:
    """AWS's ResourceNotFound (aliases, versions, Map Runs, tagged resources)."""
    return ServiceError("ResourceNotFound", f"Resource not found: '{arn}'", resourceName=arn)
