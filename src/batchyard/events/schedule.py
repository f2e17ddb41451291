"""Schedule expressions: ``rate(value unit)`` and AWS's six-field ``cron(...)``.

AWS's cron fields are ``minutes hours day-of-month month day-of-week year``. Day-of-week runs
1 (SUN) to 7 (SAT), exactly one of day-of-month and day-of-week is ``?``, day-of-month takes
``L`` and ``W`` and day-of-week ``L`` and ``#``. The calendar arithmetic is croniter's; this
module validates AWS's syntax, translates day-of-week numbering and filters on the year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import CroniterBadDateError, croniter

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
_NUMBER = r"\d{1,4}"


def _field(value: str) -> str:
    """A comma list of values, ranges and steps over the atom ``value``."""
    item = rf"(?:\*|{value}(?:-{value})?)(?:/\d{{1,4}})?"
    return rf"{item}(?:,{item})*"


_FIELD_SYNTAX = {
    "minutes": re.compile(_field(_NUMBER)),
    "hours": re.compile(_field(_NUMBER)),
    "day-of-month": re.compile(rf"\?|L|LW|\d{{1,2}}W|{_field(_NUMBER)}"),
    "month": re.compile(_field(rf"(?:{_NUMBER}|{_MONTHS})"), re.IGNORECASE),
    "day-of-week": re.compile(
        rf"\?|L|[1-7]L|[1-7]#[1-5]|(?:{_DAYS})#[1-5]|"
        rf"(?:\*|(?:[1-7]|{_DAYS})(?:-(?:[1-7]|{_DAYS}))?)(?:,(?:[1-7]|{_DAYS})(?:-(?:[1-7]|{_DAYS}))?)*",
        re.IGNORECASE,
    ),
    "year": re.compile(_field(_NUMBER)),
}
_RANGES = {
    "minutes": (0, 59),
    "hours": (0, 23),
    "day-of-month": (1, 31),
    "month": (1, 12),
    "day-of-week": (1, 7),
    "year": (1970, 2199),
}
_DAY_NUMBER = re.compile(r"[1-7]")
_LAST_YEAR = 2199


class InvalidSchedule(ValueError):
    """A schedule expression AWS would reject."""


@dataclass(frozen=True)
class Rate:
    """Every ``seconds`` seconds."""

    seconds: int

    def next_after(self, moment: datetime) -> datetime | None:
        try:
            return moment + timedelta(seconds=self.seconds)
        except OverflowError:
            return None


@dataclass(frozen=True)
class Cron:
    """A cron schedule: croniter's five fields, AWS's year field as a set, and ``LW``.

    ``last_weekday`` stands for AWS's day-of-month ``LW`` (the month's last weekday), which
    croniter lacks: the expression then runs every day and candidates are filtered.
    """

    expression: str
    years: frozenset[int] | None = None
    last_weekday: bool = False

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment`` (UTC), or None if there is none."""
        try:
            return self._next_after(moment)
        except CroniterBadDateError:
            # Dates that never exist (30 February) are accepted, as AWS does, and never fire.
            return None

    def _next_after(self, moment: datetime) -> datetime | None:
        iterator = croniter(self.expression, moment)
        while True:
            candidate: datetime = iterator.get_next(datetime)
            if candidate.year > _LAST_YEAR:
                return None
            if self.years is not None and candidate.year not in self.years:
                later = [year for year in self.years if year > candidate.year]
                if not later:
                    return None
                restart = candidate.replace(year=min(later), month=1, day=1, hour=0, minute=0)
                iterator = croniter(self.expression, restart - timedelta(minutes=1))
            elif self.last_weekday and candidate.day != _last_weekday(candidate):
                end_of_day = candidate.replace(hour=23, minute=59)
                iterator = croniter(self.expression, end_of_day)
            else:
                return candidate


def _last_weekday(moment: datetime) -> int:
    last = calendar.monthrange(moment.year, moment.month)[1]
    weekday = calendar.weekday(moment.year, moment.month, last)
    return last - max(0, weekday - 4)


Schedule = Rate | Cron


def parse_schedule(expression: str) -> Schedule:
    """Parse a ``rate()`` or ``cron()`` expression; raises ``InvalidSchedule``."""
    text = expression.strip()
    rate = _RATE.fullmatch(text)
    if rate:
        return _rate(int(rate.group(1)), rate.group(2))
    cron = _CRON.fullmatch(text)
    if cron:
        return _cron(cron.group(1).split())
    raise InvalidSchedule(expression)


def _rate(value: int, unit: str) -> Rate:
    # AWS wants the singular unit exactly for 1 and the plural otherwise.
    if value < 1 or (value == 1) != (not unit.endswith("s")):
        raise InvalidSchedule(f"rate({value} {unit})")
    return Rate(value * _UNIT_SECONDS[unit.rstrip("s")])


def _cron(fields: list[str]) -> Cron:
    names = list(_FIELD_SYNTAX)
    if len(fields) != len(names):
        raise InvalidSchedule("cron needs six fields")
    values = dict(zip(names, fields, strict=True))
    for name, value in values.items():
        if not _FIELD_SYNTAX[name].fullmatch(value):
            raise InvalidSchedule(f"{name}: {value}")
        _check_numbers(name, value)
    if (values["day-of-month"] == "?") == (values["day-of-week"] == "?"):
        raise InvalidSchedule("exactly one of day-of-month and day-of-week must be ?")
    last_weekday = values["day-of-month"] == "LW"
    day_of_month = "*" if values["day-of-month"] in ("?", "LW") else values["day-of-month"]
    day_of_week = _day_of_week(values["day-of-week"])
    expression = " ".join(
        (values["minutes"], values["hours"], day_of_month, values["month"], day_of_week)
    )
    if not croniter.is_valid(expression):
        raise InvalidSchedule(expression)
    return Cron(expression, _years(values["year"]), last_weekday)


def _check_numbers(name: str, value: str) -> None:
    low, high = _RANGES[name]
    for part in re.split(r"[,\-]", re.sub(r"/\d+|#\d|W|L", "", value)):
        if part.isdigit() and not low <= int(part) <= high:
            raise InvalidSchedule(f"{name}: {part} out of range")


def _day_of_week(value: str) -> str:
    """AWS numbers days 1 (SUN)..7 (SAT); croniter 0 (SUN)..6 (SAT) and writes ``nL`` as ``Ln``."""
    if value == "?":
        return "*"
    if value.upper() == "L":
        return "6"
    if value.endswith("L"):
        return f"L{int(value[0]) - 1}"
    if "#" in value:
        day, nth = value.split("#")
        return f"{int(day) - 1 if day.isdigit() else day}#{nth}"
    return _DAY_NUMBER.sub(lambda match: str(int(match.group()) - 1), value)


def _years(value: str) -> frozenset[int] | None:
    if value == "*":
        return None
    years: set[int] = set()
    low_bound, high_bound = _RANGES["year"]
    for item in value.split(","):
        span, _, step = item.partition("/")
        if span == "*":
            start, end = low_bound, high_bound
        else:
            first, _, last = span.partition("-")
            start = int(first)
            end = int(last) if last else (high_bound if step else start)
        years.update(range(start, end + 1, int(step) if step else 1))
    return frozenset(years)
