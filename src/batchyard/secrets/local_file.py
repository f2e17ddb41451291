"""The local secret store: one JSON file, read afresh each time an attempt starts, so a
changed value reaches the next attempt and never a running one (as with AWS).

    {"secretsmanager": {"prod/db": "{\"username\": \"app\", \"password\": \"...\"}"},
     "ssm": {"/prod/api-token": "abc123"}}

A secret's value is its SecretString (an object is taken as that JSON); only its current
version (``AWSCURRENT``) exists. A secret ARN's name may carry the 6-character suffix AWS
appends (``prod/db-AbCdEf``); the file may name it with or without.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from batchyard.secrets.references import (
    CURRENT_STAGE,
    SECRETS_MANAGER,
    InvalidReference,
    SecretReference,
    parse,
)

_AWS_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


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
        sections = document.values() if isinstance(document, dict) else [None]
        if not all(isinstance(section, dict) for section in sections):
            raise SecretUnavailable(
                f"the secrets file {self.path} must hold a JSON object of objects"
            )
        return document


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
