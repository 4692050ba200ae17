"""Shared pieces of the custom actions: the base class, how an article is shown, buttons."""

from __future__ import annotations

import abc
import json
import re
from functools import cache

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from frontline.knowledge import ScoredHit
from frontline.knowledge.calibration import apply as apply_calibration
from frontline.knowledge.links import article_link
from frontline.services import Services
from frontline.settings import get_settings
from indexer.terms import query_terms
from indexer.text import clip

PASSAGE_CHARS = 700

YES_NO = [
    {"title": "Yes, that helped", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
]
TICKET_OR_HUMAN = [
    {"title": "File a ticket", "payload": "/request_ticket"},
    {"title": "Talk to a person", "payload": "/human_handoff"},
]


@cache
def default_services() -> Services:
    """Services from the environment's settings, for an action built with no arguments outside
    the Frontline service (``python -m rasa_sdk --actions bot.actions``). The service itself
    always injects its own; this is built on first use, never at import."""
    services = Services.build(apply_calibration(get_settings()))
    services.db.migrate()
    return services


class UsesServices:
    """The service's collaborators, injected through the constructor (a lazy default)."""

    _services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = default_services()
        return self._services


class FrontlineAction(UsesServices, Action, abc.ABC):
    def __init__(self, services: Services | None = None) -> None:
        self._services = services

    @abc.abstractmethod
    def name(self) -> str: ...


def channel_of(tracker: Tracker) -> str:
    channel = tracker.get_latest_input_channel() or "webchat"
    return "webchat" if channel == "rest" else channel


def show_article(dispatcher: CollectingDispatcher, hit: ScoredHit, public_url: str,
                 intro: str = "", ask_feedback: bool = True) -> None:
    """Utter an article's passage with its title and link (its ``url``, else its help-centre
    page at the quoted section), then ask whether it helped."""
    heading = f"**{hit.title}**" + (f" — {hit.heading}" if hit.heading else "")
    text = "\n\n".join(part for part in (intro, heading, clip(hit.passage, PASSAGE_CHARS))
                       if part)
    url = article_link(hit, public_url, section=hit.heading)
    links = [{"title": hit.title, "url": url}] if url else []
    dispatcher.utter_message(text=text, json_message={"links": links} if links else None)
    if ask_feedback:
        dispatcher.utter_message(text="Did that answer your question?", buttons=YES_NO)


def choose_article_payload(article_id: str) -> str:
    return "/choose_article" + json.dumps({"article_id": article_id})


CHOOSE_ARTICLE = "/choose_article"
# Typed picks of the nth option: "the second one", "2nd", "number 3", "the last". ("one" is
# not one: "the second one".)
_ORDINALS = {"first": 0, "1st": 0, "1": 0, "second": 1, "2nd": 1, "two": 1, "2": 1,
             "third": 2, "3rd": 2, "three": 2, "3": 2, "last": -1}


def offered_articles(tracker: Tracker) -> list[tuple[str, str]]:
    """(article id, title) of the clarify buttons the assistant showed right before the
    customer's latest message, in their order; [] when its last turn offered none."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users > 1:
                return []
        elif event.get("event") == "bot" and users == 1:
            offered = []
            for button in (event.get("data") or {}).get("buttons") or []:
                payload = str(button.get("payload", ""))
                if payload.startswith(CHOOSE_ARTICLE):
                    try:
                        article_id = json.loads(payload[len(CHOOSE_ARTICLE):])["article_id"]
                    except (ValueError, KeyError, TypeError):
                        continue
                    offered.append((str(article_id), str(button.get("title", ""))))
            if offered:
                return offered
    return []


def typed_choice(text: str, offered: list[tuple[str, str]]) -> str | None:
    """The article a typed pick names among ``offered``: by position ("the second one",
    "number 3", "the last") or, failing that, by the one title sharing the most topic words
    with it ("the refund one"); None when it names none, or two equally."""
    if not offered:
        return None
    words = re.findall(r"[a-z0-9]+", text.lower())
    positions = {_ORDINALS[w] for w in words if w in _ORDINALS}
    if len(positions) == 1:
        position = positions.pop()
        if -len(offered) <= position < len(offered):
            return offered[position][0]
        return None
    asked = query_terms(text)
    shared = [len(asked & query_terms(title)) for _, title in offered]
    best = max(shared)
    if best > 0 and shared.count(best) == 1:
        return offered[shared.index(best)][0]
    return None
