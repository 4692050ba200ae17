"""The daily rollup (``frontline.analytics.rollup``) gives the overview the same figures as the
live queries, on SQLite and PostgreSQL, over random conversations with the edge cases: ones
that go on past midnight or get a "yes", a ticket or a rating days later, back-dated events
(``frontline simulate``'s time warp), simulated and real records, reps' questions, a time zone
with a daylight-saving change, a privacy erase and purge, deleted events, and events written
between a refresh and a read."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from frontline.analytics.metrics import ALL, Metrics, Scope
from frontline.analytics.overview import build
from frontline.analytics.periods import Period, local_midnight
from frontline.analytics.rollup import DAYS, SPANS, RolledMetrics, hour_ranges, runs_of
from frontline.analytics.simulation import SessionPlan, backdate
from frontline.db import Database, Event, Ticket
from frontline.settings import Settings
from frontline.support.privacy import Privacy

BERLIN = ZoneInfo("Europe/Berlin")  # summer time from Sunday 2026-03-29
NOW = datetime(2026, 4, 3, 13, 0, tzinfo=UTC)  # Friday April 3rd: today is read live
FIRST_DAY = date(2026, 3, 14)
REAL = Scope(hide_simulated=True)


def generate(db: Database, rng: random.Random, sessions: int, first: datetime,
             last: datetime, prefix: str) -> list[str]:
    """Random conversations between ``first`` and ``last``; returns their session ids."""
    events: list[Event] = []
    ids = []
    span = (last - first).total_seconds()

    def add(sid: str | None, kind: str, at: datetime, simulated: bool, **values: Any) -> None:
        events.append(Event(kind=kind, session_id=sid, created_at=at, simulated=simulated,
                            **values))

    for i in range(sessions):
        sid = f"{prefix}-{i}"
        ids.append(sid)
        if rng.random() < 0.25:  # start a few minutes before a local midnight
            day = (first + timedelta(seconds=rng.uniform(0, span))).astimezone(BERLIN).date()
            t = local_midnight(day, BERLIN) - timedelta(minutes=rng.uniform(1, 20))
        else:
            t = first + timedelta(seconds=rng.uniform(0, span))
        simulated = rng.random() < 0.25
        channel = "slack" if rng.random() < 0.1 else rng.choice(("webchat", "webchat", "email"))

        def gap() -> timedelta:  # minutes mostly; hours or days (past midnight) at times
            return (timedelta(minutes=rng.uniform(0.5, 40)) if rng.random() < 0.75
                    else timedelta(hours=rng.uniform(2, 60)))

        if rng.random() < 0.1:  # a handoff without a question, asked for a rating later
            add(sid, "handoff", t, simulated, channel=channel)
            add(sid, "csat_asked", t + gap(), simulated, channel=channel)
            if rng.random() < 0.6:
                add(sid, "csat", t + gap() + gap(), simulated, channel=channel,
                    csat=rng.randint(1, 5))
            continue
        for _ in range(rng.choice((1, 1, 2))):
            outcome = rng.choice(("answer", "answer", "clarify", "abstain"))
            add(sid, "decision", t, simulated, channel=channel, decision=outcome,
                ambiguous=rng.choice((False, True)) if outcome != "abstain" else False,
                article_id="refund-policy" if outcome == "answer" else None)
            if outcome == "answer" and rng.random() < 0.3:  # a follow-up answer
                t += gap()
                add(sid, "decision", t, simulated, channel=channel, decision="answer",
                    article_id="reset-password")
            if outcome == "answer" and rng.random() < 0.7:
                t += gap()
                helped = rng.random() < 0.6
                add(sid, "feedback", t, simulated or rng.random() < 0.05, channel=channel,
                    deflected=helped, article_id="refund-policy")
                if helped and rng.random() < 0.7:
                    add(sid, "csat", t + gap(), simulated, channel=channel,
                        csat=rng.randint(1, 5))
            if outcome != "answer" and rng.random() < 0.5:
                t += gap()
                add(sid, rng.choice(("ticket", "handoff")), t, simulated, channel=channel)
                if rng.random() < 0.5:
                    t += gap()
                    add(sid, "csat_asked", t, simulated, channel=channel)
                    if rng.random() < 0.7:
                        add(sid, "csat", t + gap(), simulated, channel=channel,
                            csat=rng.randint(1, 5))
            if rng.random() < 0.15:
                add(sid, "nps", t + gap(), simulated, channel=channel, csat=rng.randint(0, 10))
            t += gap()
    for _ in range(sessions // 10):  # records of no conversation
        at = first + timedelta(seconds=rng.uniform(0, span))
        add(None, "decision", at, False, decision="abstain", ambiguous=False)
        add(None, "help_view", at, False, article_id="refund-policy")
    with db.session() as session:
        session.add_all(events)
    return ids


def periods() -> list[Period]:
    out = [Period(FIRST_DAY + timedelta(days=i), FIRST_DAY + timedelta(days=i + 6), BERLIN)
           for i in range(0, 21, 3)]  # weeks before, across and after the DST change
    out += [Period(date(2026, 3, 20), date(2026, 4, 3), BERLIN),  # ends today
            Period(date(2026, 3, 29), date(2026, 3, 29), BERLIN),  # the 23-hour day
            Period(date(2026, 4, 1), date(2026, 4, 10), BERLIN)]  # into the future
    return out


def counted(rows: list[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        out[tuple(row[:7])] += row[7]
    return out


def assert_same(db: Database, rolled: RolledMetrics, *, refresh: bool = True) -> int:
    """Rolled-up and live figures agree for every period and scope; returns the stored days
    the rolled-up reads used."""
    live = Metrics(db)
    used = 0
    for period in periods():
        if refresh:
            rolled.prepare(period.previous(), period)
        for scope in (ALL, REAL):
            assert counted(rolled.day_counts(period, scope)) == counted(
                live.day_counts(period, scope)), (period, scope)
            assert rolled.deflection(period, scope) == live.deflection(period, scope), (
                period, scope)
        with rolled.reading():
            used += len(rolled._plan(period)[0])
    week = periods()[3]
    for scope in (ALL, REAL):
        now, then = build(rolled, week, scope), build(live, week, scope)
        assert [(f.key, f.value, f.previous, f.daily) for f in now.figures] == [
            (f.key, f.value, f.previous, f.daily) for f in then.figures]
    return used


def test_rollup_equals_the_live_figures_through_every_kind_of_change(
        database: Database, tmp_path: Path) -> None:
    rng = random.Random(12)
    start = local_midnight(FIRST_DAY, BERLIN)
    ids = generate(database, rng, 160, start, NOW, "s")
    rolled = RolledMetrics(database, clock=lambda: NOW)
    assert assert_same(database, rolled) > 0
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(DAYS))
        spans = session.scalar(select(func.count()).select_from(SPANS))
    assert stored and stored >= 19  # the closed days up to yesterday
    assert spans  # conversations over midnight, a "yes" or a rating days later

    # Back-dated events: a single-day conversation of the past that gets a ticket three
    # days later (now it spans days), then new conversations on closed days.
    with database.session() as session:
        spanning = set(session.scalars(select(SPANS.c.session_id)))
        one = next(e for e in session.scalars(select(Event).where(
            Event.session_id.in_(ids[:60]), Event.kind == "decision",
            Event.channel != "slack").order_by(Event.id))
            if e.session_id not in spanning
            and e.created_at.replace(tzinfo=UTC) < NOW - timedelta(days=5))
        session.add(Event(kind="ticket", session_id=one.session_id, channel=one.channel,
                          created_at=one.created_at + timedelta(days=3)))
    assert_same(database, rolled)
    with database.session() as session:
        assert one.session_id in set(session.scalars(select(SPANS.c.session_id)))
    generate(database, rng, 40, start, NOW - timedelta(days=3), "late")
    assert_same(database, rolled)

    # `frontline simulate`: conversations that ran today, moved back in time and marked.
    today_ids = generate(database, random.Random(3), 15, NOW - timedelta(hours=3),
                         NOW - timedelta(minutes=5), "sim")
    backdate(database, [SessionPlan(sid, start + timedelta(days=2 + i, hours=11))
                        for i, sid in enumerate(today_ids)], now=NOW)
    assert_same(database, rolled)

    # A privacy erase: the customer's conversations get stand-in ids (their figures stay);
    # a purge clears old text. Then a retention that deletes a past day's events outright.
    with database.session() as session:
        for sid in ids[10:14]:
            session.add(Ticket(number=9000 + len(sid) + int(sid.split("-")[1]),
                               session_id=sid, email="ann@example.com", summary="help",
                               details="", transcript=[], tried_articles=[]))
    privacy = Privacy(database, Settings(
        _env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
        rasa_tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}"))
    assert privacy.erase("ann@example.com")["events_anonymised"] > 0
    privacy.purge(7)
    assert_same(database, rolled)
    day = local_midnight(date(2026, 3, 24), BERLIN)
    with database.session() as session:
        session.execute(delete(Event).where(Event.created_at >= day,
                                            Event.created_at < day + timedelta(days=1)))
    assert_same(database, rolled)

    # Events written after the refresh and before the read (another replica's): the read
    # takes their days live.
    rolled.prepare(*periods())
    with database.session() as session:
        moved = session.scalars(select(Event).where(Event.session_id == ids[20])).all()
        for event in moved:
            event.created_at = event.created_at - timedelta(days=4)
        session.add(Event(kind="feedback", session_id=ids[30], deflected=False,
                          created_at=NOW - timedelta(days=8, hours=5)))
    assert_same(database, rolled, refresh=False)
    assert_same(database, rolled)

    # Another time zone (off UTC by 5 h 45 min): the rollup starts again in it, and is exact
    # there too.
    utc = Period(date(2026, 3, 16), date(2026, 3, 31), ZoneInfo("Asia/Kathmandu"))
    assert rolled.refresh(utc.zone, utc.first, utc.last) == utc.days
    live = Metrics(database)
    assert rolled.deflection(utc) == live.deflection(utc)
    assert counted(rolled.day_counts(utc, REAL)) == counted(live.day_counts(utc, REAL))
    assert assert_same(database, rolled) > 0


def test_hour_ranges_and_runs() -> None:
    base = 20_000 * 24
    ranges = hour_ranges([base, base + 1, base + 2, base + 10])
    assert [(b - a).total_seconds() / 3600 for a, b in ranges] == [3, 1]
    merged = hour_ranges([base + 5 * i for i in range(10)], limit=3)
    assert len(merged) <= 3
    covered = {a + timedelta(hours=h) for a, b in merged
               for h in range(int((b - a).total_seconds() // 3600))}
    assert all(datetime.fromtimestamp((base + 5 * i) * 3600, UTC) in covered for i in range(10))
    days = [date(2026, 3, 1) + timedelta(days=i) for i in (0, 1, 2, 5, 6)]
    assert runs_of(days) == [days[:3], days[3:]]
    assert [len(r) for r in runs_of([date(2026, 1, 1) + timedelta(days=i)
                                      for i in range(40)], 31)] == [31, 9]


def test_events_from_before_the_rollup_are_rolled_up_after_the_upgrade(
        tmp_path: Path, request: Any) -> None:
    """A database with events from before migration 0007 (no triggers then): the migration
    marks their hours, so the first refresh rolls them up, and a downgrade takes it all away."""
    from alembic import command
    from alembic.config import Config

    from frontline.db.engine import MIGRATIONS

    for url in (f"sqlite:///{tmp_path / 'old.db'}", request.getfixturevalue("postgres_url")):
        db = Database(url)
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
        generate(db, random.Random(5), 60, local_midnight(FIRST_DAY, BERLIN), NOW, "old")
        db.migrate()
        rolled = RolledMetrics(db, clock=lambda: NOW)
        assert assert_same(db, rolled) > 0
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
            command.upgrade(config, "head")
        assert assert_same(db, RolledMetrics(db, clock=lambda: NOW)) > 0
        db.dispose()
