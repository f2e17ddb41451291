"""What the EventBridge tests share: unique names, the error of a refused call, log groups
that targets write to."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def unique(prefix: str = "rule") -> str:
    """``prefix`` and a random suffix: a name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def refusal(call: Any, **kwargs: Any) -> dict[str, str]:
    """The ``Error`` of the answer refusing ``call(**kwargs)``."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    found: dict[str, str] = caught.value.response["Error"]
    return found


def log_group(logs: Any, folder: str = "events") -> tuple[str, str]:
    """A new log group under ``/<folder>/``: its name and ARN."""
    name = f"/{folder}/{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=name)
    return name, f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}"
