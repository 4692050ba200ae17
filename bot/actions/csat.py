"""Customer satisfaction: the 1-5 rating asked after a resolved conversation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import FrontlineAction, channel_of
from bot.actions.nps import ask_nps


class ActionRecordCsat(FrontlineAction):
    def name(self) -> str:
        return "action_record_csat"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        raw = str(tracker.get_slot("csat_score") or "").strip()
        if raw not in {"1", "2", "3", "4", "5"}:
            dispatcher.utter_message(response="utter_ask_csat")
            return [SlotSet("csat_score", None)]
        score = int(raw)
        self.services.events.record("csat", session_id=tracker.sender_id,
                                    channel=channel_of(tracker), csat=score)
        reply = "Thank you for the feedback!" if score >= 4 else (
            "Thank you for telling us — we'll use it to do better."
        )
        dispatcher.utter_message(text=reply)
        ask_nps(dispatcher, tracker.sender_id, self.services.settings.nps_sample_rate)
        return [SlotSet("csat_score", None)]
