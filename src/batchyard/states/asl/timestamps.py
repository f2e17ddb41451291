"""Timestamps as the ASL writes and reads them: RFC 3339 date-times (Wait's Timestamp, the
Timestamp comparisons of Choice) and the context object's ``…T12:00:00.000Z``."""

from __future__ import annotations

import calendar
import re
from datetime import datetime

# RFC 3339 date-time: AWS rejects anything else for Wait.Timestamp at create time.
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def valid_rfc3339(text: str) -> bool:
    """True when ``text`` is an RFC 3339 date-time with real calendar values."""
    m = RFC3339.match(text)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12:
        return False
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    return hour <= 23 and minute <= 59 and second <= 60


def parse_timestamp(text: str) -> datetime | None:
    """Parse an ISO-8601 extended offset date-time (a zone is required); None if invalid."""
    if not isinstance(text, str) or not valid_rfc3339(text):
        return None
    m = RFC3339.match(text)
    assert m is not None
    frac = (m.group(7) or ".0")[1:]
    micro = int((frac + "000000")[:6])
    zone = m.group(8).upper()
    iso_text = text[: m.start(7)] if m.group(7) else text[: m.start(8)]
    base = datetime.fromisoformat(iso_text.replace("t", "T") + ("+00:00" if zone == "Z" else zone))
    return base.replace(microsecond=micro)


def iso(ts: datetime) -> str:
    """ISO-8601 with milliseconds and a Z, as the context object shows times."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
