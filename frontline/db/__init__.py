"""The SQL database: models, engine and Alembic migrations."""

from frontline.db.engine import Database, DatabaseUnavailable
from frontline.db.models import Base, ChatSession, Event, Message, Ticket

__all__ = ["Base", "ChatSession", "Database", "DatabaseUnavailable", "Event", "Message", "Ticket"]
