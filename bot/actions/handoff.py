"""Handing the conversation to a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import FrontlineAction, channel_of
from bot.actions.tickets import proposed_summary
from frontline.support import transcript
from frontline.support.handoff import STARTED
from frontline.support.vault import EmailVault


class ActionHandoff(FrontlineAction):
    """File a priority ticket flagged for handoff; the bot stays quiet until a rep closes it."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        services = self.services
        session_id = tracker.sender_id
        channel = channel_of(tracker)
        # An address given earlier (a ticket or status form) is the token Rasa saw: the real
        # one goes on the ticket, or the person taking over could not write back.
        email = EmailVault(services.db).reveal(session_id, tracker.get_slot("email") or "")
        ticket = services.handoff.start(
            session_id,
            email=email,
            summary=proposed_summary(services, tracker) or "Customer asked to talk to a person",
            details="The customer asked for a person in the chat.",
            transcript=transcript(services.conversations, session_id),
            tried_articles=services.events.tried_articles(session_id),
            channel=channel,
        )
        dispatcher.utter_message(text=STARTED.format(number=ticket.number))
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("handoff", True),
                SlotSet("kb_state", None)]
