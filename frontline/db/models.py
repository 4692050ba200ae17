"""Tables: tickets, messages, events, chat sessions, rep ratings, process feedback, and the
Slack app's message map, retry queue and seen-event log. Change them only with a migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    email: Mapped[str] = mapped_column(String(320), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[str] = mapped_column(Text, default="")
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)
    tried_articles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    session_id: Mapped[str | None] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="webchat")
    assignee: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Made by `frontline simulate` (demo data); the dashboard can hide it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Message(Base):
    """A message in a conversation that Rasa did not produce: a rep's reply, a system notice,
    or a customer's words kept while the assistant was unreachable or a human had the chat."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    sender: Mapped[str] = mapped_column(String(16))  # customer | bot | rep | system
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # buttons, links, author
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Made by `frontline simulate` (demo data); the dashboard can hide it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Event(Base):
    """One recorded outcome: the raw material of the ops reports."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    session_id: Mapped[str | None] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="webchat")
    audience: Mapped[str] = mapped_column(String(16), default="public")
    query: Mapped[str | None] = mapped_column(Text)
    # [{article_id, score, certainty}], best first
    hits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The best hit's certainty: what the decision compared with the thresholds in force.
    certainty: Mapped[float | None] = mapped_column(Float)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision: Mapped[str | None] = mapped_column(String(16))  # answer | clarify | abstain
    ambiguous: Mapped[bool | None] = mapped_column(Boolean)  # clarify: close runner-up
    article_id: Mapped[str | None] = mapped_column(String(200))
    deflected: Mapped[bool | None] = mapped_column(Boolean)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    csat: Mapped[int | None] = mapped_column(Integer)  # 1-5; kind "nps": the 0-10 answer
    # The customer's language when it was not one the KB is written in (ISO 639-1).
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # Made by `frontline simulate` (demo data); the dashboard can hide it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # The reports read one kind over a time range.
    __table_args__ = (Index("ix_events_kind_created_at", "kind", "created_at"),)


class ChatSession(Base):
    """Per-conversation state the service needs outside Rasa: the human handoff."""

    __tablename__ = "chat_sessions"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), default="webchat")
    handoff_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    handoff_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Made by `frontline simulate` (demo data); the dashboard can hide it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Rating(Base):
    """A rep's 👍/👎 on a suggested article (Slack), with the reason for a 👎."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rep: Mapped[str] = mapped_column(String(64), index=True)  # Slack user id
    channel: Mapped[str] = mapped_column(String(32), default="slack")
    query: Mapped[str] = mapped_column(Text, default="")
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))  # wrong_article|outdated|incomplete
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # Made by `frontline simulate` (demo data); the dashboard can hide it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ProcessFeedback(Base):
    """What a rep tells the ops team about a process, a tool, the KB or a policy."""

    __tablename__ = "process_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rep: Mapped[str] = mapped_column(String(64), index=True)  # Slack user id
    rep_name: Mapped[str] = mapped_column(String(128), default="")
    area: Mapped[str] = mapped_column(String(32), index=True)
    what_happened: Mapped[str] = mapped_column(Text)
    what_would_help: Mapped[str] = mapped_column(Text, default="")
    impact: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Made by `frontline simulate` (demo data); the dashboard can hide it.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SlackThread(Base):
    """The Slack message that stands for a ticket (its thread carries a live handoff)."""

    __tablename__ = "slack_threads"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32), index=True)  # None until posted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlackOutbox(Base):
    """A Slack Web API call waiting to be made: sent in order per ``key``, retried with
    back-off while Slack answers 429/5xx or times out, kept in the database so no replica's
    restart loses it."""

    __tablename__ = "slack_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)  # ordering scope, e.g. ticket:12
    method: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # thread parent
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SlackEventSeen(Base):
    """Slack event ids already handled: a retried delivery is acknowledged, not redone."""

    __tablename__ = "slack_events_seen"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
