"""Customer satisfaction: the 1-5 rating asked after a resolved conversation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import FrontlineAction, channel_of
from bot.actions.nps import ask_nps
from frontline.services import Services
from frontline.support import BOT, CUSTOMER


def csat_asked(tracker: Tracker, services: Services) -> bool:
    """True when the customer's message is a rating: a CSAT button's payload, or a reply to the
    CSAT question — the assistant's last message before it (in Rasa's tracker), or the
    service's, which asks after a handoff ends or a chat ticket is resolved (in the stored
    conversation). "I bought it 3 weeks ago" after an answer holds a number the NLU may read as
    a rating; nobody asked for one there."""
    if (tracker.latest_message.get("text") or "").lstrip().startswith("/csat"):
        return True
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users > 1:
                break
        elif event.get("event") == "bot" and users == 1:
            if _asks_for_csat((event.get("data") or {}).get("buttons")):
                return True
            break
    customer = False
    for message in reversed(services.conversations.messages(tracker.sender_id)):
        if message.sender == CUSTOMER:
            if customer:
                return False
            customer = True
        elif message.sender == BOT and customer:
            data = message.data or {}
            return bool(data.get("csat_asked")) or _asks_for_csat(data.get("buttons"))
    return False


def _asks_for_csat(buttons: Any) -> bool:
    return any(str(b.get("payload", "")).startswith("/csat") for b in buttons or []
               if isinstance(b, dict))


class ActionRecordCsat(FrontlineAction):
    def name(self) -> str:
        return "action_record_csat"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        if not csat_asked(tracker, self.services):
            # Not a rating: the message is answered as any other, and nothing is recorded.
            return [SlotSet("csat_score", None), FollowupAction("action_answer_from_kb")]
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
