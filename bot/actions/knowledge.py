"""Answering from the knowledge base, and the "did that help?" that follows."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import (
    TICKET_OR_HUMAN,
    YES_NO,
    FrontlineAction,
    channel_of,
    choose_article_payload,
    offered_articles,
    show_article,
    typed_choice,
)
from frontline.errors import ArticleNotFound, FrontlineError
from frontline.knowledge import Decision
from frontline.knowledge.context import SWEARING, is_frustrated, is_shouting
from frontline.knowledge.decision import MIN_TOPIC_WORDS, topic_words
from frontline.knowledge.links import article_link
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
VAGUE_TEXT = (
    "Happy to help — what about, exactly? These are the topics that look likeliest; pick one, "
    "or tell me a little more."
)
VAGUE_ASK_TEXT = (
    "Happy to help — could you tell me a little more? What are you trying to do, and what "
    "happens instead?"
)
FRUSTRATED_TEXT = "I'm sorry this has been so frustrating — let's get it sorted."
AFTER_NO_TEXT = (
    "Thanks for explaining. I don't have an article that fits better, so let's get a person "
    "on it: I can file a ticket with this conversation attached, or connect you with someone "
    "now."
)
PERSON = {"title": "Talk to a person", "payload": "/human_handoff"}


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


def explains_a_no(tracker: Tracker) -> bool:
    """True when the customer's previous message was a "No" to an answer (the KB feedback
    offered the next-best article or a ticket), so this one likely says why it did not help."""
    if tracker.get_slot("kb_state") not in ("feedback_no", "abstained"):
        return False
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return False
    return ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") == "deny"


def options_text(decision: Decision, public_url: str) -> str:
    """The options of a clarify as lines with links, for a form that cannot take buttons."""
    lines = []
    for hit in decision.options:
        url = article_link(hit, public_url, section=hit.heading)
        lines.append(f"• {hit.title}" + (f" — {url}" if url else ""))
    return "\n".join(lines)


def answer_in_form(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker,
                   query: str) -> None:
    """A new question typed while a form waits for a value ("it's about a refund for a double
    charge" when asked for an email): answer it from the KB, or name the closest articles as
    links (buttons would be read as the form's value); the form asks its question again."""
    try:
        decision = services.knowledge.decide(query, "public")
    except FrontlineError as exc:
        logger.error("KB search failed: %s", exc.detail)
        return
    services.events.decision(decision, query=query, session_id=tracker.sender_id,
                             channel=channel_of(tracker))
    if decision.outcome == "answer" and decision.best is not None:
        show_article(dispatcher, decision.best, services.settings.public_url,
                     intro="About your question:", ask_feedback=False)
    elif decision.outcome == "clarify":
        dispatcher.utter_message(text="About your question, these articles look closest:\n"
                                 + options_text(decision, services.settings.public_url))
    else:
        dispatcher.utter_message(text="I couldn't find an article about that; our support team "
                                 "can help with it.")


def calm(text: str) -> str:
    """What is searched of a frustrated message: its words without the swearing, in lower case
    when it shouts (the question is the same)."""
    text = SWEARING.sub(" ", text)
    return " ".join((text.lower() if is_shouting(text) else text).split()) or text


class ActionAnswerFromKB(FrontlineAction):
    """Answer the customer's latest message from the public KB: answer, clarify or abstain."""

    def name(self) -> str:
        return "action_answer_from_kb"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        query = (tracker.latest_message.get("text") or "").strip()
        services = self.services
        frustrated = is_frustrated(query)
        if frustrated:
            # One short, human acknowledgement, then the same help, a person offered sooner.
            dispatcher.utter_message(text=FRUSTRATED_TEXT)
            query = calm(query)
        if explains_a_no(tracker):
            return self.after_no(dispatcher, tracker, query)
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
            show_article(dispatcher, decision.best, services.settings.public_url,
                         ask_feedback=not frustrated)
            if frustrated:
                dispatcher.utter_message(text="Did that answer your question?",
                                         buttons=[*YES_NO, PERSON])
            return [SlotSet("kb_state", "answered")]
        if decision.outcome == "clarify":
            text = CLARIFY_CLOSE_TEXT if decision.ambiguous else CLARIFY_UNSURE_TEXT
            dispatcher.utter_message(
                text=VAGUE_TEXT if decision.vague else text,
                buttons=[
                    {"title": h.title, "payload": choose_article_payload(h.article_id)}
                    for h in decision.options
                ] + [{"title": "None of these", "payload": "/deny"}]
                + ([PERSON] if frustrated else []),
            )
            return [SlotSet("kb_state", "clarify")]
        if topic_words(query) < MIN_TOPIC_WORDS and not frustrated:
            dispatcher.utter_message(text=VAGUE_ASK_TEXT)
            return [SlotSet("kb_state", None)]
        return offer_ticket(dispatcher)

    def after_no(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                 query: str) -> list[EventType]:
        """The message after a "No": searched together with the question that was not
        answered (and alone, for a new question); an article not shown yet is answered,
        otherwise the ticket or a person is offered — never a list of unrelated articles."""
        services = self.services
        previous = services.events.last_decision(tracker.sender_id)
        tried = set(services.events.tried_articles(tracker.sender_id))
        asked = previous.query if previous is not None and previous.query else ""
        searches = [f"{asked.strip().rstrip('?!. ')} {query}", query] if asked else [query]
        for searched in searches:
            if len(searched) > services.settings.query_max_chars:
                continue
            try:
                decision = services.knowledge.decide(searched, "public")
            except FrontlineError as exc:
                logger.error("KB search failed: %s", exc.detail)
                return offer_ticket(dispatcher, UNAVAILABLE_TEXT)
            best = decision.best
            if decision.outcome == "answer" and best is not None and (
                    best.article_id not in tried):
                services.events.decision(decision, query=searched,
                                         session_id=tracker.sender_id,
                                         channel=channel_of(tracker))
                show_article(dispatcher, best, services.settings.public_url)
                return [SlotSet("kb_state", "answered")]
        services.events.record("decision", session_id=tracker.sender_id,
                               channel=channel_of(tracker), query=searches[0],
                               decision="abstain")
        return offer_ticket(dispatcher, AFTER_NO_TEXT)


class ActionShowArticle(FrontlineAction):
    """The customer picked one of the clarify options."""

    def name(self) -> str:
        return "action_show_article"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        article_id = tracker.get_slot("article_id") or typed_choice(
            tracker.latest_message.get("text") or "", offered_articles(tracker))
        if not article_id:
            # "the second one" with no list before it, or naming none of it: a message like
            # any other, not "I couldn't open that article".
            return [FollowupAction("action_answer_from_kb")]
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
