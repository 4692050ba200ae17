"""Outcome events: every answer decision, feedback, ticket, handoff and CSAT, recorded for the
ops reports (deflection, KB gaps, article helpfulness, CSAT)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from frontline.db import Database, Event
from frontline.redact import mask

logger = logging.getLogger(__name__)

KINDS = ("decision", "feedback", "csat", "ticket", "handoff", "chat_unavailable")


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
        article_id: str | None = None,
        deflected: bool | None = None,
        ticket_id: int | None = None,
        csat: int | None = None,
    ) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(
            kind=kind, session_id=session_id, channel=channel, audience=audience,
            query=mask(query) if query else None, hits=list(hits),
            top_score=float(hits[0]["score"]) if hits else None, decision=decision,
            article_id=article_id, deflected=deflected, ticket_id=ticket_id, csat=csat,
        )
        with self.db.session() as session:
            session.add(event)
        return event

    def for_session(self, session_id: str, kind: str | None = None) -> list[Event]:
        query = select(Event).where(Event.session_id == session_id)
        if kind:
            query = query.where(Event.kind == kind)
        with self.db.session() as session:
            return list(session.scalars(query.order_by(Event.id)).all())
