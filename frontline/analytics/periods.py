"""Periods of whole local days, and the period before each one to compare with.

A period is a range of calendar days in the ops team's time zone (``FRONTLINE_TIMEZONE``),
first and last day included. Its bounds are the local midnights, turned into UTC instants, so
a day across a daylight-saving change lasts 23 or 25 hours and an event at 00:30 local time
belongs to the day it happened on there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PRESETS = (7, 30, 90)
MAX_DAYS = 366
_SINCE = re.compile(r"^\s*(\d{1,3})\s*([dw])\s*$")


class InvalidPeriod(ValueError):
    """A period that cannot be read or is too long."""


@dataclass(frozen=True)
class Period:
    first: date  # first local day, included
    last: date  # last local day, included
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidPeriod(f"the period ends ({self.last}) before it starts ({self.first})")
        if self.days > MAX_DAYS:
            raise InvalidPeriod(f"a period is at most {MAX_DAYS} days ({self.days} asked)")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC."""
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, in UTC (excluded)."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.first - timedelta(days=self.days),
                      self.first - timedelta(days=1), self.zone)

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]

    def label(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    def offsets(self) -> list[tuple[datetime, int]]:
        """The zone's UTC offset (seconds) in force from each instant on, from the period's
        start to its end: one entry, or one more per daylight-saving change."""
        changes = [(self.start, _offset(self.start, self.zone))]
        hour = self.start
        while hour < self.end + timedelta(days=1):
            hour += timedelta(hours=1)
            offset = _offset(hour, self.zone)
            if offset != changes[-1][1]:
                # The change happened within the last hour: find the minute.
                minute = hour - timedelta(hours=1)
                while _offset(minute, self.zone) != offset:
                    minute += timedelta(minutes=15)
                changes.append((minute, offset))
        return changes


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    """The local day of an instant (a naive datetime is UTC, as SQLite returns them)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(zone).date()


def _offset(instant: datetime, zone: ZoneInfo) -> int:
    delta = instant.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta else 0


def today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def last_days(days: int, zone: ZoneInfo, now: datetime | None = None) -> Period:
    """The last ``days`` days up to now, today included."""
    if days < 1:
        raise InvalidPeriod("a period has at least one day")
    end = today(zone, now)
    return Period(end - timedelta(days=days - 1), end, zone)


def parse_since(text: str) -> int:
    """``7d`` → 7, ``2w`` → 14; raises ``InvalidPeriod``."""
    match = _SINCE.match(text or "")
    if match is None:
        raise InvalidPeriod(f"cannot read {text!r}: write a number of days or weeks, e.g. 7d, 4w")
    number = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if not 1 <= number <= MAX_DAYS:
        raise InvalidPeriod(f"a period is 1 to {MAX_DAYS} days ({number} asked)")
    return number


def parse_date(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except (AttributeError, ValueError):
        raise InvalidPeriod(f"the {what} {text!r} is not a date like 2026-03-01") from None


def resolve(zone: ZoneInfo, *, days: int | None = None, first: str | date | None = None,
            last: str | date | None = None, now: datetime | None = None) -> Period:
    """A period from what a user chose: a number of days (default 30), or first/last dates
    (either may be left out: the other end is today, or 29 days before)."""
    if first is None and last is None:
        return last_days(days or 30, zone, now)
    end = _as_date(last, "end date") if last else today(zone, now)
    start = _as_date(first, "start date") if first else end - timedelta(days=(days or 30) - 1)
    return Period(start, end, zone)


def _as_date(value: str | date, what: str) -> date:
    return value if isinstance(value, date) else parse_date(value, what)
