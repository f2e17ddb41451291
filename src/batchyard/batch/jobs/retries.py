"""Whether a failed attempt is tried again: ``retryStrategy`` with ``evaluateOnExit``.

The rules are checked in order and the first whose given conditions all match decides
(RETRY or EXIT, case-insensitive). A pattern matches the whole value, or its prefix when it
ends in ``*``. When no rule matches, the job is retried while attempts remain.
"""

from __future__ import annotations

from typing import Any


def glob_matches(pattern: str, value: str | None) -> bool:
    """AWS's evaluateOnExit glob: exact, or a prefix match when ``pattern`` ends in ``*``."""
    text = value or ""
    if pattern.endswith("*"):
        return text.startswith(pattern[:-1])
    return text == pattern


def _rule_matches(
    rule: dict[str, Any], exit_code: int | None, reason: str | None, status_reason: str | None
) -> bool:
    checks = (
        ("onExitCode", None if exit_code is None else str(exit_code)),
        ("onReason", reason),
        ("onStatusReason", status_reason),
    )
    for key, value in checks:
        pattern = rule.get(key)
        if pattern is not None and not glob_matches(pattern, value):
            return False
    return True


def should_retry(
    strategy: dict[str, Any] | None,
    attempts_made: int,
    exit_code: int | None,
    reason: str | None,
    status_reason: str | None,
) -> bool:
    """Whether a job that has failed ``attempts_made`` attempts gets another one."""
    allowed = (strategy or {}).get("attempts") or 1
    if attempts_made >= allowed:
        return False
    for rule in (strategy or {}).get("evaluateOnExit") or []:
        if _rule_matches(rule, exit_code, reason, status_reason):
            return str(rule["action"]).upper() == "RETRY"
    return True
