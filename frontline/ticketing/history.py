"""Each ticket's status history: one row per change (filed → ``open``, then every status
change), so the ops reports know a ticket's status at any past instant — the backlog of a past
day counts a ticket resolved then and reopened since as resolved, and a reopened ticket is one
that left ``resolved``. Tickets filed before the history existed have none; the reports read
their ``resolved_at``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from frontline.db import Base
from frontline.db.models import utcnow


class TicketStatusChange(Base):
    __tablename__ = "ticket_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))  # None: the ticket was filed
    to_status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(128), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_ticket_status_changes_ticket_id", "ticket_id", "id"),
        Index("ix_ticket_status_changes_created_at", "created_at"),
    )
