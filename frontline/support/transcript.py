"""A conversation as the service recorded it, and what a ticket takes from it."""

from __future__ import annotations

from typing import Any

from frontline.analytics import EventLog
from frontline.support.conversations import BOT, CUSTOMER, Conversations
from frontline.ticketing import propose_summary


def transcript(conversations: Conversations, session_id: str) -> list[dict[str, Any]]:
    """Customer and assistant turns, oldest first (customers' words already masked)."""
    return [
        {"sender": m.sender, "text": m.text, "at": m.created_at.isoformat()}
        for m in conversations.messages(session_id, senders=(CUSTOMER, BOT))
    ]


def summary_from_events(events: EventLog, session_id: str) -> str:
    """A ticket summary from the last question the KB could not settle, or ""."""
    previous = events.last_decision(session_id)
    return propose_summary(previous.query) if previous is not None and previous.query else ""
