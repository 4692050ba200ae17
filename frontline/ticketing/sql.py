"""The built-in ticket backend: tickets in Frontline's own SQL database.

Filed by the assistant (or by the chat turn when the assistant is down), looked up by customers
with number + email, worked on by reps through the admin API and Slack.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from frontline.db import Database, Message, Ticket, page
from frontline.errors import InvalidTicket, TicketNotFound
from frontline.notify import Notifier
from frontline.redaction import mask, valid_email
from frontline.ticketing.backend import NUMBER_OFFSET, STATUSES, SUMMARY_MAX
from frontline.ticketing.history import TicketStatusChange


class SqlTicketBackend:
    """``TicketBackend`` over the ``tickets`` table; every change is announced to
    ``notifier`` (Slack mirrors it) after it is committed."""

    def __init__(self, db: Database, notifier: Notifier | None = None) -> None:
        self.db = db
        self.notifier = notifier or Notifier()

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
            session.add(TicketStatusChange(ticket_id=ticket.id, from_status=None,
                                           to_status=ticket.status, created_at=ticket.created_at))
        self.notifier.ticket_filed(ticket)
        return ticket

    def get(self, number: int) -> Ticket:
        with self.db.session() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is None:
            raise TicketNotFound(f"no ticket #{number}")
        return ticket

    def by_id(self, ticket_id: int) -> Ticket | None:
        with self.db.session() as session:
            return session.get(Ticket, ticket_id)

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
            return page(session, query, Ticket.id.desc(), limit, offset)

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
        conversation back through ``frontline.support.handoff``, not here: a backend knows
        tickets, not chats."""
        if status is not None and status not in STATUSES:
            raise InvalidTicket(f"unknown status {status!r} (expected one of {STATUSES})")
        with self.db.session() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is None:
                raise TicketNotFound(f"no ticket #{number}")
            if status is not None and status != ticket.status:
                now = datetime.now(UTC)
                session.add(TicketStatusChange(ticket_id=ticket.id, from_status=ticket.status,
                                               to_status=status, author=author, created_at=now))
                ticket.status = status
                ticket.resolved_at = now if status == "resolved" else None
            if assignee is not None:
                ticket.assignee = assignee.strip() or None
            if note:
                session.add(Message(session_id=ticket.session_id or "", ticket_id=ticket.id,
                                    sender="note", text=mask(note.strip()),
                                    data={"author": author}))
            ticket.updated_at = datetime.now(UTC)
        self.notifier.ticket_changed(ticket)
        return ticket

    def notes(self, ticket: Ticket) -> list[Message]:
        with self.db.session() as session:
            return list(session.scalars(
                select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
            ).all())
