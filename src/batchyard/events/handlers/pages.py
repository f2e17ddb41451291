"""NextToken values for EventBridge listings: opaque to clients, a position to us."""

from __future__ import annotations

import base64
import binascii

from batchyard.protocol.errors import ServiceError

DEFAULT_LIMIT = 100


def _invalid() -> ServiceError:
    return ServiceError("ValidationException", "The NextToken provided is invalid.")


def encode(position: str) -> str:
    """The NextToken that resumes a listing after ``position``."""
    return base64.urlsafe_b64encode(position.encode()).decode()


def decode(token: str | None) -> str | None:
    """The position a NextToken stands for; ValidationException when it is not ours."""
    if token is None:
        return None
    try:
        position = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid() from None
    if not position:
        raise _invalid()
    return position


def decode_offset(token: str | None) -> int:
    """The list index a NextToken from ``encode(str(index))`` stands for (0 without one)."""
    position = decode(token)
    if position is None:
        return 0
    if not position.isdigit():
        raise _invalid()
    return int(position)
