"""NPS, optional (``FRONTLINE_NPS_SAMPLE_RATE``, off by default): after a rating, that share of
conversations is asked the 0–10 "how likely are you to recommend us?" question, and the answer
is recorded as an ``nps`` event."""

from __future__ import annotations

import hashlib
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import FrontlineAction, channel_of

NPS_QUESTION = (
    "One more question, if you have a second: how likely are you to recommend Tasklane to a "
    "friend or colleague, from 0 (not at all likely) to 10 (extremely likely)?"
)
NPS_BUTTONS = [{"title": str(n), "payload": f'/nps{{"nps_score": "{n}"}}'} for n in range(11)]


def sampled(session_id: str, rate: float) -> bool:
    """The same answer for a conversation every time: its id, hashed, under the rate."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(session_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < rate


def ask_nps(dispatcher: CollectingDispatcher, session_id: str, rate: float) -> bool:
    if not sampled(session_id, rate):
        return False
    dispatcher.utter_message(text=NPS_QUESTION, buttons=NPS_BUTTONS)
    return True


class ActionRecordNps(FrontlineAction):
    def name(self) -> str:
        return "action_record_nps"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        raw = str(tracker.get_slot("nps_score") or "").strip()
        if raw.isdigit() and 0 <= int(raw) <= 10:
            self.services.events.record("nps", session_id=tracker.sender_id,
                                        channel=channel_of(tracker), csat=int(raw))
            dispatcher.utter_message(text="Thank you — that helps us a lot.")
        return [SlotSet("nps_score", None)]
