"""Transitional: the entry point EventBridge's function target (``events/targets/functions.py``)
still imports. That target moves to ``integrations/`` and calls :meth:`Lambda.invoke` there
(issue 13, worktree ``events``); this module goes with it.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from batchyard.aws.caller import Caller
from batchyard.config import Settings
from batchyard.functions.invocation import InvocationResult, InvocationType
from batchyard.functions.service import Lambda

__all__ = ["InvocationResult", "invoke"]

C = TypeVar("C")


class _Components(Protocol):
    settings: Settings

    def get(self, kind: type[C]) -> C: ...


async def invoke(
    runtime: _Components,
    function_name_or_arn: str,
    payload: bytes,
    invocation_type: str = InvocationType.REQUEST_RESPONSE,
) -> InvocationResult:
    """:meth:`Lambda.invoke` in the account and region the function's ARN names (the
    server's defaults for a plain name)."""
    settings = runtime.settings
    caller = Caller(settings.account_id, settings.region).acting_for(function_name_or_arn)
    return await runtime.get(Lambda).invoke(
        caller, function_name_or_arn, payload, InvocationType(invocation_type)
    )
