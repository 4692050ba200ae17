"""The SQL database: models, engine and Alembic migrations."""

from frontline.db.engine import Database, page
from frontline.db.models import (
    Base,
    ChatSession,
    Event,
    Message,
    ProcessFeedback,
    Rating,
    SlackEventSeen,
    SlackOutbox,
    SlackThread,
    Ticket,
)

__all__ = ["Base", "ChatSession", "Database", "Event", "Message", "ProcessFeedback", "Rating",
           "SlackEventSeen", "SlackOutbox", "SlackThread", "Ticket", "page"]
