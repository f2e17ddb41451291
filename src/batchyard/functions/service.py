"""The Lambda service's API object; ``functions/handlers.py`` registers on it."""

from __future__ import annotations

from batchyard.protocol.legacy import LegacyApi

# A 50 MB zip, base64-encoded inside the JSON body, is the largest direct upload Lambda takes.
_CODE_LIMIT = 69_905_067
_INVOKE_LIMIT = 6 * 1024 * 1024

api = LegacyApi(
    "lambda",
    validation_error="InvalidParameterValueException",
    body_limits={
        "CreateFunction": (
            _CODE_LIMIT,
            f"Request must be smaller than {_CODE_LIMIT} bytes for the CreateFunction operation",
        ),
        "UpdateFunctionCode": (
            _CODE_LIMIT,
            f"Request must be smaller than {_CODE_LIMIT} bytes for the UpdateFunctionCode "
            "operation",
        ),
        "Invoke": (
            _INVOKE_LIMIT,
            f"Request must be smaller than {_INVOKE_LIMIT} bytes for the InvokeFunction operation",
        ),
    },
    default_body_limit=_CODE_LIMIT,
)
