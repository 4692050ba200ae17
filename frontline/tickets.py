"""Tickets: filed by the assistant (or by the chat proxy when the assistant is down), looked up by
customers with number + email, worked on by reps through the admin API and Slack."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from frontline.db import Database, Message, Ticket
from frontline.db.models import ChatSession
from frontline.errors import FrontlineError
from frontline.redact import mask

NUMBER_OFFSET = 10000  # ticket numbers start at 10001: they read as numbers, not row ids
STATUSES = ("open", "pending", "resolved")
PRIORITIES = ("normal", "high")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
SUMMARY_MAX = 200


class TicketNotFound(FrontlineError):
    code = "ticket_not_found"
    status = 404


class InvalidTicket(FrontlineError):
    code = "invalid_ticket"
    status = 422


def valid_email(value: str) -> bool:
    return bool(EMAIL.match(value.strip())) and len(value) <= 320


def propose_summary(text: str) -> str:
    """A one-line summary from a customer's message: first sentence, trimmed to the limit."""
    line = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    if len(first) > SUMMARY_MAX:
        first = first[: SUMMARY_MAX - 1].rsplit(" ", 1)[0] + "…"
    return first[:1].upper() + first[1:]


class TicketStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        *,
        email: str,
        summary: str,
        details: str = "",
        transcript: Sequence[dict[str, Any]] = (),
        tried_articles: Sequence[str] = (),
        session_id: str | None = None,
        channel: str = "webchat",
        handoff: bool = False,
    ) -> Ticket:
        """File a ticket; personal data in summary, details and transcript is masked.

        Raises ``InvalidTicket`` for a malformed email or an empty summary.
        """
        email = email.strip()
        if email and not valid_email(email):
            raise InvalidTicket(f"{email!r} is not a valid email address")
        summary = " ".join(summary.split())[:SUMMARY_MAX]
        if not summary:
            raise InvalidTicket("a ticket needs a one-line summary")
        with self.db.session() as session:
            ticket = Ticket(
                email=email.lower(),
                summary=mask(summary),
                details=mask(details.strip()),
                transcript=[{**turn, "text": mask(str(turn.get("text", "")))}
                            for turn in transcript],
                tried_articles=list(dict.fromkeys(tried_articles)),
                session_id=session_id,
                channel=channel,
                handoff=handoff,
                priority="high" if handoff else "normal",
            )
            session.add(ticket)
            session.flush()
            ticket.number = NUMBER_OFFSET + ticket.id
        return ticket

    def get(self, number: int) -> Ticket:
        with self.db.session() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            raise TicketNotFound(f"no ticket #{number}")
        return ticket

    def lookup(self, number: int, email: str) -> Ticket | None:
        """The ticket only when number and email belong together; None otherwise, so a wrong
        pair reveals nothing (not even whether the number exists)."""
        with self.db.session() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        stored = ticket.email if ticket is not None else "x" * 16
        matches = secrets.compare_digest(stored.encode(), email.strip().lower().encode())
        return ticket if ticket is not None and matches else None

    def find(
        self, *, status: str | None = None, handoff: bool | None = None,
        limit: int = 50, offset: int = 0,
    ) -> tuple[list[Ticket], int]:
        query = select(Ticket)
        if status:
            query = query.where(Ticket.status == status)
        if handoff is not None:
            query = query.where(Ticket.handoff == handoff)
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Ticket.id.desc()).limit(limit).offset(offset)
            ).all()
        return list(rows), int(total)

    def update(
        self,
        number: int,
        *,
        status: str | None = None,
        assignee: str | None = None,
        note: str | None = None,
        author: str = "admin",
    ) -> Ticket:
        """Change status/assignee and add an internal note. Resolving a handoff ticket gives the
        conversation back to the assistant."""
        if status is not None and status not in STATUSES:
            raise InvalidTicket(f"unknown status {status!r} (expected one of {STATUSES})")
        with self.db.session() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is None:
                raise TicketNotFound(f"no ticket #{number}")
            if status is not None and status != ticket.status:
                ticket.status = status
                ticket.resolved_at = datetime.now(UTC) if status == "resolved" else None
                if status == "resolved" and ticket.handoff and ticket.session_id:
                    chat = session.get(ChatSession, ticket.session_id)
                    if chat is not None and chat.handoff_ticket_id == ticket.id:
                        chat.handoff_active = False
            if assignee is not None:
                ticket.assignee = assignee.strip() or None
            if note:
                session.add(Message(session_id=ticket.session_id or "", ticket_id=ticket.id,
                                    sender="note", text=mask(note.strip()),
                                    data={"author": author}))
            ticket.updated_at = datetime.now(UTC)
        return ticket

    def notes(self, ticket: Ticket) -> list[Message]:
        with self.db.session() as session:
            return list(session.scalars(
                select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
            ).all())
