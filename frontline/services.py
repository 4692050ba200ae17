"""The services every surface shares, built once by the app (or a CLI command) and passed in.

The Rasa actions, the website chat, the Slack app and the HTTP API are thin layers over these:
a rule two surfaces need lives here, below them, never in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontline.analytics import EventLog
from frontline.db import Database
from frontline.feedback import ProcessFeedbackService, Ratings
from frontline.knowledge import KnowledgeBase
from frontline.notify import Notifier
from frontline.rasa.client import RasaClient
from frontline.settings import Settings
from frontline.support import ChatService, Conversations, Handoff
from frontline.support.chat import Assistant
from frontline.ticketing import SqlTicketBackend, TicketBackend


@dataclass
class Services:
    settings: Settings
    db: Database
    knowledge: KnowledgeBase
    tickets: TicketBackend
    conversations: Conversations
    events: EventLog
    handoff: Handoff
    chat: ChatService
    ratings: Ratings
    feedback: ProcessFeedbackService
    notifier: Notifier

    @classmethod
    def build(cls, settings: Settings, *, knowledge: KnowledgeBase | None = None,
              db: Database | None = None, assistant: Assistant | None = None) -> Services:
        """Everything from ``settings``; the heavy parts (model, index) load lazily."""
        db = db or Database(settings.sqlalchemy_url)
        notifier = Notifier()
        tickets = SqlTicketBackend(db, notifier)
        conversations = Conversations(db)
        events = EventLog(db)
        handoff = Handoff(conversations, tickets, events, notifier)
        assistant = assistant or RasaClient(settings.rasa_url, settings.rasa_timeout)
        return cls(
            settings=settings,
            db=db,
            knowledge=knowledge or KnowledgeBase(settings),
            tickets=tickets,
            conversations=conversations,
            events=events,
            handoff=handoff,
            chat=ChatService(assistant, conversations, tickets, events, handoff,
                             settings.assistant_max_chars),
            ratings=Ratings(db),
            feedback=ProcessFeedbackService(db, tickets, notifier),
            notifier=notifier,
        )
