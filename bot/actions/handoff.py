"""Handing the conversation to a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import FrontlineAction, channel_of, tried_articles
from bot.actions.tickets import proposed_summary, transcript


class ActionHandoff(FrontlineAction):
    """File a priority ticket flagged for handoff; the bot stays quiet until a rep closes it."""

    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        services = self.services
        session_id = tracker.sender_id
        channel = channel_of(tracker)
        ticket = services.tickets.create(
            email=tracker.get_slot("email") or "",
            summary=proposed_summary(services, tracker) or "Customer asked to talk to a person",
            details="The customer asked for a person in the chat.",
            transcript=transcript(services, session_id),
            tried_articles=tried_articles(services.events, session_id),
            session_id=session_id,
            channel=channel,
            handoff=True,
        )
        services.conversations.start_handoff(session_id, ticket.id, channel)
        services.events.record("handoff", session_id=session_id, channel=channel,
                               ticket_id=ticket.id, deflected=False)
        dispatcher.utter_message(
            text=f"I've asked a person from our support team to take over (ticket "
            f"**#{ticket.number}**, high priority). They'll reply right here in this chat — "
            "usually within an hour during support hours (Monday to Friday, 07:00–19:00 UTC). "
            "Anything you type now goes straight to them."
        )
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("handoff", True),
                SlotSet("kb_state", None)]
