"""The exact daily rollup behind the overview's event figures: the answer mix, the surveys and
deflection, per local day of the dashboard's time zone, so a period's figures cost its days,
not its events.

What is stored, per closed local day (before today):

* ``analytics_day_counts``: ``Metrics.day_counts`` of that day, by the simulated flag;
* ``analytics_day_sessions``: deflection (conversations, answered, confirmed, assumed) and
  the CSAT asks and ratings of the conversations whose events all fall on that day, for both
  scopes (everything, real records only).

A conversation with events on more than one local day (``analytics_spans``: one that went on
past midnight, a "yes" the next morning, a rating after a ticket was resolved days later) is
never rolled up: its figures depend on where a period starts and ends, so the overview reads
it live, as it reads today and any day not rolled up. A period's figures are the stored days
plus the live rest, and they equal the live computation exactly (tested against it on SQLite
and PostgreSQL).

Triggers on ``events`` (migration 0007) mark the UTC hour of every event written, changed
(its figures' columns) or deleted. ``refresh`` takes the marks, recomputes which of the
conversations in those hours span days, forgets the days the marks touch (and the days of a
conversation that started or stopped spanning days), and rolls up the period's missing closed
days. A back-dated event, a purge or an erase is therefore in the next overview. Marks that
arrive while a period is read make their days, and the days of their conversations, read live.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    String,
    and_,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.sql.elements import ColumnElement

from frontline.analytics.metrics import ALL, EVENTS, Deflection, DeflectionDay, Metrics, Scope
from frontline.analytics.periods import Period, local_date, today
from frontline.analytics.sqlfn import as_date
from frontline.db import Database

logger = logging.getLogger(__name__)

KINDS = ("decision", "feedback", "csat", "nps", "ticket", "handoff", "csat_asked")
REAL = Scope(hide_simulated=True)
LOCK_KEY = 0x46524F4C  # PostgreSQL advisory lock: one refresh at a time
RUN_DAYS = 7  # days rolled up per query and transaction (SQLite: a short write lock)
MAX_RANGES = 64  # hour ranges per query (more are merged: reading more hours is safe)
MARK_HOURS = 7 * 24  # marked hours taken per transaction
LISTED_IDS = 20_000  # live conversations looked up by id; more are read through a subquery

DIRTY = table("analytics_dirty", column("id", Integer), column("hour", BigInteger))
ZONE = table("analytics_rollup_zone", column("zone", String))
DAYS = table("analytics_days", column("zone", String), column("day", Date))
COUNTS = table("analytics_day_counts", column("zone", String), column("day", Date),
               column("kind", String), column("decision", String),
               column("question", Boolean), column("deflected", Boolean),
               column("csat", Integer), column("rep", Boolean), column("simulated", Boolean),
               column("n", Integer))
SESSIONS = table("analytics_day_sessions", column("zone", String), column("day", Date),
                 column("hide_simulated", Boolean), column("sessions", Integer),
                 column("answered", Integer), column("confirmed", Integer),
                 column("assumed", Integer), column("csat_asked", Integer),
                 column("csat_rated", Integer))
SPANS = table("analytics_spans", column("zone", String), column("session_id", String),
              column("first_at", DateTime(timezone=True)),
              column("last_at", DateTime(timezone=True)))
Clock = Callable[[], datetime]


def hour_ranges(hours: Iterable[int], limit: int = MAX_RANGES) -> list[tuple[datetime, datetime]]:
    """Epoch hours as at most ``limit`` UTC ranges [start, end): consecutive hours joined,
    then the closest ranges merged (a range may then cover hours that were not marked)."""
    runs: list[list[int]] = []
    for hour in sorted(set(hours)):
        if runs and hour == runs[-1][1]:
            runs[-1][1] = hour + 1
        else:
            runs.append([hour, hour + 1])
    while len(runs) > limit:
        gaps = sorted(runs[i + 1][0] - runs[i][1] for i in range(len(runs) - 1))
        widest = gaps[len(runs) - limit - 1]
        merged = [runs[0]]
        for run in runs[1:]:
            if run[0] - merged[-1][1] <= widest:
                merged[-1][1] = run[1]
            else:
                merged.append(run)
        runs = merged
    return [(_instant(a), _instant(b)) for a, b in runs]


def _instant(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def hour_days(hours: Iterable[int], zone: ZoneInfo) -> set[date]:
    """The local days that the hours touch (one, or two in a zone off by a fraction of an
    hour)."""
    out: set[date] = set()
    for hour in set(hours):
        start = _instant(hour)
        out.add(local_date(start, zone))
        out.add(local_date(start + timedelta(seconds=3599), zone))
    return out


def span_days(first: datetime, last: datetime, zone: ZoneInfo) -> set[date]:
    day, end = local_date(first, zone), local_date(last, zone)
    out = set()
    while day <= end:
        out.add(day)
        day += timedelta(days=1)
    return out


def runs_of(days: Iterable[date], longest: int = RUN_DAYS) -> list[list[date]]:
    """Consecutive days in runs of at most ``longest``."""
    out: list[list[date]] = []
    for day in sorted(set(days)):
        if out and day - out[-1][-1] == timedelta(days=1) and len(out[-1]) < longest:
            out[-1].append(day)
        else:
            out.append([day])
    return out


def _bounds(run: list[date], zone: ZoneInfo) -> tuple[datetime, datetime]:
    period = Period(run[0], run[-1], zone)
    return period.start, period.end


def _within(ranges: list[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    e = EVENTS
    return or_(*[and_(e.c.created_at >= a, e.c.created_at < b) for a, b in ranges])


class RolledMetrics(Metrics):
    """``Metrics`` whose ``day_counts`` and ``deflection`` read the daily rollup for the
    closed days it holds and the events for the rest; the figures are the same."""

    def __init__(self, db: Database, *, clock: Clock | None = None, **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._refreshing = threading.Lock()

    # -- reading -----------------------------------------------------------------------------
    def _prepare(self, session: Any) -> None:
        # One snapshot for the stored days, the spans, the marks and the live rest.
        if self.sql.postgres:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        else:
            session.connection().exec_driver_sql("BEGIN")
        super()._prepare(session)

    def prepare(self, *periods: Period) -> None:
        if periods:
            self.refresh(periods[0].zone, min(p.first for p in periods),
                         max(p.last for p in periods))

    def day_counts(self, period: Period, scope: Scope = ALL) -> list[tuple[Any, ...]]:
        with self.reading():
            used, live, _ = self._plan(period)
            rows = self._stored_counts(period, used, scope)
            for run in live:
                rows += super().day_counts(Period(run[0], run[-1], period.zone), scope)
        return rows

    def deflection(self, period: Period, scope: Scope = ALL) -> Deflection:
        e = EVENTS
        with self.reading():
            used, live, suspect = self._plan(period)
            out = self._stored_deflection(period, used, scope)
            # The conversations read live: those spanning days and those the marks not yet
            # refreshed touch, with all their events; the other conversations of the days
            # read live lie within those days, so only those days' events are read for them.
            ids = self._listed(select(SPANS.c.session_id).where(
                SPANS.c.zone == period.zone.key, SPANS.c.last_at >= period.start,
                SPANS.c.first_at < period.end), suspect)
            parts = []
            if ids is not None:
                parts.append(self.deflection_of(period, scope, only=e.c.session_id.in_(ids)))
            if live:
                within = _within([_bounds(run, period.zone) for run in live])
                if ids is not None:
                    within = and_(within, e.c.session_id.not_in(ids))
                parts.append(self.deflection_of(period, scope, only=within))
            for rest in parts:
                for day, part in rest.days.items():
                    total = out.days.setdefault(day, DeflectionDay())
                    total.sessions += part.sessions
                    total.answered += part.answered
                    total.confirmed += part.confirmed
                    total.assumed += part.assumed
                out.csat_asked += rest.csat_asked
                out.csat_rated += rest.csat_rated
        return out

    def _plan(self, period: Period) -> tuple[set[date], list[list[date]], Any]:
        """The period's days read from the rollup, the runs of days read live, and the
        conversations that marks not yet refreshed touch (a subquery, or None)."""
        stored: set[date] = set()
        suspect = None
        if self._rows(select(ZONE.c.zone)) == [(period.zone.key,)]:
            stored = {as_date(d) for (d,) in self._rows(
                select(DAYS.c.day).where(DAYS.c.zone == period.zone.key,
                                         DAYS.c.day >= period.first,
                                         DAYS.c.day <= period.last))}
        if stored:
            hours = [int(h) for (h,) in self._rows(select(DIRTY.c.hour).distinct())]
            if hours:
                suspect = select(self._affected(hour_ranges(hours), period.zone).c.session_id)
                stored -= self._suspect_days(hours, suspect, period)
        return stored, runs_of(d for d in period.dates() if d not in stored), suspect

    def _suspect_days(self, hours: list[int], sessions: Any, period: Period) -> set[date]:
        """Days of the period that marks not yet refreshed may have changed: the marked
        hours' days, and every day of the conversations with events in them."""
        e = EVENTS
        day = self.sql.local_day(e.c.created_at, period)
        out = hour_days(hours, period.zone)
        out |= {as_date(d) for (d,) in self._rows(
            select(day).distinct().where(
                e.c.kind.in_(KINDS), e.c.created_at >= period.start,
                e.c.created_at < period.end, e.c.session_id.in_(sessions)))}
        return out

    def _stored_counts(self, period: Period, used: set[date],
                       scope: Scope) -> list[tuple[Any, ...]]:
        if not used:
            return []
        c = COUNTS
        keys = [c.c.day, c.c.kind, c.c.decision, c.c.question, c.c.deflected, c.c.csat, c.c.rep]
        query = (select(*keys, func.sum(c.c.n))
                 .where(c.c.zone == period.zone.key, c.c.day >= min(used),
                        c.c.day <= max(used),
                        *([c.c.simulated.is_(False)] if scope.hide_simulated else []))
                 .group_by(*keys))
        return [(as_date(d), kind, decision, bool(q), deflected, score, bool(r), int(n))
                for d, kind, decision, q, deflected, score, r, n in self._rows(query)
                if as_date(d) in used]

    def _stored_deflection(self, period: Period, used: set[date], scope: Scope) -> Deflection:
        out = Deflection({})
        if not used:
            return out
        s = SESSIONS
        for d, n, a, c, x, ask, rate in self._rows(
            select(s.c.day, s.c.sessions, s.c.answered, s.c.confirmed, s.c.assumed,
                   s.c.csat_asked, s.c.csat_rated)
            .where(s.c.zone == period.zone.key, s.c.hide_simulated.is_(scope.hide_simulated),
                   s.c.day >= min(used), s.c.day <= max(used))
        ):
            if as_date(d) not in used:
                continue
            out.csat_asked += int(ask)
            out.csat_rated += int(rate)
            if n:
                out.days[as_date(d)] = DeflectionDay(int(n), int(a), int(c), int(x))
        return out

    def _listed(self, *queries: Any) -> Any:
        """The session ids the queries (None: none) find, as a list, or as a subquery when
        there are very many; None when there are none."""
        parts: list[Any] = [q for q in queries if q is not None]
        ids: Any = union(*parts) if len(parts) > 1 else parts[0]
        found = [sid for (sid,) in self._rows(ids.limit(LISTED_IDS + 1))]
        if not found:
            return None
        return found if len(found) <= LISTED_IDS else select(ids.subquery().c[0])

    # -- keeping it up to date ---------------------------------------------------------------
    def refresh(self, zone: ZoneInfo, first: date, last: date) -> int:
        """Take the marks, and roll up the closed days from ``first`` to ``last`` that are not
        stored: returns how many days were rolled up. The work is cut into short
        transactions (a week of marked hours, a week of days), so a first refresh over a
        long history never holds SQLite's write lock for long. Another refresh in progress
        (another replica's) is not waited for: the days it has not stored yet are read
        live."""
        if getattr(self._reading, "session", None) is not None:
            return 0  # inside a read: the days not stored are read live
        closed_last = min(last, today(zone, self.clock()) - timedelta(days=1))
        days = [first + timedelta(days=i) for i in range((closed_last - first).days + 1)]
        missing: list[date] = []
        with self._refreshing:
            while True:
                taken = self._step(partial(self._take_marks, zone=zone, days=days,
                                           missing=missing))
                if not taken:  # none left (``missing`` was filled), or another refresh runs
                    if taken is None:
                        return 0
                    break
            rolled = 0
            for run in runs_of(missing):
                done = self._step(partial(self._roll_missing, zone=zone, run=run))
                if done is None:
                    break
                rolled += done
        if rolled:
            logger.info("analytics rollup: %d days rolled up (%s to %s)", rolled, first,
                        closed_last)
        return rolled

    def _step(self, work: Callable[[Any], int]) -> int | None:
        """One transaction of the refresh; None when another refresh holds the lock."""
        with self.db.session() as session:
            if self.sql.postgres:
                if not session.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY))).scalar():
                    return None
                session.execute(select(func.set_config("jit", "off", True)))
            self._reading.session = session
            try:
                return work(session)
            finally:
                self._reading.session = None

    def _take_marks(self, session: Any, zone: ZoneInfo, days: list[date],
                    missing: list[date]) -> int:
        """Take the marks of up to a week of hours (the earliest) and apply them; returns
        how many hours were taken. With none left, lists which of ``days`` are not stored
        in ``missing``."""
        zones = list(session.execute(select(ZONE.c.zone)).scalars())
        if zones != [zone.key]:
            if zones:  # another time zone's days: start again in this one, every hour marked
                for t in (DAYS, COUNTS, SESSIONS, SPANS, DIRTY):
                    session.execute(delete(t))
                session.execute(insert(DIRTY).from_select(
                    ["hour"], select(self._hour(EVENTS.c.created_at)).distinct()
                    .where(EVENTS.c.kind.in_(KINDS))))
            session.execute(delete(ZONE))
            session.execute(insert(ZONE).values(zone=zone.key))
        earliest = session.execute(select(func.min(DIRTY.c.hour))).scalar()
        if earliest is None:
            if days:
                stored = {as_date(d) for d in session.execute(
                    select(DAYS.c.day).where(DAYS.c.zone == zone.key, DAYS.c.day >= days[0],
                                             DAYS.c.day <= days[-1])).scalars()}
                missing.extend(d for d in days if d not in stored)
            return 0
        hours = {int(h) for h in session.execute(
            delete(DIRTY).where(DIRTY.c.hour < int(earliest) + MARK_HOURS)
            .returning(DIRTY.c.hour)).scalars()}
        if hours:
            self._forget(session, zone, self._respan(session, zone, hours))
        return len(hours)

    def _roll_missing(self, session: Any, zone: ZoneInfo, run: list[date]) -> int:
        stored = {as_date(d) for d in session.execute(
            select(DAYS.c.day).where(DAYS.c.zone == zone.key, DAYS.c.day >= run[0],
                                     DAYS.c.day <= run[-1])).scalars()}
        missing = [d for d in run if d not in stored]
        for part in runs_of(missing):
            self._roll(session, Period(part[0], part[-1], zone))
        return len(missing)

    def _hour(self, instant: Any) -> ColumnElement[Any]:
        if self.sql.postgres:
            return func.floor(func.extract("epoch", instant) / 3600)
        return func.cast(func.strftime("%s", instant), Integer) / 3600

    def _affected(self, ranges: list[tuple[datetime, datetime]], zone: ZoneInfo) -> Any:
        """The conversations with events in the ranges, or spanning days across them."""
        e, sp = EVENTS, SPANS
        return union(
            select(e.c.session_id.label("session_id")).where(
                e.c.kind.in_(KINDS), e.c.session_id.is_not(None), _within(ranges)),
            select(sp.c.session_id).where(sp.c.zone == zone.key, or_(
                *[and_(sp.c.first_at < b, sp.c.last_at >= a) for a, b in ranges])),
        ).subquery("affected")

    def _respan(self, session: Any, zone: ZoneInfo, hours: set[int]) -> set[date]:
        """Recompute which conversations of the marked hours span days; return the days
        whose stored figures may have changed."""
        e, sp = EVENTS, SPANS
        affected = select(self._affected(hour_ranges(hours), zone).c.session_id)
        old = {sid: (a, b) for sid, a, b in session.execute(
            select(sp.c.session_id, sp.c.first_at, sp.c.last_at)
            .where(sp.c.zone == zone.key, sp.c.session_id.in_(affected)))}
        first, last = func.min(e.c.created_at), func.max(e.c.created_at)
        if self.sql.postgres:  # only the conversations that cross a local midnight
            crosses = (func.date(func.timezone(zone.key, first))
                       != func.date(func.timezone(zone.key, last)))
        else:
            crosses = first < last
        new = {sid: (a, b) for sid, a, b in session.execute(
            select(e.c.session_id, first, last)
            .where(e.c.kind.in_(KINDS), e.c.session_id.in_(affected))
            .group_by(e.c.session_id).having(crosses))
            if local_date(a, zone) != local_date(b, zone)}
        session.execute(delete(sp).where(sp.c.zone == zone.key, sp.c.session_id.in_(affected)))
        if new:
            session.execute(insert(sp), [
                {"zone": zone.key, "session_id": sid, "first_at": _utc(a), "last_at": _utc(b)}
                for sid, (a, b) in new.items()])
        days = hour_days(hours, zone)
        for sid in new.keys() - old.keys():  # single-day before: now read live
            days |= span_days(*new[sid], zone)
        for sid in old.keys() - new.keys():  # spanned days before: now on one day (or none)
            days |= span_days(*old[sid], zone)
        return days

    def _forget(self, session: Any, zone: ZoneInfo, days: set[date]) -> None:
        ordered = sorted(days)
        for i in range(0, len(ordered), 500):
            chunk = ordered[i:i + 500]
            for t in (DAYS, COUNTS, SESSIONS):
                session.execute(delete(t).where(t.c.zone == zone.key, t.c.day.in_(chunk)))

    def _roll(self, session: Any, period: Period) -> None:
        """Store the figures of the period's days (closed, not stored yet)."""
        zone = period.zone.key
        counts = [{"zone": zone, "day": d, "kind": kind, "decision": decision,
                   "question": q, "deflected": deflected, "csat": score, "rep": rep,
                   "simulated": simulated, "n": n}
                  for d, kind, decision, q, deflected, score, rep, n, simulated
                  in self.day_counts_by_simulated(period, ALL)]
        if counts:
            session.execute(insert(COUNTS), counts)
        one_day = EVENTS.c.session_id.not_in(
            select(SPANS.c.session_id).where(SPANS.c.zone == zone))
        sessions = []
        for scope in (ALL, REAL):
            s = self.session_flags(period, scope, only=one_day, seen=True)
            query = self.deflection_sums(s, self.sql.local_day(s.c.seen_at, period)
                                         .label("day"))
            for d, n, a, c, x, ask, rate in self._rows(query):
                if d is not None:
                    sessions.append({
                        "zone": zone, "day": as_date(d), "hide_simulated": scope.hide_simulated,
                        "sessions": int(n or 0), "answered": int(a or 0),
                        "confirmed": int(c or 0), "assumed": int(x or 0),
                        "csat_asked": int(ask or 0), "csat_rated": int(rate or 0)})
        if sessions:
            session.execute(insert(SESSIONS), sessions)
        session.execute(insert(DAYS), [{"zone": zone, "day": d} for d in period.dates()])


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

