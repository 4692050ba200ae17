"""The ops metrics, each computed for one period in the database: deflection (confirmed and
assumed), the answer mix and wrong-answer signals, CSAT, NPS, tickets, article helpfulness,
rep process feedback and Slack assist. ``docs/metrics.md`` defines every figure.

Each query reads one period's rows through an index on time (and kind), aggregates in SQL,
and returns per-day rows; the totals are sums of the days. Only ticket durations come back
row by row (one per ticket of the period), for the median and 90th percentile.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    and_,
    case,
    column,
    distinct,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    union,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from frontline.analytics.periods import Period
from frontline.analytics.sqlfn import Dialect, as_date, percentile
from frontline.db import Database, Event, Message, ProcessFeedback, Rating, Ticket

EVENTS = Event.__table__
TICKETS = Ticket.__table__
MESSAGES = Message.__table__
RATINGS = Rating.__table__
FEEDBACK = ProcessFeedback.__table__
# Each ticket's status changes (``frontline.ticketing.history``, a layer beside this one).
STATUS_CHANGES = table("ticket_status_changes", column("id", Integer),
                       column("ticket_id", Integer), column("from_status", String),
                       column("to_status", String),
                       column("created_at", DateTime(timezone=True)))

REP_CHANNEL = "slack"  # reps' questions (Slack assist); every other channel is customers'
ASSUMED_WINDOW_HOURS = 24
OUTCOMES = ("answer", "clarify", "abstain")
# A customer's chat turn the assistant failed: it answered nothing (a custom action broke) or
# could not be reached; the customer was told so and offered a person (frontline.support.chat).
FAILURES = ("chat_no_reply", "chat_unavailable")
SATISFIED = (4, 5)


@dataclass(frozen=True)
class ArticleInfo:
    title: str
    tags: tuple[str, ...] = ()
    audience: str = "public"
    url: str | None = None


Catalog = Callable[[], Mapping[str, ArticleInfo]]


@dataclass(frozen=True)
class Scope:
    """Which records count: everything, or only real ones (``frontline simulate`` marks its
    own)."""

    hide_simulated: bool = False


ALL = Scope()  # every record, simulated ones included


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


# -- results ----------------------------------------------------------------------------------
@dataclass
class DeflectionDay:
    sessions: int = 0  # conversations that asked the KB something (first question that day)
    answered: int = 0  # … of which got an answer
    confirmed: int = 0  # … in which the customer said an answer helped
    assumed: int = 0  # … answered, and no ticket, handoff or "no" until 24 h after the answer


@dataclass
class Deflection:
    days: dict[date, DeflectionDay]
    csat_asked: int = 0  # conversations asked for a rating in the period (read in the same pass)
    csat_rated: int = 0  # … of which rated it within 24 h

    def total(self) -> DeflectionDay:
        out = DeflectionDay()
        for day in self.days.values():
            out.sessions += day.sessions
            out.answered += day.answered
            out.confirmed += day.confirmed
            out.assumed += day.assumed
        return out


@dataclass
class AnswersDay:
    questions: Counter[str] = field(default_factory=Counter)  # outcome -> questions
    shown: int = 0  # answers shown (questions answered, articles picked, next-best articles)
    yes: int = 0  # "did that answer your question?" → yes
    no: int = 0  # → no: the wrong-answer signal


@dataclass
class Answers:
    days: dict[date, AnswersDay]

    def total(self) -> AnswersDay:
        out = AnswersDay()
        for day in self.days.values():
            out.questions.update(day.questions)
            out.shown += day.shown
            out.yes += day.yes
            out.no += day.no
        return out


@dataclass
class Scores:
    """Survey answers by day: day -> score -> how many gave it."""

    by_day: dict[date, Counter[int]]

    @property
    def distribution(self) -> Counter[int]:
        out: Counter[int] = Counter()
        for scores in self.by_day.values():
            out.update(scores)
        return out

    @property
    def count(self) -> int:
        return sum(self.distribution.values())


@dataclass
class Csat(Scores):
    asked: int = 0  # conversations asked for a rating in the period
    answered: int = 0  # … of which gave one (within 24 h)

    @property
    def mean(self) -> float | None:
        dist = self.distribution
        return ratio(sum(s * n for s, n in dist.items()), sum(dist.values()))

    @property
    def satisfied(self) -> float | None:
        dist = self.distribution
        return ratio(sum(dist[s] for s in SATISFIED), sum(dist.values()))

    @property
    def response_rate(self) -> float | None:
        return ratio(self.answered, self.asked)

    def day_mean(self, day: date) -> float | None:
        scores = self.by_day.get(day, Counter())
        return ratio(sum(s * n for s, n in scores.items()), sum(scores.values()))


@dataclass
class Nps(Scores):

    @property
    def promoters(self) -> int:
        return sum(n for s, n in self.distribution.items() if s >= 9)

    @property
    def passives(self) -> int:
        return sum(n for s, n in self.distribution.items() if 7 <= s <= 8)

    @property
    def detractors(self) -> int:
        return sum(n for s, n in self.distribution.items() if s <= 6)

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, from −100 to 100."""
        if not self.count:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.count


Selection = tuple[str | None, str | None, date | None]  # (priority, channel, day)


@dataclass
class Durations:
    """Hours per ticket summarised for the figures: count, median and 90th percentile,
    overall, per priority, per channel and per day."""

    stats: dict[Selection, tuple[int, float | None, float | None]]

    @classmethod
    def from_rows(cls, rows: list[tuple[date, str, str, float]]) -> Durations:
        """From (day, priority, channel, hours) rows — what SQLite returns."""
        groups: dict[Selection, list[float]] = defaultdict(list)
        for d, p, c, h in rows:
            keys: tuple[Selection, ...] = ((None, None, None), (p, None, None),
                                           (None, c, None), (None, None, d))
            for key in keys:
                groups[key].append(h)
        stats: dict[Selection, tuple[int, float | None, float | None]] = {}
        for key, values in groups.items():
            values.sort()
            stats[key] = (len(values), percentile(values, 0.5), percentile(values, 0.9))
        return cls(stats)

    def _get(self, priority: str | None, channel: str | None,
             day: date | None) -> tuple[int, float | None, float | None]:
        return self.stats.get((priority, channel, day), (0, None, None))

    def count(self, *, priority: str | None = None, channel: str | None = None,
              day: date | None = None) -> int:
        return self._get(priority, channel, day)[0]

    def median(self, *, priority: str | None = None, channel: str | None = None,
               day: date | None = None) -> float | None:
        return self._get(priority, channel, day)[1]

    def p90(self, *, priority: str | None = None, channel: str | None = None,
            day: date | None = None) -> float | None:
        return self._get(priority, channel, day)[2]

    def groups(self, index: int) -> list[str]:
        """The priorities (index 1) or channels (index 2) present."""
        return sorted(str(k[index - 1]) for k in self.stats if k[index - 1] is not None)


@dataclass
class Tickets:
    opened: dict[date, int]
    resolved: dict[date, int]
    opened_by: dict[str, Counter[str]]  # "priority"/"channel" -> value -> tickets opened
    backlog_start: int  # open at the period's start
    backlog_end: int  # open at its end
    reopened: int
    first_response: Durations  # tickets opened in the period that a rep answered
    resolution: Durations  # tickets resolved in the period
    # Per day, what the status history changes in the count of open tickets beyond opened
    # minus resolved (by resolved_at): a resolve later undone, a reopen.
    history: dict[date, int] = field(default_factory=dict)

    @property
    def opened_total(self) -> int:
        return sum(self.opened.values())

    @property
    def resolved_total(self) -> int:
        return sum(self.resolved.values())

    def backlog_by_day(self, period: Period) -> dict[date, int]:
        """Open tickets at the end of each day: the start's backlog plus opened minus
        resolved so far, with the reopens and undone resolves of the status history."""
        out, open_now = {}, self.backlog_start
        for day in period.dates():
            open_now += (self.opened.get(day, 0) - self.resolved.get(day, 0)
                         + self.history.get(day, 0))
            out[day] = open_now
        return out


@dataclass
class ArticleRow:
    article_id: str
    title: str
    shown: int = 0
    shown_sessions: int = 0
    yes: int = 0
    no: int = 0
    deflected_sessions: int = 0
    rep_up: int = 0
    rep_down: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    needs_review: bool = False

    @property
    def votes(self) -> int:
        return self.yes + self.no + self.rep_up + self.rep_down

    @property
    def helpfulness(self) -> float | None:
        return ratio(self.yes + self.rep_up, self.votes)

    @property
    def deflection(self) -> float | None:
        return ratio(self.deflected_sessions, self.shown_sessions)


@dataclass
class FeedbackSummary:
    by_area: Counter[str]
    by_impact: Counter[str]
    by_status: Counter[str]
    items: list[ProcessFeedback]

    @property
    def count(self) -> int:
        return sum(self.by_area.values())


@dataclass
class SlackAssist:
    questions: dict[date, int]
    rated: int
    helpful: int

    @property
    def questions_total(self) -> int:
        return sum(self.questions.values())

    @property
    def helpful_share(self) -> float | None:
        return ratio(self.helpful, self.rated)


@dataclass
class Failures:
    """Customers' chat turns the assistant failed, per day and kind (``FAILURES``)."""

    by_day: dict[date, Counter[str]]

    def count(self, kind: str | None = None) -> int:
        return sum(c[kind] if kind else sum(c.values()) for c in self.by_day.values())

    def on(self, day: date) -> int:
        return sum(self.by_day.get(day, Counter()).values())


@dataclass
class Languages:
    """Customers' questions in a language the KB is not written in, per day and language
    (ISO 639-1): the assistant said so in that language and offered a ticket or a person."""

    by_day: dict[date, Counter[str]]

    @property
    def total(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for day in self.by_day.values():
            out.update(day)
        return out

    def count(self) -> int:
        return sum(self.total.values())

    def on(self, day: date) -> int:
        return sum(self.by_day.get(day, Counter()).values())


# -- the queries -------------------------------------------------------------------------------
class Metrics:
    """Every metric of ``docs/metrics.md`` for one period; one instance per database."""

    def __init__(self, db: Database, *, catalog: Catalog | None = None,
                 review_threshold: float = 0.6, review_min_votes: int = 5) -> None:
        self.db = db
        self.sql = Dialect(db.engine.dialect.name)
        self.catalog: Catalog = catalog or dict
        self.review_threshold = review_threshold
        self.review_min_votes = review_min_votes
        self._reading = threading.local()

    def prepare(self, *periods: Period) -> None:
        """Called before these periods' figures are read, outside any read transaction:
        nothing to do here (``RolledMetrics`` brings its daily rollup up to date)."""

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run this thread's queries in one read transaction on one connection until the
        block ends: a period's dozen queries without a connection, a transaction and the
        settings each (round trips cost most when the machine is busy)."""
        if getattr(self._reading, "session", None) is not None:
            yield
            return
        with self.db.session() as session:
            self._prepare(session)
            self._reading.session = session
            try:
                yield
            finally:
                self._reading.session = None

    def _prepare(self, session: Any) -> None:
        if self.sql.postgres:
            # These aggregates are cheap to plan and quick to run: compiling them (JIT) costs
            # more than it saves, and a period's conversations are hashed in memory.
            session.execute(text("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'"))

    def _rows(self, query: Any) -> list[Any]:
        bound = getattr(self._reading, "session", None)
        if bound is not None:
            return list(bound.execute(query).all())
        with self.db.session() as session:
            self._prepare(session)
            return list(session.execute(query).all())

    @staticmethod
    def _real(table: Any, scope: Scope) -> list[ColumnElement[bool]]:
        return [table.c.simulated == false()] if scope.hide_simulated else []

    @staticmethod
    def _customers() -> ColumnElement[bool]:
        return EVENTS.c.channel != REP_CHANNEL

    @staticmethod
    def is_question() -> ColumnElement[bool]:
        """A decision on a customer's question. The follow-ups (an article picked after a
        clarify, the next-best article after a "no") are recorded as ``answer`` decisions
        without an ambiguity flag; they answer a question already counted."""
        return or_(EVENTS.c.decision != "answer", EVENTS.c.ambiguous.is_not(None))

    # deflection ---------------------------------------------------------------------------
    def session_flags(self, period: Period, scope: Scope = ALL, *,
                      only: ColumnElement[bool] | None = None, seen: bool = False) -> Any:
        """One row per conversation that asked the KB something in the period: first
        question and first answer times, confirmed (a "yes") and the first negative signal
        (a ticket, a handoff or a "no"); read up to 24 h past the period's end. ``only``
        narrows the events read (the rollup: some conversations); ``seen`` adds ``seen_at``,
        the conversation's first event in the period."""
        e = EVENTS
        extra = ([func.min(case((e.c.created_at < period.end, e.c.created_at)))
                  .label("seen_at")] if seen else [])
        asked = and_(e.c.kind == "decision", e.c.created_at < period.end)
        negative = or_(e.c.kind.in_(("ticket", "handoff")),
                       and_(e.c.kind == "feedback", e.c.deflected == false()))
        asked_rating = and_(e.c.created_at < period.end, or_(
            e.c.kind == "csat_asked", and_(e.c.kind == "feedback", e.c.deflected == true())))
        return (
            select(
                e.c.session_id.label("session_id"),
                func.min(case((asked, e.c.created_at))).label("first_at"),
                func.min(case((and_(asked, e.c.decision == "answer"), e.c.created_at)))
                .label("answer_at"),
                func.max(case((and_(e.c.kind == "feedback", e.c.deflected == true()), 1),
                              else_=0)).label("confirmed"),
                func.min(case((negative, e.c.created_at))).label("negative_at"),
                func.max(e.c.channel).label("channel"),
                func.max(case((asked_rating, 1), else_=0)).label("asked"),
                func.max(case((e.c.kind == "csat", 1), else_=0)).label("rated"),
                *extra,
            )
            .where(e.c.created_at >= period.start,
                   e.c.created_at < _plus(period.end, ASSUMED_WINDOW_HOURS),
                   e.c.kind.in_(("decision", "feedback", "ticket", "handoff", "csat_asked",
                                 "csat")),
                   e.c.session_id.is_not(None), self._customers(), *self._real(e, scope),
                   *([] if only is None else [only]))
            .group_by(e.c.session_id)
            .subquery("kb_sessions")
        )

    def assumed_condition(self, s: Any) -> ColumnElement[bool]:
        return and_(s.c.answer_at.is_not(None),
                    or_(s.c.negative_at.is_(None),
                        s.c.negative_at >= self.sql.plus_hours(s.c.answer_at,
                                                               ASSUMED_WINDOW_HOURS)))

    def deflection(self, period: Period, scope: Scope = ALL) -> Deflection:
        return self.deflection_of(period, scope)

    def deflection_sums(self, s: Any, day: ColumnElement[Any]) -> Any:
        """Per ``day`` of the conversations ``s`` (``session_flags``): conversations that
        asked, answered, confirmed, assumed, asked for a rating, rated."""
        kb = s.c.first_at.is_not(None)
        return (
            select(day, func.sum(case((kb, 1), else_=0)), func.count(s.c.answer_at),
                   func.sum(case((kb, s.c.confirmed), else_=0)),
                   func.sum(case((and_(kb, self.assumed_condition(s)), 1), else_=0)),
                   func.sum(s.c.asked), func.sum(s.c.asked * s.c.rated))
            .group_by(day)
        )

    def deflection_of(self, period: Period, scope: Scope = ALL,
                      only: ColumnElement[bool] | None = None) -> Deflection:
        """Deflection of the conversations whose events ``only`` keeps (all without it)."""
        s = self.session_flags(period, scope, only=only)
        query = self.deflection_sums(s, self.sql.local_day(s.c.first_at, period).label("day"))
        days, asked, rated = {}, 0, 0
        for d, n, a, c, x, ask, rate in self._rows(query):
            asked += int(ask or 0)
            rated += int(rate or 0)
            if d is not None:  # conversations that never asked the KB have no day
                days[as_date(d)] = DeflectionDay(int(n or 0), int(a), int(c or 0), int(x or 0))
        return Deflection(days, asked, rated)

    # answer mix ---------------------------------------------------------------------------
    def day_counts(self, period: Period, scope: Scope = ALL) -> list[tuple[Any, ...]]:
        """One pass over the period's decisions, feedback, ratings and NPS answers, counted by
        day and by what the figures tell apart: the answer mix, the yes/no, the CSAT and NPS
        scores and the reps' questions all come from these few hundred rows."""
        return [row[:-1] for row in self.day_counts_by_simulated(period, scope, split=False)]

    def day_counts_by_simulated(self, period: Period, scope: Scope = ALL, *,
                                split: bool = True) -> list[tuple[Any, ...]]:
        """``day_counts`` rows with a last column: simulated (``split``) or None."""
        e = EVENTS
        day = self.sql.local_day(e.c.created_at, period).label("day")
        question = case((and_(e.c.kind == "decision", self.is_question()), 1), else_=0)
        rep = case((e.c.channel == REP_CHANNEL, 1), else_=0)
        keys = [day, e.c.kind, e.c.decision, question, e.c.deflected, e.c.csat, rep]
        simulated = [e.c.simulated] if split else []
        query = (
            select(*keys, func.count(), *simulated)
            .where(e.c.kind.in_(("decision", "feedback", "csat", "nps")),
                   e.c.created_at >= period.start, e.c.created_at < period.end,
                   *self._real(e, scope))
            .group_by(*keys, *simulated)
        )
        return [(as_date(d), kind, decision, bool(q), deflected, score, bool(r), int(n),
                 bool(sim[0]) if sim else None)
                for d, kind, decision, q, deflected, score, r, n, *sim in self._rows(query)]

    def answers(self, period: Period, scope: Scope = ALL,
                counts: list[tuple[Any, ...]] | None = None) -> Answers:
        days: dict[date, AnswersDay] = {}
        for d, kind, decision, question, deflected, _, rep, n in (
                counts if counts is not None else self.day_counts(period, scope)):
            if rep or kind not in ("decision", "feedback"):
                continue
            day = days.setdefault(d, AnswersDay(Counter({o: 0 for o in OUTCOMES})))
            if kind == "decision":
                if question and decision in OUTCOMES:
                    day.questions[decision] += n
                if decision == "answer":
                    day.shown += n
            elif deflected is True:
                day.yes += n
            elif deflected is False:
                day.no += n
        return Answers(days)

    # surveys ------------------------------------------------------------------------------
    def _scores(self, kind: str, period: Period, scope: Scope,
                counts: list[tuple[Any, ...]] | None = None) -> dict[date, Counter[int]]:
        out: dict[date, Counter[int]] = defaultdict(Counter)
        for d, k, _, _, _, score, rep, n in (
                counts if counts is not None else self.day_counts(period, scope)):
            if k == kind and score is not None and not rep:
                out[d][int(score)] += n
        return dict(out)

    def csat(self, period: Period, scope: Scope = ALL,
             counts: list[tuple[Any, ...]] | None = None,
             deflection: Deflection | None = None) -> Csat:
        """``deflection`` (of the same period and scope) already read who was asked and who
        rated; without it, that is read here."""
        if deflection is not None:
            return Csat(self._scores("csat", period, scope, counts), deflection.csat_asked,
                        deflection.csat_rated)
        e = EVENTS
        asked_now = and_(e.c.created_at < period.end, or_(
            e.c.kind == "csat_asked", and_(e.c.kind == "feedback", e.c.deflected == true())))
        per_session = (
            select(func.max(case((asked_now, 1), else_=0)).label("asked"),
                   func.max(case((e.c.kind == "csat", 1), else_=0)).label("rated"))
            .where(e.c.kind.in_(("csat_asked", "feedback", "csat")),
                   e.c.created_at >= period.start,
                   e.c.created_at < _plus(period.end, ASSUMED_WINDOW_HOURS),
                   e.c.session_id.is_not(None), self._customers(), *self._real(e, scope))
            .group_by(e.c.session_id).subquery()
        )
        asked, rated = self._rows(
            select(func.count(), func.sum(per_session.c.rated)).where(per_session.c.asked == 1)
        )[0]
        return Csat(self._scores("csat", period, scope, counts), int(asked or 0),
                    int(rated or 0))

    def nps(self, period: Period, scope: Scope = ALL,
            counts: list[tuple[Any, ...]] | None = None) -> Nps:
        return Nps(self._scores("nps", period, scope, counts))

    # tickets ------------------------------------------------------------------------------
    def tickets(self, period: Period, scope: Scope = ALL) -> Tickets:
        t = TICKETS
        real = self._real(t, scope)
        created_day = self.sql.local_day(t.c.created_at, period).label("day")
        opened: dict[date, int] = defaultdict(int)
        opened_by: dict[str, Counter[str]] = {"priority": Counter(), "channel": Counter()}
        for d, priority, channel, n in self._rows(
            select(created_day, t.c.priority, t.c.channel, func.count())
            .where(t.c.created_at >= period.start, t.c.created_at < period.end, *real)
            .group_by(created_day, t.c.priority, t.c.channel)
        ):
            opened[as_date(d)] += int(n)
            opened_by["priority"][priority] += int(n)
            opened_by["channel"][channel] += int(n)
        resolved_day = self.sql.local_day(t.c.resolved_at, period).label("day")
        resolved = {as_date(d): int(n) for d, n in self._rows(
            select(resolved_day, func.count())
            .where(t.c.resolved_at >= period.start, t.c.resolved_at < period.end, *real)
            .group_by(resolved_day)
        )}

        def backlog(at: datetime) -> list[Any]:
            """Open at ``at``: created before it and not resolved then — the tickets open now,
            less those created since, plus those resolved since, corrected by the status
            history of the tickets that changed since (a ticket resolved then and reopened
            since was not open). Index ranges from ``at`` on: the cost does not grow with
            the history."""
            return [
                select(func.count()).where(t.c.created_at >= at, *real).scalar_subquery(),
                select(func.count()).where(t.c.resolved_at >= at, *real).scalar_subquery(),
                self._history_correction(at, scope).scalar_subquery(),
            ]

        # One round trip: the tickets open now, both ends' corrections, the reopened.
        open_now, *ends, reopened = self._rows(select(
            select(func.count()).where(t.c.resolved_at.is_(None), *real).scalar_subquery(),
            *backlog(period.start), *backlog(period.end),
            select(func.count()).select_from(self.reopened_ids(period, scope).subquery())
            .scalar_subquery()))[0]
        backlog_start, backlog_end = (
            int(open_now) - int(created) + int(resolved_since) + int(changed or 0)
            for created, resolved_since, changed in (ends[:3], ends[3:]))
        reopened = int(reopened)

        m = MESSAGES
        # Per ticket of the period, its first rep reply: one lookup in messages(ticket_id).
        first_reply = (select(func.min(m.c.created_at)).where(
            m.c.ticket_id == t.c.id, m.c.sender == "rep").scalar_subquery())
        opened_tickets = (
            select(t.c.created_at, t.c.priority, t.c.channel, first_reply.label("at"))
            .where(t.c.created_at >= period.start, t.c.created_at < period.end, *real)
            .subquery()
        )
        o = opened_tickets
        opened_day = self.sql.local_day(o.c.created_at, period)
        # No "reply IS NOT NULL" filter: PostgreSQL would look the reply up twice per ticket.
        # The tickets without one have no hours, which the durations leave out.
        first_response = self._durations(
            select(opened_day.label("day"), o.c.priority.label("priority"),
                   o.c.channel.label("channel"),
                   self.sql.hours_between(o.c.at, o.c.created_at).label("hours"))
            .subquery())
        resolution = self._durations(
            select(resolved_day.label("day"), t.c.priority.label("priority"),
                   t.c.channel.label("channel"),
                   self.sql.hours_between(t.c.resolved_at, t.c.created_at).label("hours"))
            .where(t.c.resolved_at >= period.start, t.c.resolved_at < period.end, *real)
            .subquery())
        return Tickets(dict(opened), resolved, opened_by, backlog_start, backlog_end,
                       reopened, first_response, resolution, self._history_by_day(period, scope))

    def _history_by_day(self, period: Period, scope: Scope) -> dict[date, int]:
        """Per local day: +1 for each change out of ``resolved``, −1 for each change into it,
        and +1 for each ticket with a history resolved (``resolved_at``) that day — its
        resolve is already among the changes, not to be counted twice."""
        t, h = TICKETS, STATUS_CHANGES
        real = self._real(t, scope)
        changes = self.sql.local_day(h.c.created_at, period).label("day")
        step = case((and_(h.c.from_status == "resolved", h.c.to_status != "resolved"), 1),
                    (and_(h.c.from_status != "resolved", h.c.to_status == "resolved"), -1),
                    else_=0)
        has_history = select(h.c.id).where(h.c.ticket_id == t.c.id).exists()
        resolved_day = self.sql.local_day(t.c.resolved_at, period).label("day")
        out: dict[date, int] = defaultdict(int)
        for d, n in self._rows(union_all(  # one round trip for both
            select(changes, func.sum(step)).select_from(h.join(t, t.c.id == h.c.ticket_id))
            .where(h.c.created_at >= period.start, h.c.created_at < period.end,
                   h.c.from_status.is_not(None), *real)
            .group_by(changes),
            select(resolved_day, func.count())
            .where(t.c.resolved_at >= period.start, t.c.resolved_at < period.end, has_history,
                   *real)
            .group_by(resolved_day),
        )):
            out[as_date(d)] += int(n or 0)
        return {d: n for d, n in out.items() if n}

    def _history_correction(self, at: datetime, scope: Scope) -> Any:
        """For the tickets created before ``at`` whose status changed since: open then by their
        history (the first change since left a status other than resolved) less open then by
        ``resolved_at`` (what the backlog's count assumed)."""
        t, h = TICKETS, STATUS_CHANGES
        first = (select(h.c.ticket_id, func.min(h.c.id).label("first_id"))
                 .where(h.c.created_at >= at).group_by(h.c.ticket_id).subquery())
        change = STATUS_CHANGES.alias("first_change")
        by_history = case((change.c.from_status != "resolved", 1), else_=0)
        by_resolved_at = case((or_(t.c.resolved_at.is_(None), t.c.resolved_at >= at), 1),
                              else_=0)
        return (select(func.coalesce(func.sum(by_history - by_resolved_at), 0))
                .select_from(first.join(change, change.c.id == first.c.first_id)
                             .join(t, t.c.id == first.c.ticket_id))
                .where(t.c.created_at < at, *self._real(t, scope)))

    def open_at(self, at: datetime) -> ColumnElement[bool]:
        """A ticket (row of ``tickets``) open at the instant ``at``: created before it, and
        its status then — before its first change since, by the history; without a change
        since (or a history), not resolved before ``at``."""
        t, h = TICKETS, STATUS_CHANGES
        then = (select(h.c.from_status).where(h.c.ticket_id == t.c.id, h.c.created_at >= at)
                .order_by(h.c.id).limit(1).scalar_subquery())
        return and_(t.c.created_at < at, or_(
            and_(then.is_not(None), then != "resolved"),
            and_(then.is_(None), or_(t.c.resolved_at.is_(None), t.c.resolved_at >= at))))

    def reopened_ids(self, period: Period, scope: Scope) -> Any:
        """The tickets opened again in the period after being resolved: ``reopen`` events
        and status changes out of ``resolved``."""
        e, h, t = EVENTS, STATUS_CHANGES, TICKETS
        return union(
            select(e.c.ticket_id.label("ticket_id")).where(
                e.c.kind == "reopen", e.c.ticket_id.is_not(None),
                e.c.created_at >= period.start, e.c.created_at < period.end,
                *self._real(e, scope)),
            select(h.c.ticket_id).select_from(h.join(t, t.c.id == h.c.ticket_id)).where(
                h.c.from_status == "resolved", h.c.to_status != "resolved",
                h.c.created_at >= period.start, h.c.created_at < period.end,
                *self._real(t, scope)),
        )

    def _durations(self, rows: Any) -> Durations:
        """Count, median and p90 of ``rows.c.hours`` overall, by priority, channel and day:
        PostgreSQL computes them (``percentile_cont`` over grouping sets); SQLite returns
        the rows and the same interpolation runs here."""
        if not self.sql.postgres:
            return Durations.from_rows([
                (as_date(d), p, c, round(float(h), 6))
                for d, p, c, h in self._rows(select(rows.c.day, rows.c.priority, rows.c.channel,
                                                    rows.c.hours)) if h is not None])
        h = rows.c.hours
        query = select(
            rows.c.day, rows.c.priority, rows.c.channel,
            func.grouping(rows.c.day), func.grouping(rows.c.priority),
            func.grouping(rows.c.channel), func.count(h),
            func.percentile_cont(0.5).within_group(h),
            func.percentile_cont(0.9).within_group(h),
        ).group_by(func.grouping_sets(
            literal_column("()"), rows.c.day, rows.c.priority, rows.c.channel))
        stats: dict[Selection, tuple[int, float | None, float | None]] = {}
        for d, p, c, gd, gp, gc, n, p50, p90 in self._rows(query):
            if not n:
                continue
            key = (None if gp else p, None if gc else c, None if gd else as_date(d))
            stats[key] = (int(n), None if p50 is None else round(float(p50), 6),
                          None if p90 is None else round(float(p90), 6))
        return Durations(stats)

    # articles -----------------------------------------------------------------------------
    def articles(self, period: Period, scope: Scope = ALL) -> list[ArticleRow]:
        e, r = EVENTS, RATINGS
        answer = and_(e.c.kind == "decision", e.c.decision == "answer")
        said_yes = and_(e.c.kind == "feedback", e.c.deflected == true())
        # Customers' yes / no: to "did that answer your question?" in a chat, and to "Was this
        # article helpful?" on its help-centre page (no session: deflection reads chats only).
        yes = or_(said_yes, and_(e.c.kind == "help_vote", e.c.decision == "yes"))
        no = or_(and_(e.c.kind == "feedback", e.c.deflected == false()),
                 and_(e.c.kind == "help_vote", e.c.decision == "no"))
        catalog = self.catalog()
        rows: dict[str, ArticleRow] = {}

        def row(article_id: str) -> ArticleRow:
            if article_id not in rows:
                info = catalog.get(article_id)
                rows[article_id] = ArticleRow(article_id, info.title if info else article_id)
            return rows[article_id]

        for article_id, shown, sessions, n_yes, n_no, deflected in self._rows(
            select(e.c.article_id, func.sum(case((answer, 1), else_=0)),
                   func.count(distinct(case((answer, e.c.session_id)))),
                   func.sum(case((yes, 1), else_=0)), func.sum(case((no, 1), else_=0)),
                   func.count(distinct(case((said_yes, e.c.session_id)))))
            .where(e.c.kind.in_(("decision", "feedback", "help_vote")),
                   e.c.article_id.is_not(None),
                   e.c.created_at >= period.start, e.c.created_at < period.end,
                   self._customers(), *self._real(e, scope))
            .group_by(e.c.article_id)
        ):
            item = row(article_id)
            item.shown, item.shown_sessions = int(shown or 0), int(sessions or 0)
            item.yes, item.no = int(n_yes or 0), int(n_no or 0)
            item.deflected_sessions = int(deflected or 0)
        for article_id, helpful, reason, n in self._rows(
            select(r.c.article_id, r.c.helpful, r.c.reason, func.count())
            .where(r.c.created_at >= period.start, r.c.created_at < period.end,
                   *self._real(r, scope))
            .group_by(r.c.article_id, r.c.helpful, r.c.reason)
        ):
            item = row(article_id)
            if helpful:
                item.rep_up += int(n)
            else:
                item.rep_down += int(n)
                item.reasons[reason or "no reason given"] += int(n)
        for item in rows.values():
            helpfulness = item.helpfulness
            item.needs_review = (item.votes >= self.review_min_votes and helpfulness is not None
                                 and helpfulness < self.review_threshold)
        return sorted(rows.values(), key=lambda a: (-a.shown, -a.votes, a.article_id))

    # rep feedback and assist ----------------------------------------------------------------
    def feedback(self, period: Period, scope: Scope = ALL,
                 limit: int = 200) -> FeedbackSummary:
        f = FEEDBACK
        where = [f.c.created_at >= period.start, f.c.created_at < period.end,
                 *self._real(f, scope)]
        by: dict[str, Counter[str]] = {"area": Counter(), "impact": Counter(),
                                       "status": Counter()}
        for area, impact, status, n in self._rows(
            select(f.c.area, f.c.impact, f.c.status, func.count()).where(*where)
            .group_by(f.c.area, f.c.impact, f.c.status)
        ):
            by["area"][area] += int(n)
            by["impact"][impact] += int(n)
            by["status"][status] += int(n)
        with self.db.session() as session:
            items = list(session.scalars(
                select(ProcessFeedback).where(*where)
                .order_by(ProcessFeedback.id.desc()).limit(limit)).all())
        return FeedbackSummary(by["area"], by["impact"], by["status"], items)

    def slack_assist(self, period: Period, scope: Scope = ALL,
                     counts: list[tuple[Any, ...]] | None = None) -> SlackAssist:
        r = RATINGS
        questions: dict[date, int] = defaultdict(int)
        for d, kind, _, _, _, _, rep, n in (
                counts if counts is not None else self.day_counts(period, scope)):
            if rep and kind == "decision":
                questions[d] += n
        rated, helpful = self._rows(
            select(func.count(), func.sum(case((r.c.helpful == true(), 1), else_=0)))
            .where(r.c.channel == REP_CHANNEL, r.c.created_at >= period.start,
                   r.c.created_at < period.end, *self._real(r, scope))
        )[0]
        return SlackAssist(dict(questions), int(rated or 0), int(helpful or 0))

    # failures ----------------------------------------------------------------------------
    def failures(self, period: Period, scope: Scope = ALL) -> Failures:
        """Chat turns with no reply or no assistant: rare rows, read live through the events'
        kind-and-time index (not rolled up)."""
        e = EVENTS
        day = self.sql.local_day(e.c.created_at, period).label("day")
        by_day: dict[date, Counter[str]] = defaultdict(Counter)
        for d, kind, n in self._rows(
            select(day, e.c.kind, func.count())
            .where(e.c.kind.in_(FAILURES), e.c.created_at >= period.start,
                   e.c.created_at < period.end, *self._real(e, scope))
            .group_by(day, e.c.kind)
        ):
            by_day[as_date(d)][kind] += int(n)
        return Failures(dict(by_day))

    def languages(self, period: Period, scope: Scope = ALL) -> Languages:
        """Questions in other languages (decisions with a ``language``): rare rows, read live
        through a partial index on them (migration 0008)."""
        by_day: dict[date, Counter[str]] = defaultdict(Counter)
        for d, language, n in self._rows(self.languages_query(period, scope)):
            by_day[as_date(d)][language] += int(n)
        return Languages(dict(by_day))

    def languages_query(self, period: Period, scope: Scope = ALL) -> Any:
        e = EVENTS
        day = self.sql.local_day(e.c.created_at, period).label("day")
        return (select(day, e.c.language, func.count())
                .where(e.c.language.is_not(None), e.c.created_at >= period.start,
                       e.c.created_at < period.end, e.c.kind == "decision", self._customers(),
                       *self._real(e, scope))
                .group_by(day, e.c.language))


def _plus(instant: datetime, hours: float) -> datetime:
    return instant + timedelta(hours=hours)
