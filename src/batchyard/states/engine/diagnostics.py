"""ValidateStateMachineDefinition: the definition checks reported as diagnostics."""

from __future__ import annotations

import re
from typing import Any

from batchyard.states.asl.definition import parse_definition
from batchyard.states.asl.errors import InvalidDefinitionError

_PREFIX = "Invalid State Machine Definition: '"
# Problems are joined with ", "; a new one starts with its upper-case code and a colon.
_SPLIT = re.compile(r", (?=[A-Z][A-Z_]+: )")
_PROBLEM = re.compile(r"^([A-Z][A-Z_]+): (.*?)(?: at (/\S*))?$", re.DOTALL)


def diagnostics(definition: str, max_results: int | None) -> dict[str, Any]:
    """The answer of ValidateStateMachineDefinition for ``definition``."""
    try:
        parse_definition(definition)
    except InvalidDefinitionError as exc:
        found = _parse(exc.message)
    else:
        found = []
    limit = max_results or 100
    return {
        "result": "FAIL" if found else "OK",
        "diagnostics": found[:limit],
        "truncated": len(found) > limit,
    }


def _parse(message: str) -> list[dict[str, Any]]:
    body = message
    if body.startswith(_PREFIX) and body.endswith("'"):
        body = body[len(_PREFIX):-1]
    out = []
    for part in _SPLIT.split(body):
        match = _PROBLEM.match(part)
        if match is None:
            out.append({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": part})
            continue
        code, detail, location = match.groups()
        item: dict[str, Any] = {"severity": "ERROR", "code": code, "message": detail}
        if location:
            item["location"] = location
        out.append(item)
    return out
