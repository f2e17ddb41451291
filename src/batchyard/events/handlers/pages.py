"""NextToken values for EventBridge listings: opaque to clients, a position to us."""

from __future__ import annotations

import base64
import binascii

from batchyard.protocol.errors import ServiceError

DEFAULT_LIMIT = 100


def encode(position: str) -> str:
    """The NextToken that resumes a listing after ``position``."""
    return base64.urlsafe_b64encode(position.encode()).decode()


def decode(token: str | None) -> str | None:
    """The position a NextToken stands for; ValidationException when it is not ours."""
    if token is None:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ServiceError("ValidationException", "The NextToken provided is invalid.") from None
