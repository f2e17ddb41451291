"""Time as the AWS APIs give it: epoch milliseconds, and aware datetimes."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def from_ms(epoch_ms: int | float) -> datetime:
    """The aware UTC datetime of ``epoch_ms``."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)
