"""What the actions need from the Frontline service, shared in-process.

``create_app`` calls ``configure(...)`` so the actions use the service's loaded retriever and
database. An action constructed with no arguments (as ``rasa_sdk``'s executor does) gets these
shared services lazily, on first use — never at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from frontline.conversations import Conversations
from frontline.db import Database
from frontline.decision import Thresholds
from frontline.events import EventLog
from frontline.knowledge import KnowledgeBase
from frontline.settings import Settings, get_settings
from frontline.tickets import TicketStore


@dataclass
class Services:
    settings: Settings
    knowledge: KnowledgeBase
    tickets: TicketStore
    conversations: Conversations
    events: EventLog

    @property
    def thresholds(self) -> Thresholds:
        s = self.settings
        return Thresholds(s.answer_threshold, s.clarify_threshold, s.clarify_margin)

    @classmethod
    def build(cls, settings: Settings, knowledge: KnowledgeBase | None = None,
              db: Database | None = None) -> Services:
        db = db or Database(settings.database_url)
        return cls(
            settings=settings,
            knowledge=knowledge or KnowledgeBase(settings),
            tickets=TicketStore(db),
            conversations=Conversations(db),
            events=EventLog(db),
        )


_shared: Services | None = None
_lock = threading.Lock()


def configure(services: Services | None) -> None:
    global _shared
    _shared = services


def shared() -> Services:
    """The configured services, or ones built from the environment's settings."""
    global _shared
    if _shared is None:
        with _lock:
            if _shared is None:
                services = Services.build(get_settings())
                services.tickets.db.migrate()
                _shared = services
    return _shared
