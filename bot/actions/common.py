"""Shared pieces of the custom actions: the base class, how an article is shown, buttons."""

from __future__ import annotations

import abc
import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.services import Services, shared
from frontline.events import EventLog
from indexer import Hit

PASSAGE_CHARS = 700

YES_NO = [
    {"title": "Yes, that helped", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
]
TICKET_OR_HUMAN = [
    {"title": "File a ticket", "payload": "/request_ticket"},
    {"title": "Talk to a person", "payload": "/human_handoff"},
]


class UsesServices:
    """The service's collaborators, injected, or the shared ones on first use (never at
    construction: the executor builds every action with no arguments)."""

    _services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = shared()
        return self._services


class FrontlineAction(UsesServices, Action, abc.ABC):
    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @abc.abstractmethod
    def name(self) -> str: ...


def channel_of(tracker: Tracker) -> str:
    channel = tracker.get_latest_input_channel() or "webchat"
    return "webchat" if channel == "rest" else channel


def passage(hit: Hit) -> str:
    text = hit.passage.strip()
    if len(text) > PASSAGE_CHARS:
        text = text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + "…"
    return text


def show_article(dispatcher: CollectingDispatcher, hit: Hit, intro: str = "",
                 ask_feedback: bool = True) -> None:
    """Utter an article's passage with its title and link, then ask whether it helped."""
    heading = f"**{hit.title}**" + (f" — {hit.heading}" if hit.heading else "")
    text = "\n\n".join(part for part in (intro, heading, passage(hit)) if part)
    links = [{"title": hit.title, "url": hit.url}] if hit.url else []
    dispatcher.utter_message(text=text, json_message={"links": links} if links else None)
    if ask_feedback:
        dispatcher.utter_message(text="Did that answer your question?", buttons=YES_NO)


def choose_article_payload(article_id: str) -> str:
    return "/choose_article" + json.dumps({"article_id": article_id})


def hits_for_event(hits: list[Hit], limit: int = 5) -> list[dict[str, Any]]:
    return [{"article_id": h.article_id, "score": h.score, "certainty": h.certainty}
            for h in hits[:limit]]


def last_decision(events: EventLog, session_id: str) -> Any | None:
    """The newest KB decision of this conversation (query, hits, outcome), or None."""
    decisions = events.for_session(session_id, "decision")
    return decisions[-1] if decisions else None


def tried_articles(events: EventLog, session_id: str) -> list[str]:
    """Articles already shown as answers in this conversation, oldest first."""
    return list(dict.fromkeys(
        e.article_id for e in events.for_session(session_id, "decision")
        if e.decision == "answer" and e.article_id
    ))
