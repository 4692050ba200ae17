"""Answering from the knowledge base, and the "did that help?" that follows."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
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
from frontline.services import Services

logger = logging.getLogger(__name__)
FOLLOW_UP_WINDOW = timedelta(minutes=30)

ABSTAIN_TEXT = (
    "I'm sorry — I couldn't find anything in our help centre that answers that, and I'd rather "
    "not guess. I can file a ticket for our support team, or connect you with a person."
)
CLARIFY_CLOSE_TEXT = "I found a few articles that might help. Which one fits best?"
CLARIFY_UNSURE_TEXT = (
    "I'm not sure our help centre answers that exactly. These articles look closest — does one "
    "of them fit?"
)
PICK_ONE_TEXT = (
    "Glad one of them looks right — which one? Tap it above, or tell me a little more and I'll "
    "look again."
)
UNAVAILABLE_TEXT = (
    "I can't search our help centre right now. I can file a ticket for our support team, or "
    "connect you with a person."
)


def recent_question(services: Services, session_id: str) -> str | None:
    """The customer's previous KB question in this conversation, if it was asked recently
    enough to be what a follow-up refers to."""
    previous = services.events.last_decision(session_id)
    if previous is None or not previous.query:
        return None
    asked = previous.created_at if previous.created_at.tzinfo else previous.created_at.replace(
        tzinfo=UTC)
    return previous.query if datetime.now(UTC) - asked <= FOLLOW_UP_WINDOW else None


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
        foreign = services.knowledge.language.foreign(query)
        if foreign is not None:
            # Never answer from a match found by accident in another language.
            services.events.record("decision", session_id=tracker.sender_id,
                                   channel=channel_of(tracker), query=query, decision="abstain",
                                   language=foreign.code)
            text, (ticket, person) = foreign.reply(services.knowledge.language.kb_languages)
            dispatcher.utter_message(text=text, buttons=[
                {"title": ticket, "payload": "/request_ticket"},
                {"title": person, "payload": "/human_handoff"},
            ])
            return [SlotSet("kb_state", "abstained")]
        try:
            decision, searched = services.knowledge.decide_in_context(
                query, recent_question(services, tracker.sender_id), "public")
        except FrontlineError as exc:
            logger.error("KB search failed: %s", exc.detail)
            services.events.record("decision", session_id=tracker.sender_id,
                                   channel=channel_of(tracker), query=query, decision="abstain")
            return offer_ticket(dispatcher, UNAVAILABLE_TEXT)
        services.events.decision(decision, query=searched, session_id=tracker.sender_id,
                                 channel=channel_of(tracker))
        if decision.outcome == "answer" and decision.best is not None:
            if tracker.active_loop.get("name"):
                # A question in the middle of a form: answer it; the form asks its next
                # question right after, so no "did that help?" here.
                show_article(dispatcher, decision.best, services.settings.public_url,
                             ask_feedback=False)
                return []
            show_article(dispatcher, decision.best, services.settings.public_url)
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
        show_article(dispatcher, hit, services.settings.public_url)
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
        previous = services.events.last_decision(session_id)
        if state == "clarify" and intent == "affirm":
            # "Yes" to a list of options the customer never chose from: no answer was given,
            # so nothing was deflected. Ask which one instead.
            dispatcher.utter_message(text=PICK_ONE_TEXT)
            return []
        if state == "clarify" and intent == "deny" and previous is not None:
            # "None of these": none of the offered articles fits, a KB gap (told apart in
            # the reports from a customer who just left).
            services.events.record("clarify_none", session_id=session_id, channel=channel,
                                   query=previous.query, hits=previous.hits,
                                   decision=previous.decision)
        if intent == "affirm" and state in ("answered", "feedback_no") and (
                previous is not None and previous.decision == "answer"):
            services.events.record("feedback", session_id=session_id, channel=channel,
                                   article_id=article, deflected=True)
            dispatcher.utter_message(text="Great, I'm glad that helped!")
            dispatcher.utter_message(response="utter_ask_csat")
            return [SlotSet("kb_state", None)]

        if state in ("answered", "feedback_no"):
            services.events.record("feedback", session_id=session_id, channel=channel,
                                   article_id=article, deflected=False)
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
                show_article(dispatcher, hit, services.settings.public_url,
                             intro="Sorry about that. This article may help:")
                return [SlotSet("kb_state", "feedback_no")]
        return offer_ticket(
            dispatcher,
            "Sorry I couldn't solve this myself. I can file a ticket for our support team — "
            "they'll see what we already tried — or connect you with a person.",
        )
