"""The Batch service's API object; handler modules in ``batch/handlers`` register on it."""

from __future__ import annotations

from batchyard.protocol.legacy import LegacyApi

api = LegacyApi(
    "batch",
    validation_error="ClientException",
    # The guide: evaluateOnExit's action "isn't case sensitive".
    case_insensitive_enums=frozenset({"RetryAction"}),
    body_limits={
        "SubmitJob": (30 * 1024, "SubmitJob request exceeds the maximum size of 30 KiB"),
        "RegisterJobDefinition": (
            24 * 1024,
            "RegisterJobDefinition request exceeds the maximum size of 24 KiB",
        ),
    },
)
