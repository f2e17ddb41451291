"""The ``context`` object a handler receives, with the attributes Lambda's Python runtime sets.

Runs inside the worker process; it reads the function's identity from the environment the
way Lambda's runtime does.
"""

from __future__ import annotations

import os
import time
from typing import Any


class LambdaContext:
    """Per-invocation facts about the function and the time it has left."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int,
                 client_context: Any = None) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        # Lambda's runtime hands this over as the environment's string, not an int.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = client_context
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation times out."""
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"function_name={self.function_name},"
                f"invoked_function_arn={self.invoked_function_arn}])")
