"""Secrets for jobs: ``secrets[].valueFrom`` references resolved from a local file when an
attempt starts.

A ``valueFrom`` names a Secrets Manager secret (optionally one JSON key of it, a version
stage or a version id) or an SSM parameter. Secrets Manager: ``arn:aws:secretsmanager:
<region>:<account>:secret:<name>[:<json-key>:<version-stage>:<version-id>]``, the optional
parts empty to take the defaults. SSM: ``arn:aws:ssm:<region>:<account>:parameter/<name>``,
or the parameter's name alone.

The local secret store is one JSON file, read afresh each time an attempt starts, so a
changed value reaches the next attempt and never a running one (as with AWS)::

    {"secretsmanager": {"prod/db": "{\"username\": \"app\", \"password\": \"...\"}"},
     "ssm": {"/prod/api-token": "abc123"}}

A secret's value is its SecretString (an object is taken as that JSON); only its current
version (``AWSCURRENT``) exists. A secret ARN's name may carry the 6-character suffix AWS
appends (``prod/db-AbCdEf``); the file may name it with or without.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRETS_MANAGER = "secretsmanager"
SSM = "ssm"
CURRENT_STAGE = "AWSCURRENT"
_AWS_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


class InvalidReference(ValueError):
    """A ``valueFrom`` that names no secret or parameter."""


@dataclass(frozen=True, slots=True)
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



class SecretUnavailable(Exception):
    """A secret the job asks for cannot be given to it; the message says why."""


class LocalSecrets:
    """Resolves ``secrets[]`` entries from the file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def environment(self, secrets: list[dict[str, Any]]) -> dict[str, str]:
        """The environment variables ``secrets`` ask for; raises SecretUnavailable."""
        stored = self._load()
        resolved = {}
        for secret in secrets:
            value_from = secret.get("valueFrom", "")
            try:
                reference = parse(value_from)
            except InvalidReference as error:
                raise SecretUnavailable(str(error)) from None
            resolved[secret["name"]] = _value(stored, reference, value_from)
        return resolved

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise SecretUnavailable(f"cannot read the secrets file {self.path}: {error}") from None
        if not isinstance(document, dict) or not all(
            isinstance(section, dict) for section in document.values()
        ):
            raise SecretUnavailable(
                f"the secrets file {self.path} must hold a JSON object of objects"
            )
        stored: dict[str, dict[str, Any]] = document
        return stored


def _value(stored: dict[str, dict[str, Any]], reference: SecretReference, value_from: str) -> str:
    entries = stored.get(reference.service, {})
    name = reference.name
    if name not in entries and reference.service == SECRETS_MANAGER:
        name = _AWS_SUFFIX.sub("", name)
    if name not in entries:
        kind = "secret" if reference.service == SECRETS_MANAGER else "parameter"
        where = f"the secrets file's {reference.service!r} section"
        raise SecretUnavailable(f"{value_from}: no such {kind} in {where}")
    if reference.version_id or reference.version_stage not in (None, CURRENT_STAGE):
        wanted = reference.version_id or reference.version_stage
        raise SecretUnavailable(f"{value_from}: version {wanted} not found (only {CURRENT_STAGE})")
    value = entries[name]
    text = value if isinstance(value, str) else json.dumps(value)
    if reference.json_key is None:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or reference.json_key not in document:
        raise SecretUnavailable(f"{value_from}: the secret has no JSON key {reference.json_key}")
    picked = document[reference.json_key]
    return picked if isinstance(picked, str) else json.dumps(picked)
