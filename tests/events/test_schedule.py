"""Schedule expressions: AWS's rate() and six-field cron() syntax and their next firing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from batchyard.events.schedule import Cron, InvalidSchedule, Rate, parse_schedule

BASE = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)  # a Saturday


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(12 hours)", 43200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_rates(expression: str, seconds: int) -> None:
    schedule = parse_schedule(expression)
    assert schedule == Rate(seconds)
    assert (schedule.next_after(BASE) - BASE).total_seconds() == seconds


CRONS = [
    # AWS docs examples: 10:15 every day; 18:00 Mon-Fri; 8:00 on the 1st; every 15 minutes
    (
        "cron(15 10 * * ? *)",
        ["2026-11-21 Sat 10:15", "2026-11-22 Sun 10:15", "2026-11-23 Mon 10:15"],
    ),
    (
        "cron(0 18 ? * MON-FRI *)",
        ["2026-11-23 Mon 18:00", "2026-11-24 Tue 18:00", "2026-11-25 Wed 18:00"],
    ),
    ("cron(0 8 1 * ? *)", ["2026-12-01 Tue 08:00", "2027-01-01 Fri 08:00", "2027-02-01 Mon 08:00"]),
    (
        "cron(0/15 * * * ? *)",
        ["2026-11-21 Sat 06:15", "2026-11-21 Sat 06:30", "2026-11-21 Sat 06:45"],
    ),
    # day-of-week numbers run 1=SUN..7=SAT
    ("cron(0 9 ? * 2 *)", ["2026-11-23 Mon 09:00", "2026-11-30 Mon 09:00", "2026-12-07 Mon 09:00"]),
    (
        "cron(0 9 ? * 1,7 *)",
        ["2026-11-21 Sat 09:00", "2026-11-22 Sun 09:00", "2026-11-28 Sat 09:00"],
    ),
    # L, W, # and the year field
    (
        "cron(0 10 L * ? *)",
        ["2026-11-30 Mon 10:00", "2026-12-31 Thu 10:00", "2027-01-31 Sun 10:00"],
    ),
    (
        "cron(0 10 LW * ? *)",
        ["2026-11-30 Mon 10:00", "2026-12-31 Thu 10:00", "2027-01-29 Fri 10:00"],
    ),
    (
        "cron(0 10 15W * ? *)",
        ["2026-12-15 Tue 10:00", "2027-01-15 Fri 10:00", "2027-02-15 Mon 10:00"],
    ),
    (
        "cron(0 10 ? * 6L *)",
        ["2026-11-27 Fri 10:00", "2026-12-25 Fri 10:00", "2027-01-29 Fri 10:00"],
    ),
    (
        "cron(0 10 ? * 6#3 *)",
        ["2026-12-18 Fri 10:00", "2027-01-15 Fri 10:00", "2027-02-19 Fri 10:00"],
    ),
    ("cron(0 10 1 JAN ? 2028-2029)", ["2028-01-01 Sat 10:00", "2029-01-01 Mon 10:00", "never"]),
    ("cron(0 10 1 1 ? 2026)", ["never", "never", "never"]),
]


@pytest.mark.parametrize(("expression", "expected"), CRONS, ids=[c[0] for c in CRONS])
def test_cron_firings(expression: str, expected: list[str]) -> None:
    got = []
    schedule = parse_schedule(expression)
    assert isinstance(schedule, Cron)
    moment: datetime | None = BASE
    for _ in expected:
        moment = schedule.next_after(moment) if moment else None
        got.append(moment.strftime("%Y-%m-%d %a %H:%M") if moment else "never")
    assert got == expected


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # 1 takes the singular
        "rate(5 minute)",  # more than 1 takes the plural
        "rate(0 minutes)",
        "rate(1 second)",
        "rate(-1 minutes)",
        "cron(0 10 * * *)",  # five fields
        "cron(0 10 * * * *)",  # neither day field is ?
        "cron(0 10 ? * ? *)",  # both are
        "cron(60 10 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 10 32 * ? *)",
        "cron(0 10 ? * 8 *)",
        "cron(0 10 * 13 ? *)",
        "cron(0 10 * * ? 1969)",
        "cron(0 10 ? * 2#6 *)",
        "every five minutes",
        "",
    ],
)
def test_invalid_expressions(expression: str) -> None:
    with pytest.raises(InvalidSchedule):
        parse_schedule(expression)


@pytest.mark.parametrize("expression", ["cron(0 10 30 2 ? *)", "rate(99999999 days)"])
def test_schedules_that_never_come_never_fire(expression: str) -> None:
    assert parse_schedule(expression).next_after(BASE) is None
