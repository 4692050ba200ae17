"""Periods of local days (FRONTLINE_TIMEZONE), across daylight-saving changes, on both
databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from frontline.analytics.metrics import Metrics
from frontline.analytics.periods import InvalidPeriod, Period, last_days, parse_since, resolve
from frontline.db import Database, Event

BERLIN = ZoneInfo("Europe/Berlin")


def test_period_bounds_are_local_midnights_and_the_previous_period_touches() -> None:
    week = Period(date(2026, 3, 23), date(2026, 3, 29), BERLIN)  # DST starts on the 29th
    assert week.start == datetime(2026, 3, 22, 23, tzinfo=UTC)  # 00:00 CET
    assert week.end == datetime(2026, 3, 29, 22, tzinfo=UTC)  # 00:00 CEST
    assert week.end - week.start == timedelta(days=7) - timedelta(hours=1)
    assert week.previous() == Period(date(2026, 3, 16), date(2026, 3, 22), BERLIN)
    assert week.previous().end == week.start
    assert week.offsets() == [(week.start, 3600),
                              (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200)]


def test_choosing_a_period() -> None:
    now = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)  # already the 30th in Berlin
    assert last_days(7, BERLIN, now) == Period(date(2026, 3, 24), date(2026, 3, 30), BERLIN)
    assert resolve(BERLIN, first="2026-03-01", last="2026-03-31") == Period(
        date(2026, 3, 1), date(2026, 3, 31), BERLIN)
    assert parse_since("7d") == 7 and parse_since("2w") == 14
    for bad in ("7", "1y", "0d", "900d"):
        with pytest.raises(InvalidPeriod):
            parse_since(bad)
    with pytest.raises(InvalidPeriod, match="before it starts"):
        resolve(BERLIN, first="2026-03-10", last="2026-03-01")
    with pytest.raises(InvalidPeriod, match="not a date"):
        resolve(BERLIN, first="March")


def test_days_across_both_daylight_saving_changes(database: Database) -> None:
    def question(when: datetime) -> Event:
        return Event(kind="decision", session_id=f"s-{when.isoformat()}", decision="abstain",
                     ambiguous=False, created_at=when)

    utc = [
        datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # Sat 23:30 CET → the 28th
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # Sun 00:30 CET → the 29th
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),  # Sun 23:30 CEST → the 29th
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # Mon 00:30 CEST → the 30th
        datetime(2026, 10, 24, 22, 30, tzinfo=UTC),  # Sun 00:30 CEST → Oct 25th
        datetime(2026, 10, 25, 22, 30, tzinfo=UTC),  # Sun 23:30 CET → Oct 25th (25 h day)
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # Mon 00:30 CET → Oct 26th
    ]
    with database.session() as session:
        session.add_all(question(when) for when in utc)
    metrics = Metrics(database)

    def per_day(first: date, last: date) -> dict[date, int]:
        days = metrics.answers(Period(first, last, BERLIN)).days
        return {d: v.questions["abstain"] for d, v in days.items()}

    assert per_day(date(2026, 3, 28), date(2026, 3, 30)) == {
        date(2026, 3, 28): 1, date(2026, 3, 29): 2, date(2026, 3, 30): 1}
    assert per_day(date(2026, 3, 29), date(2026, 3, 29)) == {date(2026, 3, 29): 2}
    assert per_day(date(2026, 10, 25), date(2026, 10, 26)) == {
        date(2026, 10, 25): 2, date(2026, 10, 26): 1}
    # The same instants in UTC days.
    utc_days = metrics.answers(Period(date(2026, 3, 28), date(2026, 3, 30), ZoneInfo("UTC")))
    assert {d: v.questions["abstain"] for d, v in utc_days.days.items()} == {
        date(2026, 3, 28): 2, date(2026, 3, 29): 2}
    # Deflection counts a conversation on its local day too.
    deflection = metrics.deflection(Period(date(2026, 3, 29), date(2026, 3, 30), BERLIN))
    assert {d: v.sessions for d, v in deflection.days.items()} == {
        date(2026, 3, 29): 2, date(2026, 3, 30): 1}
