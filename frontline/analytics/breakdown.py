""""Why did it change?": what contributed to a figure's change between two periods.

The figure is a mean over units — conversations for deflection (a 0/1 each), ratings for
CSAT, resolved tickets for time to resolution (hours; the mean, since a median does not split
into parts). Split the units into segments by one dimension (topic, article, channel, decision
outcome, priority): with segment *i*'s share of the units ``w`` and its mean ``r``, the figure
is ``M = Σ w_i r_i`` and its change splits exactly into one contribution per segment

    c_i = (r1_i − r0_i)·(w0_i + w1_i)/2            the rate effect: the segment got better/worse
        + (w1_i − w0_i)·((r0_i + r1_i)/2 − M̄)      the mix effect: it grew/shrank (M̄ = (M0+M1)/2)

with ``Σ c_i = M1 − M0`` (the symmetric, Shapley-style split of a product; subtracting M̄ from
the mix term changes no total because the shares' changes sum to zero, and it makes a
segment that grows count for the figure only when it is better or worse than average). A
segment missing from one period takes the other period's mean, so its whole contribution is
mix. Each part's *share of the change* is ``c_i / (M1 − M0)``. ``docs/metrics.md`` has a worked
example.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import and_, case, false, func, select
from sqlalchemy.sql.elements import ColumnElement

from frontline.analytics.formatting import fmt
from frontline.analytics.metrics import ALL, EVENTS, TICKETS, ArticleInfo, Metrics, Scope, ratio
from frontline.analytics.periods import Period

METRICS = {
    "deflection_confirmed": ("Deflection, confirmed", "share", "conversations"),
    "deflection_assumed": ("Deflection, assumed", "share", "conversations"),
    "csat": ("CSAT, mean (1–5)", "score", "ratings"),
    "resolution": ("Time to resolution, mean (hours)", "hours", "resolved tickets"),
}
DIMENSIONS = {
    "topic": "Topic (article tag)",
    "article": "Article",
    "channel": "Channel",
    "outcome": "Decision outcome",
    "priority": "Ticket priority",
}
HEADLINE_ORDER = ("article", "topic", "outcome", "priority", "channel")
NO_ARTICLE = "(no article)"
NO_QUESTION = "(no KB question)"
NO_TICKET = "(no ticket)"
UNTAGGED = "(untagged)"
CONTEXT_DAYS = 30  # how far back a rating's or a ticket's conversation is looked up


class UnknownMetric(ValueError):
    pass


@dataclass
class Unit:
    """One conversation, rating or ticket: its value and its segment in every dimension."""

    key: str  # session id, or ticket number
    value: float
    at: datetime
    dims: dict[str, str]
    text: str = ""  # the first question, or the ticket's summary


@dataclass
class Part:
    segment: str
    label: str
    n0: int
    n1: int
    r0: float | None
    r1: float | None
    w0: float
    w1: float
    rate_effect: float
    mix_effect: float

    @property
    def contribution(self) -> float:
        return self.rate_effect + self.mix_effect


@dataclass
class Breakdown:
    metric: str
    label: str
    unit: str
    period: Period
    previous: Period
    before: float | None  # M0
    now: float | None  # M1
    n0: int
    n1: int
    parts: dict[str, list[Part]] = field(default_factory=dict)  # dimension -> parts

    @property
    def change(self) -> float | None:
        if self.before is None or self.now is None:
            return None
        return self.now - self.before

    def share(self, part: Part) -> float | None:
        change = self.change
        return part.contribution / change if change else None

    def top(self) -> tuple[str, Part] | None:
        """The segment that explains most of the change, in its direction. A dimension with
        one segment explains nothing (it is all of it); a placeholder segment such as "(no
        article)" is named only when no real one explains as much; on a tie the more specific
        dimension wins (article, topic, outcome, priority, channel)."""
        change = self.change
        if not change:
            return None
        best: tuple[str, Part] | None = None
        for placeholders in (False, True):
            for dim in HEADLINE_ORDER:
                parts = self.parts.get(dim, [])
                if len(parts) < 2:
                    continue
                for part in parts:
                    if part.segment.startswith("(") and not placeholders:
                        continue
                    if part.contribution * change > 0 and (
                            best is None
                            or abs(part.contribution) > abs(best[1].contribution) + 1e-12):
                        best = (dim, part)
            if best is not None:
                return best
        return None

    def headline(self) -> str:
        if self.now is None or self.before is None:
            return (f"{self.label}: no {METRICS[self.metric][2]} in "
                    f"{'the previous period' if self.before is None else 'this period'} to "
                    f"compare with.")
        change = self.change or 0.0
        text = (f"{self.label} {'rose' if change > 0 else 'fell' if change < 0 else 'held'} "
                f"{fmt_change(change, self.unit)} ({fmt(self.before, self.unit)} → "
                f"{fmt(self.now, self.unit)})")
        top = self.top()
        if top is None:
            return text + "."
        dim, part = top
        share = self.share(part) or 0.0
        verb = "rise" if change > 0 else "fall"
        return (f"{text}; {100 * share:.0f} % of the {verb} is {DIMENSIONS[dim].lower()} "
                f"{part.label}.")

    def rows(self, dim: str) -> list[list[Any]]:
        """The table of one dimension (and its CSV export)."""
        return [[p.label, p.n0, p.n1, p.r0, p.r1, p.w0, p.w1, p.rate_effect, p.mix_effect,
                 p.contribution, self.share(p)] for p in self.parts.get(dim, [])]

    COLUMNS: ClassVar[list[str]] = [
        "segment", "units before", "units now", "mean before", "mean now",
        "share of units before", "share of units now", "rate effect", "mix effect",
        "contribution", "share of the change"]


def fmt_change(change: float, unit: str) -> str:
    if unit == "share":
        return f"{abs(100 * change):.1f} points"
    if unit == "hours":
        return f"{abs(change):.1f} h"
    return f"{abs(change):.2f}"


def decompose(before: list[Unit], now: list[Unit], dim: str,
              labels: Mapping[str, str] | None = None) -> list[Part]:
    """One part per segment of ``dim``; their contributions add up to the change of the
    mean. Largest contribution first."""
    if not before or not now:
        return []
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0.0])
    for unit in before:
        entry = sums[unit.dims[dim]]
        entry[0] += 1
        entry[1] += unit.value
    for unit in now:
        entry = sums[unit.dims[dim]]
        entry[2] += 1
        entry[3] += unit.value
    n0, n1 = len(before), len(now)
    m0 = sum(u.value for u in before) / n0
    m1 = sum(u.value for u in now) / n1
    mean = (m0 + m1) / 2
    parts = []
    for segment, (c0, s0, c1, s1) in sums.items():
        r0 = s0 / c0 if c0 else None
        r1 = s1 / c1 if c1 else None
        a0 = r0 if r0 is not None else r1
        a1 = r1 if r1 is not None else r0
        assert a0 is not None and a1 is not None
        w0, w1 = c0 / n0, c1 / n1
        parts.append(Part(
            segment, (labels or {}).get(segment, segment), int(c0), int(c1), r0, r1, w0, w1,
            rate_effect=(a1 - a0) * (w0 + w1) / 2,
            mix_effect=(w1 - w0) * ((a0 + a1) / 2 - mean),
        ))
    return sorted(parts, key=lambda p: (-abs(p.contribution), p.segment))


class Breakdowns:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def explain(self, metric: str, period: Period, scope: Scope = ALL) -> Breakdown:
        if metric not in METRICS:
            raise UnknownMetric(f"no breakdown for {metric!r} (one of {', '.join(METRICS)})")
        label, unit, _ = METRICS[metric]
        previous = period.previous()
        now = self.units(metric, period, scope)
        before = self.units(metric, previous, scope)
        result = Breakdown(
            metric, label, unit, period, previous,
            ratio(sum(u.value for u in before), len(before)),
            ratio(sum(u.value for u in now), len(now)), len(before), len(now))
        labels = self.labels()
        for dim in DIMENSIONS:
            result.parts[dim] = decompose(before, now, dim, labels if dim == "article" else None)
        return result

    def labels(self) -> dict[str, str]:
        """Article segments read "id (first tag)", e.g. ``refund-policy (billing)``."""
        out = {}
        for article_id, info in self.metrics.catalog().items():
            out[article_id] = f"{article_id} ({info.tags[0]})" if info.tags else article_id
        return out

    def units(self, metric: str, period: Period, scope: Scope = ALL) -> list[Unit]:
        if metric.startswith("deflection"):
            return self.conversations(period, scope, assumed=metric == "deflection_assumed")
        if metric == "csat":
            return self.ratings(period, scope)
        if metric == "resolution":
            return self.resolved(period, scope)
        raise UnknownMetric(metric)

    # -- units ------------------------------------------------------------------------------
    def _dims(self, *, channel: str, outcome: str | None, article: str | None,
              priority: str | None) -> dict[str, str]:
        info: ArticleInfo | None = self.metrics.catalog().get(article) if article else None
        if article is None:
            topic = NO_ARTICLE
        elif info is not None and info.tags:
            topic = info.tags[0]
        else:
            topic = UNTAGGED
        return {"topic": topic, "article": article or NO_ARTICLE, "channel": channel,
                "outcome": outcome or NO_QUESTION, "priority": priority or NO_TICKET}

    def _ranked(self, where: list[ColumnElement[bool]], *, newest: bool = False) -> Any:
        """Decisions numbered per conversation, oldest (or newest) first."""
        e = EVENTS
        order = (e.c.created_at.desc(), e.c.id.desc()) if newest else (e.c.created_at, e.c.id)
        return select(
            e.c.session_id, e.c.decision, e.c.article_id, e.c.query,
            func.row_number().over(partition_by=e.c.session_id, order_by=order).label("rn"),
        ).where(e.c.kind == "decision", *where).subquery()

    def _ticket_priority(self, where: list[ColumnElement[bool]]) -> Any:
        t = TICKETS
        return select(
            t.c.session_id,
            func.max(case((t.c.priority == "high", 2), else_=1)).label("level"),
        ).where(t.c.session_id.is_not(None), *where).group_by(t.c.session_id).subquery()

    def conversations(self, period: Period, scope: Scope = ALL, *,
                      assumed: bool = False) -> list[Unit]:
        m = self.metrics
        e = EVENTS
        s = m.session_flags(period, scope)
        in_period = [e.c.created_at >= period.start, e.c.created_at < period.end,
                     m._customers(), *m._real(e, scope)]
        first_q = self._ranked([*in_period, m.is_question()])
        first_a = self._ranked([*in_period, e.c.decision == "answer"])
        t = TICKETS
        tickets = self._ticket_priority([
            t.c.created_at >= period.start,
            t.c.created_at < period.end + timedelta(hours=24), *m._real(t, scope)])
        value = case((m.assumed_condition(s), 1), else_=0) if assumed else s.c.confirmed
        query = (
            select(s.c.session_id, s.c.first_at, value, s.c.channel, first_q.c.decision,
                   first_q.c.query, first_a.c.article_id, tickets.c.level)
            .select_from(s)
            .outerjoin(first_q, and_(first_q.c.session_id == s.c.session_id, first_q.c.rn == 1))
            .outerjoin(first_a, and_(first_a.c.session_id == s.c.session_id, first_a.c.rn == 1))
            .outerjoin(tickets, tickets.c.session_id == s.c.session_id)
            .where(s.c.first_at.is_not(None))
            .order_by(s.c.first_at)
        )
        return [
            Unit(session_id, float(value or 0), _instant(at),
                 self._dims(channel=channel, outcome=outcome, article=article,
                            priority=_priority(level)), query or "")
            for session_id, at, value, channel, outcome, query, article, level in m._rows(query)
        ]

    def ratings(self, period: Period, scope: Scope = ALL) -> list[Unit]:
        m = self.metrics
        e = EVENTS
        rated = select(e.c.session_id).where(
            e.c.kind == "csat", e.c.created_at >= period.start, e.c.created_at < period.end,
            m._customers(), *m._real(e, scope))
        context = [e.c.session_id.in_(rated),
                   e.c.created_at >= period.start - timedelta(days=CONTEXT_DAYS),
                   e.c.created_at < period.end, *m._real(e, scope)]
        first_q = self._ranked([*context, m.is_question()])
        last_a = self._ranked([*context, e.c.decision == "answer"], newest=True)
        t = TICKETS
        tickets = self._ticket_priority([
            t.c.session_id.in_(rated), t.c.created_at < period.end,
            t.c.created_at >= period.start - timedelta(days=CONTEXT_DAYS), *m._real(t, scope)])
        c = EVENTS.alias("rating")
        query = (
            select(c.c.session_id, c.c.created_at, c.c.csat, c.c.channel, first_q.c.decision,
                   first_q.c.query, last_a.c.article_id, tickets.c.level)
            .select_from(c)
            .outerjoin(first_q, and_(first_q.c.session_id == c.c.session_id, first_q.c.rn == 1))
            .outerjoin(last_a, and_(last_a.c.session_id == c.c.session_id, last_a.c.rn == 1))
            .outerjoin(tickets, tickets.c.session_id == c.c.session_id)
            .where(c.c.kind == "csat", c.c.csat.is_not(None), c.c.created_at >= period.start,
                   c.c.created_at < period.end, c.c.channel != "slack",
                   *([c.c.simulated == false()] if scope.hide_simulated else []))
            .order_by(c.c.created_at, c.c.id)
        )
        return [
            Unit(session_id or "", float(score), _instant(at),
                 self._dims(channel=channel, outcome=outcome, article=article,
                            priority=_priority(level)), query or "")
            for session_id, at, score, channel, outcome, query, article, level in m._rows(query)
        ]

    def resolved(self, period: Period, scope: Scope = ALL) -> list[Unit]:
        m = self.metrics
        t = TICKETS
        where = [t.c.resolved_at >= period.start, t.c.resolved_at < period.end,
                 *m._real(t, scope)]
        e = EVENTS
        first_q = self._ranked([
            e.c.session_id.in_(select(t.c.session_id).where(*where)), m.is_question(),
            e.c.created_at < period.end, *m._real(e, scope)])
        query = (
            select(t.c.number, t.c.resolved_at, m.sql.hours_between(t.c.resolved_at,
                                                                    t.c.created_at),
                   t.c.channel, t.c.priority, t.c.tried_articles, t.c.summary,
                   first_q.c.decision)
            .select_from(t)
            .outerjoin(first_q, and_(first_q.c.session_id == t.c.session_id, first_q.c.rn == 1))
            .where(*where)
            .order_by(t.c.resolved_at)
        )
        units = []
        for number, at, hours, channel, priority, tried, summary, outcome in m._rows(query):
            tried = list(tried or [])
            units.append(Unit(str(number), round(float(hours), 6), _instant(at),
                              self._dims(channel=channel, outcome=outcome,
                                         article=tried[-1] if tried else None,
                                         priority=priority), summary or ""))
        return units


def _priority(level: int | None) -> str | None:
    return None if level is None else ("high" if int(level) >= 2 else "normal")


def _instant(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
