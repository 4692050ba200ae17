"""The records behind each number: conversations, decisions, ratings and tickets of a period,
and one conversation's masked transcript.

Every list is a ``Table`` (the dashboard shows it, its CSV export writes it); each row can
point at the conversation or the ticket it is about (``refs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import false, select

from frontline.analytics.breakdown import DIMENSIONS, METRICS, Breakdowns, Unit
from frontline.analytics.metrics import (
    ALL,
    EVENTS,
    FAILURES,
    MESSAGES,
    REP_CHANNEL,
    TICKETS,
    Metrics,
    Scope,
)
from frontline.analytics.periods import Period
from frontline.db import ChatSession, Event, Message, Ticket
from frontline.redaction import mask

MAX_ROWS = 50_000  # a drill-down's CSV export; the page shows one page of it
DRILLS = ("conversations", "decisions", "csat", "nps", "tickets", "slack", "failures",
          "languages", "segment")


class UnknownDrill(ValueError):
    pass


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    # Per row: ("conversation", session id) or ("ticket", number) or None.
    refs: list[tuple[str, str] | None] = field(default_factory=list)
    note: str = ""

    def page(self, offset: int, limit: int) -> Table:
        return Table(self.name, self.title, self.columns, self.rows[offset:offset + limit],
                     self.refs[offset:offset + limit], self.note)


@dataclass
class Transcript:
    session_id: str
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    tickets: list[dict[str, Any]]
    simulated: bool


class DrillDown:
    def __init__(self, metrics: Metrics, zone: tzinfo = UTC) -> None:
        self.metrics = metrics
        self.breakdowns = Breakdowns(metrics)
        self.zone = zone

    def _iso(self, value: Any) -> str:
        return _iso(value, self.zone)

    def table(self, drill: str, period: Period, scope: Scope = ALL,
              **options: str) -> Table:
        """``options``: ``filter`` (conversations: confirmed | assumed; tickets: opened |
        resolved | backlog | reopened | first_response), ``outcome`` (decisions: answer |
        clarify | abstain | no), or, for ``segment``, ``metric``, ``dim``, ``value`` and
        ``when`` (now | before)."""
        if drill == "conversations":
            return self.conversations(period, scope, options.get("filter"))
        if drill == "decisions":
            return self.decisions(period, scope, options.get("outcome"))
        if drill in ("csat", "nps"):
            return self.scores(drill, period, scope)
        if drill == "tickets":
            return self.tickets(period, scope, options.get("filter") or "opened")
        if drill == "slack":
            return self.slack(period, scope)
        if drill == "failures":
            return self.failures(period, scope)
        if drill == "languages":
            return self.languages(period, scope)
        if drill == "segment":
            return self.segment(period, scope, options.get("metric", ""),
                                options.get("dim", ""), options.get("value", ""),
                                options.get("when", "now"))
        raise UnknownDrill(f"no drill-down {drill!r} (one of {', '.join(DRILLS)})")

    def conversations(self, period: Period, scope: Scope, which: str | None) -> Table:
        confirmed = self.breakdowns.conversations(period, scope)
        assumed = {u.key: u.value for u in self.breakdowns.conversations(period, scope,
                                                                         assumed=True)}
        table = Table("conversations", "Conversations that asked the KB",
                      ["started", "session", "first question", "outcome", "article",
                       "channel", "ticket", "confirmed", "assumed"])
        for unit in confirmed:
            flags = (unit.value == 1, assumed.get(unit.key) == 1)
            if (which == "confirmed" and not flags[0]) or (which == "assumed" and not flags[1]):
                continue
            d = unit.dims
            table.rows.append([self._iso(unit.at), unit.key, unit.text, d["outcome"], d["article"],
                               d["channel"], d["priority"], _yes(flags[0]), _yes(flags[1])])
            table.refs.append(("conversation", unit.key))
        if which in ("confirmed", "assumed"):
            table.title += f" — deflected ({which})"
        return table

    def decisions(self, period: Period, scope: Scope, outcome: str | None) -> Table:
        m = self.metrics
        e = EVENTS
        where = [e.c.created_at >= period.start, e.c.created_at < period.end,
                 m._customers(), *m._real(e, scope)]
        if outcome == "no":
            table = Table("decisions", "Answers that got a no",
                          ["at", "session", "article", "question"])
            d = EVENTS.alias("asked")
            question = (select(d.c.query).where(
                d.c.session_id == e.c.session_id, d.c.kind == "decision", d.c.id < e.c.id)
                .order_by(d.c.id.desc()).limit(1).scalar_subquery())
            rows = m._rows(select(e.c.created_at, e.c.session_id, e.c.article_id, question)
                           .where(e.c.kind == "feedback", e.c.deflected == false(), *where)
                           .order_by(e.c.id.desc()).limit(MAX_ROWS))
            for at, session_id, article_id, query in rows:
                table.rows.append([self._iso(at), session_id, article_id or "", query or ""])
                table.refs.append(("conversation", session_id) if session_id else None)
            return table
        where.append(e.c.kind == "decision")
        where.append(m.is_question())
        title = "Questions"
        if outcome in ("answer", "clarify", "abstain"):
            where.append(e.c.decision == outcome)
            title = {"answer": "Questions answered", "clarify": "Questions clarified",
                     "abstain": "Questions abstained on"}[outcome]
        table = Table("decisions", title, ["at", "session", "question", "outcome", "article",
                                           "certainty"])
        for at, session_id, query, decision, article_id, certainty in m._rows(
            select(e.c.created_at, e.c.session_id, e.c.query, e.c.decision, e.c.article_id,
                   e.c.certainty).where(*where).order_by(e.c.id.desc()).limit(MAX_ROWS)
        ):
            table.rows.append([self._iso(at), session_id, query or "", decision, article_id or "",
                               None if certainty is None else round(certainty, 4)])
            table.refs.append(("conversation", session_id) if session_id else None)
        return table

    def scores(self, kind: str, period: Period, scope: Scope) -> Table:
        if kind == "csat":
            table = Table("csat", "CSAT ratings", ["at", "session", "score", "channel",
                                                   "outcome", "article", "ticket"])
            for unit in self.breakdowns.ratings(period, scope):
                d = unit.dims
                table.rows.append([self._iso(unit.at), unit.key, int(unit.value), d["channel"],
                                   d["outcome"], d["article"], d["priority"]])
                table.refs.append(("conversation", unit.key) if unit.key else None)
            return table
        m = self.metrics
        e = EVENTS
        table = Table("nps", "NPS answers", ["at", "session", "score", "group"])
        for at, session_id, score in m._rows(
            select(e.c.created_at, e.c.session_id, e.c.csat).where(
                e.c.kind == "nps", e.c.created_at >= period.start, e.c.created_at < period.end,
                *m._real(e, scope)).order_by(e.c.id.desc()).limit(MAX_ROWS)
        ):
            group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            table.rows.append([self._iso(at), session_id, score, group])
            table.refs.append(("conversation", session_id) if session_id else None)
        return table

    def tickets(self, period: Period, scope: Scope, which: str) -> Table:
        m = self.metrics
        t = TICKETS
        msg = MESSAGES
        first_reply = (select(msg.c.created_at).where(msg.c.ticket_id == t.c.id,
                                                      msg.c.sender == "rep")
                       .order_by(msg.c.created_at).limit(1).scalar_subquery())
        where = list(m._real(t, scope))
        titles = {"opened": "Tickets opened", "resolved": "Tickets resolved",
                  "backlog": "Tickets open at the end of the period",
                  "reopened": "Tickets reopened", "first_response": "Tickets a rep answered"}
        if which not in titles:
            raise UnknownDrill(f"no ticket list {which!r} (one of {', '.join(titles)})")
        if which in ("opened", "first_response"):
            where += [t.c.created_at >= period.start, t.c.created_at < period.end]
        elif which == "resolved":
            where += [t.c.resolved_at >= period.start, t.c.resolved_at < period.end]
        elif which == "backlog":
            where.append(m.open_at(period.end))
        else:
            where.append(t.c.id.in_(m.reopened_ids(period, scope)))
        query = (select(t.c.number, t.c.created_at, t.c.status, t.c.priority, t.c.channel,
                        t.c.handoff, t.c.summary, first_reply.label("first_reply"),
                        t.c.resolved_at)
                 .where(*where).order_by(t.c.id.desc()).limit(MAX_ROWS))
        table = Table("tickets", titles[which], [
            "number", "created", "status", "priority", "channel", "handoff", "summary",
            "first response h", "resolution h"])
        for number, created, status, priority, channel, handoff, summary, reply, resolved in (
                m._rows(query)):
            first = _hours(reply, created)
            if which == "first_response" and first is None:
                continue
            table.rows.append([number, self._iso(created), status, priority, channel,
                               _yes(bool(handoff)), summary, first, _hours(resolved, created)])
            table.refs.append(("ticket", str(number)))
        return table

    def slack(self, period: Period, scope: Scope) -> Table:
        m = self.metrics
        e = EVENTS
        table = Table("slack", "Reps' questions in Slack", ["at", "question", "outcome",
                                                            "article"])
        for at, query, decision, article_id in m._rows(
            select(e.c.created_at, e.c.query, e.c.decision, e.c.article_id).where(
                e.c.kind == "decision", e.c.channel == REP_CHANNEL,
                e.c.created_at >= period.start, e.c.created_at < period.end,
                *m._real(e, scope)).order_by(e.c.id.desc()).limit(MAX_ROWS)
        ):
            table.rows.append([self._iso(at), query or "", decision, article_id or ""])
            table.refs.append(None)
        return table

    def failures(self, period: Period, scope: Scope) -> Table:
        m = self.metrics
        e = EVENTS
        table = Table("failures", "Chat turns the assistant failed",
                      ["at", "session", "what happened", "message"])
        what = {"chat_no_reply": "no reply", "chat_unavailable": "assistant unreachable"}
        for at, session_id, kind, query in m._rows(
            select(e.c.created_at, e.c.session_id, e.c.kind, e.c.query).where(
                e.c.kind.in_(FAILURES), e.c.created_at >= period.start,
                e.c.created_at < period.end, *m._real(e, scope))
            .order_by(e.c.id.desc()).limit(MAX_ROWS)
        ):
            table.rows.append([self._iso(at), session_id or "", what[kind], query or ""])
            table.refs.append(("conversation", session_id) if session_id else None)
        return table

    def languages(self, period: Period, scope: Scope) -> Table:
        m = self.metrics
        e = EVENTS
        table = Table("languages", "Questions in other languages",
                      ["at", "session", "language", "question", "channel"])
        for at, session_id, language, query, channel in m._rows(
            select(e.c.created_at, e.c.session_id, e.c.language, e.c.query, e.c.channel).where(
                e.c.language.is_not(None), e.c.kind == "decision", m._customers(),
                e.c.created_at >= period.start, e.c.created_at < period.end,
                *m._real(e, scope))
            .order_by(e.c.id.desc()).limit(MAX_ROWS)
        ):
            table.rows.append([self._iso(at), session_id or "", language, query or "", channel])
            table.refs.append(("conversation", session_id) if session_id else None)
        return table

    def segment(self, period: Period, scope: Scope, metric: str, dim: str, value: str,
                when: str) -> Table:
        """The units of one segment of a breakdown ("why did it change?")."""
        if metric not in METRICS or dim not in DIMENSIONS:
            raise UnknownDrill(f"no breakdown {metric!r} by {dim!r}")
        chosen = period if when != "before" else period.previous()
        units: list[Unit] = [u for u in self.breakdowns.units(metric, chosen, scope)
                             if u.dims[dim] == value]
        label, _, what = METRICS[metric]
        table = Table("segment", f"{label}: {what} with {DIMENSIONS[dim].lower()} {value} "
                      f"({chosen.label()})",
                      ["at", "ticket" if metric == "resolution" else "session", "value",
                       *DIMENSIONS, "text"])
        for u in units:
            table.rows.append([self._iso(u.at), u.key, u.value, *[u.dims[d] for d in DIMENSIONS],
                               u.text])
            table.refs.append(("ticket" if metric == "resolution" else "conversation", u.key))
        return table

    # -- one conversation -------------------------------------------------------------------
    def transcript(self, session_id: str) -> Transcript:
        """Messages (masked again on the way out: reps' words were stored as typed), events
        and tickets of one conversation."""
        db = self.metrics.db
        with db.session() as session:
            messages = session.scalars(select(Message).where(
                Message.session_id == session_id, Message.sender != "note")
                .order_by(Message.id)).all()
            events = session.scalars(select(Event).where(Event.session_id == session_id)
                                     .order_by(Event.id)).all()
            tickets = session.scalars(select(Ticket).where(Ticket.session_id == session_id)
                                      .order_by(Ticket.id)).all()
            chat = session.get(ChatSession, session_id)
        simulated = (any(m.simulated for m in messages) or any(e.simulated for e in events)
                     or any(t.simulated for t in tickets) or bool(chat and chat.simulated))
        return Transcript(
            session_id,
            [{"at": self._iso(m.created_at), "sender": m.sender, "text": mask(m.text),
              "author": (m.data or {}).get("author") if m.sender == "rep" else None,
              "buttons": [b.get("title", "") for b in (m.data or {}).get("buttons", [])]}
             for m in messages],
            [{"at": self._iso(e.created_at), "kind": e.kind, "decision": e.decision,
              "article_id": e.article_id, "certainty": e.certainty, "deflected": e.deflected,
              "csat": e.csat, "query": e.query} for e in events],
            [{"number": t.number, "status": t.status, "priority": t.priority,
              "summary": t.summary, "created": self._iso(t.created_at),
              "resolved": self._iso(t.resolved_at) if t.resolved_at else None} for t in tickets],
            simulated,
        )

    def ticket_session(self, number: int) -> str | None:
        rows = self.metrics._rows(select(TICKETS.c.session_id).where(TICKETS.c.number == number))
        return rows[0][0] if rows else None


def _iso(value: Any, zone: tzinfo = UTC) -> str:
    """An instant in the ops team's zone, e.g. ``2026-03-29 09:15 CEST``."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _hours(later: Any, earlier: Any) -> float | None:
    if later is None or earlier is None:
        return None
    a = later if later.tzinfo else later.replace(tzinfo=UTC)
    b = earlier if earlier.tzinfo else earlier.replace(tzinfo=UTC)
    return round((a - b).total_seconds() / 3600, 2)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"

