"""Every metric of docs/metrics.md on the seeded example, against figures computed by hand
(docs/metrics.md, "Worked example"), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from frontline.analytics import overview
from frontline.analytics.metrics import Metrics, Scope
from frontline.analytics.periods import Period
from frontline.analytics.rollup import RolledMetrics
from frontline.db import Database
from tests.frontline.analytics.seed import CATALOG, FIRST, LAST, PREV_FIRST, PREV_LAST, seed

UTC = ZoneInfo("UTC")
WEEK = Period(FIRST, LAST, UTC)
BEFORE = Period(PREV_FIRST, PREV_LAST, UTC)
approx = pytest.approx


@pytest.fixture(params=["live", "rolled up"])
def metrics(database: Database, request: pytest.FixtureRequest) -> Metrics:
    """The live queries, and the daily rollup the service reads (its days rolled up first:
    the hand-computed figures must come out of the stored days too)."""
    seed(database)
    kind = Metrics if request.param == "live" else RolledMetrics
    out = kind(database, catalog=lambda: CATALOG, review_threshold=0.6, review_min_votes=3)
    if isinstance(out, RolledMetrics):
        assert out.refresh(UTC, PREV_FIRST, LAST) == (LAST - PREV_FIRST).days + 1
    return out


def test_deflection_confirmed_and_assumed(metrics: Metrics) -> None:
    week = metrics.deflection(WEEK).total()
    assert (week.sessions, week.answered, week.confirmed, week.assumed) == (9, 7, 2, 4)
    before = metrics.deflection(BEFORE).total()
    assert (before.sessions, before.answered, before.confirmed, before.assumed) == (6, 5, 2, 3)
    days = {d.day: (v.sessions, v.confirmed, v.assumed)
            for d, v in metrics.deflection(WEEK).days.items()}
    assert days == {10: (2, 2, 1), 11: (2, 0, 1), 12: (2, 0, 0), 13: (1, 0, 1),
                    14: (1, 0, 0), 15: (1, 0, 1)}


def test_answer_mix_and_wrong_answer_signals(metrics: Metrics) -> None:
    week = metrics.answers(WEEK).total()
    assert week.questions == Counter(answer=6, clarify=2, abstain=1)
    assert (week.shown, week.yes, week.no) == (8, 2, 2)
    before = metrics.answers(BEFORE).total()
    assert before.questions == Counter(answer=5, clarify=0, abstain=1)
    assert (before.shown, before.yes, before.no) == (5, 2, 1)


def test_csat(metrics: Metrics) -> None:
    csat = metrics.csat(WEEK)
    assert csat.distribution == Counter({5: 1, 4: 1, 2: 1})
    assert csat.mean == approx(11 / 3)
    assert csat.satisfied == approx(2 / 3)
    assert (csat.asked, csat.answered) == (4, 3)
    assert csat.response_rate == approx(0.75)
    read_once = metrics.csat(WEEK, deflection=metrics.deflection(WEEK))
    assert (read_once.asked, read_once.answered, read_once.mean) == (4, 3, csat.mean)
    before = metrics.csat(BEFORE)
    assert before.mean == approx(14 / 3) and before.satisfied == 1.0
    assert before.response_rate == 1.0


def test_nps(metrics: Metrics) -> None:
    nps = metrics.nps(WEEK)
    assert (nps.promoters, nps.passives, nps.detractors) == (2, 0, 1)
    assert nps.score == approx(100 / 3)
    assert metrics.nps(BEFORE).score is None


def test_tickets(metrics: Metrics) -> None:
    t = metrics.tickets(WEEK)
    assert t.opened_total == 4 and t.resolved_total == 3
    assert t.opened_by["priority"] == Counter(normal=3, high=1)
    assert t.opened_by["channel"] == Counter(webchat=3, email=1)
    assert (t.backlog_start, t.backlog_end, t.reopened) == (1, 2, 1)
    assert t.resolution.count() == 3 and t.first_response.count() == 2
    assert t.resolution.median() == approx(24)
    assert t.resolution.p90() == approx(100.8)
    assert t.first_response.median() == approx(0.75)
    assert t.first_response.p90() == approx(0.95)
    assert t.resolution.median(priority="high") == approx(4)
    assert t.resolution.median(channel="email") == approx(24)
    assert list(t.backlog_by_day(WEEK).values()) == [1, 0, 1, 1, 2, 1, 2]
    before = metrics.tickets(BEFORE)
    assert (before.opened_total, before.resolved_total) == (3, 2)
    assert (before.backlog_start, before.backlog_end, before.reopened) == (0, 1, 0)
    assert before.resolution.median() == approx(2.5)
    assert before.first_response.median() == approx(1.125)
    assert before.first_response.p90() == approx(1.825)


def test_article_helpfulness(metrics: Metrics) -> None:
    rows = {a.article_id: a for a in metrics.articles(WEEK)}
    assert list(rows)[:2] == ["refund-policy", "reset-password"]  # most shown, most voted
    refund = rows["refund-policy"]
    assert (refund.shown, refund.yes, refund.no, refund.rep_up, refund.rep_down) == (
        3, 0, 2, 0, 1)
    assert refund.reasons == Counter(outdated=1)
    assert refund.helpfulness == 0.0 and refund.needs_review
    reset = rows["reset-password"]
    assert (reset.shown, reset.shown_sessions, reset.deflected_sessions) == (3, 3, 1)
    assert reset.deflection == approx(1 / 3) and not reset.needs_review
    assert rows["cancel-subscription"].deflection == 1.0
    assert rows["refund-exceptions"].shown == 0 and rows["refund-exceptions"].rep_up == 1
    assert rows["refund-policy"].title == "Refund policy"


def test_process_feedback_and_slack_assist(metrics: Metrics) -> None:
    fb = metrics.feedback(WEEK)
    assert fb.by_area == Counter(tooling=1, knowledge_base=1)
    assert fb.by_impact == Counter(high=1, medium=1)
    assert fb.by_status == Counter(new=1, planned=1)
    assert [i.what_happened for i in fb.items] == ["Refund article is outdated",
                                                   "Backstage times out"]
    assist = metrics.slack_assist(WEEK)
    assert (assist.questions_total, assist.rated, assist.helpful) == (2, 2, 1)
    assert assist.helpful_share == 0.5


def test_overview_compares_with_the_previous_period(metrics: Metrics) -> None:
    o = overview.build(metrics, WEEK)
    assert o.previous == BEFORE
    f = {x.key: x for x in o.figures}
    assert f["deflection_confirmed"].value == approx(2 / 9)
    assert f["deflection_confirmed"].previous == approx(2 / 6)
    assert f["deflection_confirmed"].change == approx(2 / 9 - 1 / 3)
    assert f["deflection_confirmed"].trend == "worse"
    assert f["deflection_assumed"].change == approx(4 / 9 - 1 / 2)
    assert f["csat_mean"].change == approx(-1.0)
    assert f["answer_rate"].value == approx(6 / 9) and f["answer_rate"].previous == approx(5 / 6)
    assert f["wrong_answer_rate"].value == 0.25 and f["wrong_answer_rate"].previous == 0.2
    assert f["tickets_opened"].change == 1 and f["tickets_opened"].trend == "worse"
    assert f["resolution_median"].change == approx(24 - 2.5)
    assert f["backlog"].value == 2 and f["backlog"].previous == 1
    assert f["nps"].value == approx(100 / 3) and f["nps"].previous is None
    assert f["slack_helpful"].value == 0.5
    # Daily trends: one point per day of the period.
    assert [v for _, v in f["kb_conversations"].daily] == [0, 2, 2, 2, 1, 1, 1]
    assert dict(f["csat_mean"].daily)[FIRST.replace(day=12)] == 2.0
    tables = o.tables()
    assert tables["csat_distribution"][1] == [[1, 0, 0], [2, 1, 0], [3, 0, 0], [4, 1, 1],
                                              [5, 1, 2]]
    priority = {row[0]: row for row in tables["tickets_by_priority"][1]}
    assert priority["high"][1:] == [1, 1.0, 1.0, 1, 4.0, 4.0]


def test_simulated_records_can_be_hidden(database: Database) -> None:
    seed(database, simulated=frozenset({"s1", "s2", "s5"}))
    metrics = Metrics(database, catalog=lambda: CATALOG)
    everything = metrics.deflection(WEEK).total()
    real = metrics.deflection(WEEK, Scope(hide_simulated=True)).total()
    assert (everything.sessions, everything.confirmed) == (9, 2)
    assert (real.sessions, real.confirmed, real.assumed) == (6, 0, 3)
    assert metrics.csat(WEEK, Scope(hide_simulated=True)).count == 0
    tickets = metrics.tickets(WEEK, Scope(hide_simulated=True))
    assert tickets.opened_total == 3  # T5 (s5) is simulated
    assert tickets.first_response.count() == 1
    assert tickets.first_response.median() == approx(0.5)


def test_failed_chat_turns_are_counted_per_day_and_listed(metrics: Metrics) -> None:
    from datetime import UTC, datetime

    from frontline.analytics.drilldown import DrillDown
    from frontline.db import Event

    def failed(kind: str, session: str, day: int, simulated: bool = False) -> Event:
        return Event(kind=kind, session_id=session, created_at=datetime(2026, 3, day, 9,
                                                                         tzinfo=UTC),
                     query=f"{kind} in {session}", simulated=simulated)

    with metrics.db.session() as session:
        session.add_all([failed("chat_no_reply", "s1", 10), failed("chat_no_reply", "s2", 12),
                         failed("chat_unavailable", "s3", 12),
                         failed("chat_unavailable", "s4", 13, simulated=True),
                         failed("chat_no_reply", "p1", 3)])  # last week
        session.commit()
    now = metrics.failures(WEEK)
    assert (now.count(), now.count("chat_no_reply"), now.count("chat_unavailable")) == (4, 2, 2)
    assert metrics.failures(WEEK, Scope(hide_simulated=True)).count() == 3
    f = {x.key: x for x in overview.build(metrics, WEEK).figures}["assistant_failures"]
    assert (f.value, f.previous, f.trend) == (4, 1, "worse")
    assert [v for _, v in f.daily] == [0, 1, 0, 2, 1, 0, 0]
    assert f.detail.startswith("2 with no reply, 2 while it was unreachable")
    table = DrillDown(metrics).table(f.drill, WEEK)
    assert [(r[1], r[2]) for r in table.rows] == [
        ("s4", "assistant unreachable"), ("s3", "assistant unreachable"), ("s2", "no reply"),
        ("s1", "no reply")]
    assert table.refs[0] == ("conversation", "s4")


def test_questions_in_other_languages_are_counted_by_language(metrics: Metrics) -> None:
    from datetime import UTC, datetime

    from frontline.analytics.drilldown import DrillDown
    from frontline.db import Event

    def asked(language: str, session: str, day: int, channel: str = "webchat") -> Event:
        return Event(kind="decision", session_id=session, decision="abstain", channel=channel,
                     created_at=datetime(2026, 3, day, 9, tzinfo=UTC), query="¿Dónde está?",
                     language=language, ambiguous=False)

    with metrics.db.session() as session:
        session.add_all([asked("es", "x1", 10), asked("es", "x2", 11), asked("de", "x3", 11),
                         asked("fr", "x4", 11, channel="slack"),  # a rep's: not a customer's
                         asked("de", "x5", 4)])  # last week
        session.commit()
    langs = metrics.languages(WEEK)
    assert langs.total == Counter(es=2, de=1) and langs.on(FIRST.replace(day=11)) == 2
    f = {x.key: x for x in overview.build(metrics, WEEK).figures}["other_languages"]
    assert (f.value, f.previous) == (3, 1)
    assert f.detail.startswith("es 2, de 1")
    table = DrillDown(metrics).table(f.drill, WEEK)
    assert [(r[1], r[2]) for r in table.rows] == [("x3", "de"), ("x2", "es"), ("x1", "es")]


def test_the_language_figure_reads_its_partial_index(database: Database) -> None:
    """Decisions are the bulk of the events; the rare ones with a language are found through
    ``ix_events_language_created_at`` (migration 0008), not by scanning the period."""
    from sqlalchemy import text

    metrics = Metrics(database)
    query = metrics.languages_query(WEEK, Scope(hide_simulated=True))
    compiled = query.compile(database.engine, compile_kwargs={"literal_binds": True})
    with database.session() as session:
        if database.engine.dialect.name == "postgresql":
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
        else:
            plan = " ".join(str(r[-1]) for r in session.execute(
                text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_events_language_created_at" in plan, plan
    assert metrics.languages(WEEK).count() == 0
