"""Filing a ticket (ticket_form) and looking one up (ticket_status_form)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.common import FrontlineAction, UsesServices, channel_of
from bot.actions.knowledge import answer_in_form
from frontline.redaction import mask_email, valid_email
from frontline.services import Services
from frontline.support import summary_from_events, transcript
from frontline.support.vault import EmailVault
from frontline.ticketing import NUMBER_OFFSET, SUMMARY_MAX, propose_summary
from indexer.text import shorten

TICKET_NUMBER = re.compile(r"#?\s*(\d{4,8})")
STATUS_TEXT = {
    "open": "is open and waiting for our support team",
    "pending": "is being worked on by our support team",
    "resolved": "has been resolved",
}


class _Validation(UsesServices, FormValidationAction):
    def __init__(self, services: Services | None = None) -> None:
        super().__init__()
        self._services = services


STOP_BUTTON = [{"title": "Stop", "payload": "/stop"}]
_ABOUT_THE_ADDRESS = re.compile(r"\b(?:e-?mail|address|@)", re.IGNORECASE)


def _new_question(text: str, tracker: Tracker) -> bool:
    """A message typed instead of the address that asks something else: a few words, read as
    a question by the NLU, and not about the address itself ("my email is secret" is)."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return len(text.split()) >= 3 and not _ABOUT_THE_ADDRESS.search(text) and intent in (
        "kb_question", "nlu_fallback", "request_ticket", "ticket_status")


STOPPED_TEXT = "OK, I've stopped — nothing was sent. Is there anything else I can help with?"


def _stopping(tracker: Tracker | None) -> bool:
    """A "never mind" the NLU was not sure enough of to call it ``stop`` (an ignored intent of
    both forms, handled by a rule), but whose best guess it is."""
    if tracker is None:
        return False
    message = tracker.latest_message
    ranking = [r.get("name") for r in message.get("intent_ranking") or []
               if r.get("name") != "nlu_fallback"]
    return ((message.get("intent") or {}).get("name") == "nlu_fallback"
            and ranking[:1] == ["stop"])


def _stop(dispatcher: CollectingDispatcher, slot: str) -> dict[str, Any]:
    """End the form early: its completion actions see the missing slot and do nothing."""
    dispatcher.utter_message(text=STOPPED_TEXT)
    return {slot: None, "requested_slot": None}


def _email(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker | None = None,
           services: Services | None = None) -> dict[str, Any]:
    if _stopping(tracker):
        return _stop(dispatcher, "email")
    text = str(value or "").strip()
    if valid_email(text):
        return {"email": text.lower()}
    if services is not None and tracker is not None and _new_question(text, tracker):
        # Not an address but a new question ("it's about a refund for a double charge"):
        # answer it, and offer to stop instead of repeating the address rule.
        answer_in_form(services, dispatcher, tracker, text)
        dispatcher.utter_message(text="To go on, I still need an email address — or tap Stop "
                                 "to leave this.", buttons=STOP_BUTTON)
        return {"email": None}
    dispatcher.utter_message(
        text="That doesn't look like an email address. Please type it like name@example.com, "
        "or tap Stop to leave this.", buttons=STOP_BUTTON,
    )
    return {"email": None}


# What a customer's question to the assistant is read as (a form's answers, "I want to open
# a ticket" and small talk are not what the ticket is about).
QUESTION_INTENTS = frozenset({"kb_question", "nlu_fallback"})


def proposed_summary(services: Services, tracker: Tracker) -> str:
    """A summary from the conversation: the last question the KB could not settle, else the
    customer's latest typed question; "" when there is none (an email address typed into the
    form is never proposed)."""
    from_events = summary_from_events(services.events, tracker.sender_id)
    if from_events:
        return from_events
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = (event.get("text") or "").strip()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if (text and not text.startswith("/") and intent in QUESTION_INTENTS
                and not valid_email(text)):
            return propose_summary(text)
    return ""


class ValidateTicketForm(_Validation):
    def name(self) -> str:
        return "validate_ticket_form"

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        return _email(value, dispatcher, tracker, self.services)

    def validate_summary(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> dict[str, Any]:
        if _stopping(tracker):
            return _stop(dispatcher, "summary")
        text = " ".join(str(value or "").split())
        if not text:
            dispatcher.utter_message(text="Please describe the problem in one line.")
            return {"summary": None}
        if len(text) > SUMMARY_MAX:
            dispatcher.utter_message(
                text=f"That's a bit long for a summary (at most {SUMMARY_MAX} characters). "
                "I've shortened it; you can add everything else in the details."
            )
            text = shorten(text, SUMMARY_MAX)
        return {"summary": text}

    def validate_details(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: DomainDict) -> dict[str, Any]:
        if _stopping(tracker):
            return _stop(dispatcher, "details")
        text = str(value or "").strip()
        if not text:
            dispatcher.utter_message(text="Please add a few details, or type 'none'.")
            return {"details": None}
        return {"details": text}


class ActionAskSummary(FrontlineAction):
    """Ask for the one-line summary, proposing one from the conversation as a button."""

    def name(self) -> str:
        return "action_ask_summary"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        proposal = proposed_summary(self.services, tracker)
        if proposal:
            dispatcher.utter_message(
                text=f'In one line, what\'s the problem? I suggest: "{proposal}" — tap it to '
                "use it, or type your own.",
                buttons=[{"title": proposal, "payload": proposal}],
            )
        else:
            dispatcher.utter_message(text="In one line, what's the problem?")
        return []


class ActionFileTicket(FrontlineAction):
    """Create the ticket from the completed form, with transcript and articles tried."""

    def name(self) -> str:
        return "action_file_ticket"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        services = self.services
        session_id = tracker.sender_id
        if not all(tracker.get_slot(name) for name in ("email", "summary", "details")):
            # The customer stopped the form (its validation ended it early): file nothing.
            return [SlotSet("summary", None), SlotSet("details", None)]
        # The assistant saw a token for the address (frontline.support.vault): file the real one.
        email = EmailVault(services.db).reveal(session_id, tracker.get_slot("email") or "")
        ticket = services.tickets.create(
            email=email,
            summary=tracker.get_slot("summary") or "Customer request",
            details=tracker.get_slot("details") or "",
            transcript=transcript(services.conversations, session_id),
            tried_articles=services.events.tried_articles(session_id),
            session_id=session_id,
            channel=channel_of(tracker),
        )
        services.events.record("ticket", session_id=session_id, channel=channel_of(tracker),
                               ticket_id=ticket.id, deflected=False)
        dispatcher.utter_message(
            text=f"Thanks — I've filed ticket **#{ticket.number}**. Our support team will reply "
            f"to {mask_email(ticket.email)} (support hours: Monday to Friday, 07:00–19:00 UTC). "
            "You can ask me for its status any time with the ticket number."
        )
        return [SlotSet("summary", None), SlotSet("details", None), SlotSet("kb_state", None)]


class ActionStopForm(FrontlineAction):
    """The customer left a form ("stop", "never mind"): forget what it collected but the
    email address, and say so."""

    def name(self) -> str:
        return "action_stop_form"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=STOPPED_TEXT)
        return [SlotSet("summary", None), SlotSet("details", None),
                SlotSet("ticket_number", None), SlotSet("requested_slot", None)]


class ValidateTicketStatusForm(_Validation):
    def name(self) -> str:
        return "validate_ticket_status_form"

    def validate_ticket_number(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        match = TICKET_NUMBER.search(str(value or ""))
        if match and int(match.group(1)) > NUMBER_OFFSET:
            return {"ticket_number": match.group(1)}
        dispatcher.utter_message(
            text="Ticket numbers look like 10234 — you'll find yours in the confirmation."
        )
        return {"ticket_number": None}

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        return _email(value, dispatcher, tracker, self.services)


class ActionTicketStatus(FrontlineAction):
    """Report a ticket's status only when number and email belong together."""

    def name(self) -> str:
        return "action_ticket_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        if not (tracker.get_slot("ticket_number") and tracker.get_slot("email")):
            return [SlotSet("ticket_number", None)]  # the customer stopped the form
        number = int(re.sub(r"\D", "", tracker.get_slot("ticket_number") or "") or 0)
        email = EmailVault(self.services.db).reveal(tracker.sender_id,
                                                    tracker.get_slot("email") or "")
        ticket = self.services.tickets.lookup(number, email)
        if ticket is None:
            dispatcher.utter_message(
                text="I couldn't find a ticket with that number and email address. Please check "
                "both — the email must be the one the ticket was filed with."
            )
        else:
            text = f"Ticket **#{ticket.number}** ({ticket.summary}) {STATUS_TEXT[ticket.status]}."
            if ticket.status != "resolved":
                text += f" Last update: {ticket.updated_at:%d %b %Y, %H:%M} UTC."
            dispatcher.utter_message(text=text)
        return [SlotSet("ticket_number", None)]
