"""What a ``valueFrom`` names: a Secrets Manager secret (optionally one JSON key of it, a
version stage or a version id) or an SSM parameter.

Secrets Manager: ``arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:
<version-stage>:<version-id>]``, the optional parts empty to take the defaults. SSM:
``arn:aws:ssm:<region>:<account>:parameter/<name>``, or the parameter's name alone.
"""

from __future__ import annotations

from dataclasses import dataclass

SECRETS_MANAGER = "secretsmanager"
SSM = "ssm"
CURRENT_STAGE = "AWSCURRENT"


class InvalidReference(ValueError):
    """A ``valueFrom`` that names no secret or parameter."""


@dataclass(frozen=True)
class SecretReference:
    """A parsed ``valueFrom``."""

    service: str
    name: str
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None


def parse(value_from: str) -> SecretReference:
    """The secret or parameter ``value_from`` names; raises InvalidReference."""
    if not value_from:
        raise InvalidReference("valueFrom is empty")
    if not value_from.startswith("arn:"):
        return SecretReference(SSM, value_from)
    parts = value_from.split(":")
    if len(parts) < 6:
        raise InvalidReference(f"{value_from} is not a valid ARN")
    service, resource = parts[2], parts[5:]
    if service == SECRETS_MANAGER:
        return _secret(value_from, resource)
    if service == SSM and len(resource) == 1 and resource[0].startswith("parameter/"):
        name = resource[0].removeprefix("parameter")
        # parameter/a/b names "/a/b"; parameter/token names "token".
        return SecretReference(SSM, name if name.count("/") > 1 else name[1:])
    raise InvalidReference(f"{value_from} is neither a Secrets Manager secret nor an SSM parameter")


def _secret(value_from: str, resource: list[str]) -> SecretReference:
    if resource[0] != "secret" or len(resource) not in (2, 5) or not resource[1]:
        raise InvalidReference(
            f"{value_from} is not a secret ARN "
            "(arn:aws:secretsmanager:region:account:secret:name[:json-key:version-stage:version-id])"
        )
    json_key, stage, version = [*resource[2:], "", "", ""][:3]
    if stage and version:
        raise InvalidReference(
            f"{value_from}: a version stage and a version id cannot both be given"
        )
    return SecretReference(
        SECRETS_MANAGER, resource[1], json_key or None, stage or None, version or None
    )
