"""The few SQL expressions whose spelling differs between SQLite and PostgreSQL: a timestamp's
local day, an instant plus some hours, the hours between two instants, percentiles.

Everything else the reports run is portable SQLAlchemy Core, aggregated in the database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Float, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from frontline.analytics.periods import Period


class Dialect:
    def __init__(self, name: str) -> None:
        self.name = name
        self.postgres = name == "postgresql"

    def local_day(self, column: Any, period: Period) -> ColumnElement[Any]:
        """The local calendar day of ``column`` (a UTC instant) in the period's zone.

        PostgreSQL converts with its own time-zone database (``AT TIME ZONE``); SQLite adds
        the zone's UTC offset, chosen by a ``CASE`` over the offsets in force during the
        period (one, or one more per daylight-saving change)."""
        if self.postgres:
            return func.date(func.timezone(period.zone.key, column))
        offsets = period.offsets()
        modifier: Any
        if len(offsets) == 1:
            modifier = literal(_modifier(offsets[0][1]))
        else:
            modifier = case(
                *[(column < literal(since, DateTime(timezone=True)), _modifier(before))
                  for (since, _), (_, before) in zip(offsets[1:], offsets, strict=False)],
                else_=_modifier(offsets[-1][1]),
            )
        return func.date(column, modifier)

    def plus_hours(self, column: Any, hours: float) -> ColumnElement[Any]:
        if self.postgres:
            return column + timedelta(hours=hours)
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"{hours * 3600:+.0f} seconds")

    def hours_between(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        if self.postgres:
            return cast(func.extract("epoch", later - earlier), Float) / 3600.0
        return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _modifier(offset_seconds: int) -> str:
    return f"{offset_seconds:+d} seconds"


def as_date(value: Any) -> date:
    """A day as the database returns it (PostgreSQL: a date; SQLite: 'YYYY-MM-DD')."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks — what PostgreSQL's ``percentile_cont``
    computes, so both databases report the same median and p90."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    rank = q * (len(sorted_values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low))
