"""The event log: every answer decision, feedback, ticket, handoff and CSAT, recorded for the
ops reports (deflection, KB gaps, article helpfulness, CSAT).

A decision event records what the decision compared — the best hit's certainty, the thresholds
in force, the outcome and whether it was ambiguous — so a report charts the numbers the
product used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from frontline.db import Database, Event
from frontline.knowledge import Decision, ScoredHit
from frontline.redaction import mask

logger = logging.getLogger(__name__)

KINDS = ("decision", "feedback", "csat", "ticket", "handoff", "handoff_end", "chat_unavailable",
         "gap_flag", "csat_asked", "nps", "reopen", "help_view", "help_search", "help_vote",
         "clarify_none", "chat_no_reply")
HITS_KEPT = 5


def hits_summary(hits: Sequence[ScoredHit], limit: int = HITS_KEPT) -> list[dict[str, Any]]:
    return [{"article_id": h.article_id, "score": h.score, "certainty": round(h.certainty, 4)}
            for h in hits[:limit]]


class EventLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        kind: str,
        *,
        session_id: str | None = None,
        channel: str = "webchat",
        audience: str = "public",
        query: str | None = None,
        hits: Sequence[dict[str, Any]] = (),
        decision: str | None = None,
        certainty: float | None = None,
        thresholds: dict[str, float] | None = None,
        ambiguous: bool | None = None,
        article_id: str | None = None,
        deflected: bool | None = None,
        ticket_id: int | None = None,
        csat: int | None = None,
        language: str | None = None,
    ) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(
            kind=kind, session_id=session_id, channel=channel, audience=audience,
            query=mask(query) if query else None, hits=list(hits), certainty=certainty,
            thresholds=thresholds or {}, decision=decision, ambiguous=ambiguous,
            article_id=article_id, deflected=deflected, ticket_id=ticket_id, csat=csat,
            language=language,
        )
        with self.db.session() as session:
            session.add(event)
        return event

    def decision(
        self, decision: Decision, *, query: str, session_id: str | None, channel: str,
        audience: str = "public", article_id: str | None = None,
    ) -> Event:
        """Record one answer decision as it was made."""
        best = decision.answer
        return self.record(
            "decision", session_id=session_id, channel=channel, audience=audience, query=query,
            hits=hits_summary(decision.hits),
            article_id=article_id or (best.article_id if best else None),
            **decision.summary(),
        )

    def for_session(self, session_id: str, kind: str | None = None) -> list[Event]:
        query = select(Event).where(Event.session_id == session_id)
        if kind:
            query = query.where(Event.kind == kind)
        with self.db.session() as session:
            return list(session.scalars(query.order_by(Event.id)).all())

    def last_decision(self, session_id: str) -> Event | None:
        """The newest KB decision of this conversation (query, hits, outcome), or None."""
        query = (select(Event).where(Event.session_id == session_id, Event.kind == "decision")
                 .order_by(Event.id.desc()).limit(1))
        with self.db.session() as session:
            return session.scalar(query)

    def tried_articles(self, session_id: str) -> list[str]:
        """Articles already shown as answers in this conversation, oldest first."""
        return list(dict.fromkeys(
            e.article_id for e in self.for_session(session_id, "decision")
            if e.decision == "answer" and e.article_id
        ))

    def help_views(self, start: datetime, end: datetime) -> dict[str, int]:
        """Help-centre article views in [start, end): ``page`` (opened on the help centre or
        from a link) and ``suggest`` (a widget suggestion opened before any chat message: a
        self-service view with no conversation)."""
        source = case((Event.decision == "suggest", "suggest"), else_="page")
        query = (select(source, func.count())
                 .where(Event.kind == "help_view", Event.created_at >= start,
                        Event.created_at < end)
                 .group_by(source))
        counts = {"page": 0, "suggest": 0}
        with self.db.session() as session:
            counts.update({str(k): int(n) for k, n in session.execute(query).all()})
        return counts

    def most_viewed(self, limit: int = 5, kind: str = "help_view") -> list[tuple[str, int]]:
        """(article id, views) of the most viewed help-centre articles, most first."""
        query = (select(Event.article_id, func.count().label("n"))
                 .where(Event.kind == kind, Event.article_id.is_not(None))
                 .group_by(Event.article_id).order_by(func.count().desc(), Event.article_id)
                 .limit(limit))
        with self.db.session() as session:
            return [(str(a), int(n)) for a, n in session.execute(query).all()]
