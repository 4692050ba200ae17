"""Answering from the knowledge base, and the "did that help?" that follows."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import (
    TICKET_OR_HUMAN,
    FrontlineAction,
    channel_of,
    choose_article_payload,
    show_article,
)
from frontline.errors import ArticleNotFound, FrontlineError

logger = logging.getLogger(__name__)

ABSTAIN_TEXT = (
    "I'm sorry — I couldn't find anything in our help centre that answers that, and I'd rather "
    "not guess. I can file a ticket for our support team, or connect you with a person."
)
CLARIFY_CLOSE_TEXT = "I found a few articles that might help. Which one fits best?"
CLARIFY_UNSURE_TEXT = (
    "I'm not sure our help centre answers that exactly. These articles look closest — does one "
    "of them fit?"
)
UNAVAILABLE_TEXT = (
    "I can't search our help centre right now. I can file a ticket for our support team, or "
    "connect you with a person."
)


def offer_ticket(dispatcher: CollectingDispatcher, text: str = ABSTAIN_TEXT) -> list[EventType]:
    dispatcher.utter_message(text=text, buttons=TICKET_OR_HUMAN)
    return [SlotSet("kb_state", "abstained")]


class ActionAnswerFromKB(FrontlineAction):
    """Answer the customer's latest message from the public KB: answer, clarify or abstain."""

    def name(self) -> str:
        return "action_answer_from_kb"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        query = (tracker.latest_message.get("text") or "").strip()
        services = self.services
        try:
            decision = services.knowledge.decide(query, "public")
        except FrontlineError as exc:
            logger.error("KB search failed: %s", exc.detail)
            services.events.record("decision", session_id=tracker.sender_id,
                                   channel=channel_of(tracker), query=query, decision="abstain")
            return offer_ticket(dispatcher, UNAVAILABLE_TEXT)
        services.events.decision(decision, query=query, session_id=tracker.sender_id,
                                 channel=channel_of(tracker))
        if decision.outcome == "answer" and decision.best is not None:
            if tracker.active_loop.get("name"):
                # A question in the middle of a form: answer it; the form asks its next
                # question right after, so no "did that help?" here.
                show_article(dispatcher, decision.best, ask_feedback=False)
                return []
            show_article(dispatcher, decision.best)
            return [SlotSet("kb_state", "answered")]
        if decision.outcome == "clarify":
            dispatcher.utter_message(
                text=CLARIFY_CLOSE_TEXT if decision.ambiguous else CLARIFY_UNSURE_TEXT,
                buttons=[
                    {"title": h.title, "payload": choose_article_payload(h.article_id)}
                    for h in decision.options
                ] + [{"title": "None of these", "payload": "/deny"}],
            )
            return [SlotSet("kb_state", "clarify")]
        return offer_ticket(dispatcher)


class ActionShowArticle(FrontlineAction):
    """The customer picked one of the clarify options."""

    def name(self) -> str:
        return "action_show_article"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        article_id = tracker.get_slot("article_id") or ""
        services = self.services
        previous = services.events.last_decision(tracker.sender_id)
        query = previous.query if previous is not None and previous.query else ""
        try:
            hit = services.knowledge.article(article_id, "public", query)
        except ArticleNotFound:
            return offer_ticket(dispatcher, "I couldn't open that article. " + ABSTAIN_TEXT)
        except FrontlineError:
            return offer_ticket(dispatcher, UNAVAILABLE_TEXT)
        services.events.record(
            "decision", session_id=tracker.sender_id, channel=channel_of(tracker), query=query,
            hits=previous.hits if previous is not None else [], decision="answer",
            certainty=hit.certainty, thresholds=services.knowledge.thresholds.as_dict(),
            article_id=hit.article_id,
        )
        show_article(dispatcher, hit)
        return [SlotSet("kb_state", "answered"), SlotSet("article_id", None)]


class ActionKBFeedback(FrontlineAction):
    """Yes → deflected, ask for CSAT. No → the next-best article once, then a ticket."""

    def name(self) -> str:
        return "action_kb_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        services = self.services
        session_id = tracker.sender_id
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        state = tracker.get_slot("kb_state")
        shown = services.events.tried_articles(session_id)
        article = shown[-1] if shown else None
        channel = channel_of(tracker)
        if intent == "affirm" and state in ("answered", "feedback_no"):
            services.events.record("feedback", session_id=session_id, channel=channel,
                                   article_id=article, deflected=True)
            dispatcher.utter_message(text="Great, I'm glad that helped!")
            dispatcher.utter_message(response="utter_ask_csat")
            return [SlotSet("kb_state", None)]

        if state in ("answered", "feedback_no"):
            services.events.record("feedback", session_id=session_id, channel=channel,
                                   article_id=article, deflected=False)
        previous = services.events.last_decision(session_id)
        if state == "answered" and previous is not None:
            # The next-best article is offered once, whatever its score: the customer has
            # just told us the best one did not help.
            candidates = [h for h in previous.hits if h["article_id"] not in shown]
            for candidate in candidates:
                try:
                    hit = services.knowledge.article(
                        candidate["article_id"], "public", previous.query or ""
                    )
                except FrontlineError:
                    continue
                services.events.record(
                    "decision", session_id=session_id, channel=channel, query=previous.query,
                    hits=previous.hits, decision="answer", certainty=hit.certainty,
                    thresholds=services.knowledge.thresholds.as_dict(),
                    article_id=hit.article_id,
                )
                show_article(dispatcher, hit, intro="Sorry about that. This article may help:")
                return [SlotSet("kb_state", "feedback_no")]
        return offer_ticket(
            dispatcher,
            "Sorry I couldn't solve this myself. I can file a ticket for our support team — "
            "they'll see what we already tried — or connect you with a person.",
        )
