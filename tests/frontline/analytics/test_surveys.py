"""CSAT is asked after a person ends a handoff or resolves a chat ticket, and reopened tickets
are recorded — the events the ops figures count."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontline.analytics import EventLog
from frontline.db import Database
from frontline.notify import Notifier
from frontline.support import Handoff
from frontline.support.conversations import Conversations
from frontline.support.handoff import CSAT_BUTTONS
from frontline.ticketing import SqlTicketBackend


def make(database: Database) -> tuple[Handoff, Conversations, EventLog, SqlTicketBackend]:
    tickets, chats, events = SqlTicketBackend(database), Conversations(database), EventLog(
        database)
    return Handoff(chats, tickets, events, Notifier()), chats, events, tickets


def test_ending_a_handoff_asks_for_a_rating(database: Database) -> None:
    handoff, chats, events, _ = make(database)
    ticket = handoff.start("sess-csat-1", email="", summary="wants a person", details="",
                           transcript=[], tried_articles=[])
    assert handoff.end(ticket.number, by="maria")
    [told] = chats.messages("sess-csat-1", senders=("bot",))
    assert "ended this conversation" in told.text and "from 1 (poor) to 5" in told.text
    assert told.data["buttons"] == CSAT_BUTTONS
    assert [b["payload"] for b in CSAT_BUTTONS] == [
        f'/csat{{"csat_score": "{n}"}}' for n in range(1, 6)]  # the csat intent's payload
    kinds = [e.kind for e in events.for_session("sess-csat-1")]
    assert kinds == ["handoff", "handoff_end", "csat_asked"]
    handoff.update_ticket(ticket.number, status="resolved")  # already ended: asked once
    assert [e.kind for e in events.for_session("sess-csat-1")].count("csat_asked") == 1


def test_resolving_a_chat_ticket_asks_for_a_rating_and_reopening_is_recorded(
        database: Database) -> None:
    handoff, chats, events, tickets = make(database)
    ticket = tickets.create(email="ann@example.com", summary="Export fails",
                            session_id="sess-csat-2")
    handoff.update_ticket(ticket.number, status="resolved")
    [asked] = chats.messages("sess-csat-2", senders=("bot",))
    assert asked.data["buttons"] == CSAT_BUTTONS
    handoff.update_ticket(ticket.number, status="resolved")  # no change: not asked again
    handoff.update_ticket(ticket.number, status="open")
    handoff.update_ticket(ticket.number, status="pending")  # not a reopen: it was open
    assert [e.kind for e in events.for_session("sess-csat-2")] == ["csat_asked", "reopen"]
    assert events.for_session("sess-csat-2", "reopen")[0].ticket_id == ticket.id
    emailed = tickets.create(email="bo@example.com", summary="No chat")
    handoff.update_ticket(emailed.number, status="resolved")  # no chat to ask in


def _tracker(sender: str, slots: dict[str, object]) -> object:
    """The tracker of a survey button's click: its payload is the message."""
    import json

    from rasa_sdk import Tracker

    (name, value), = slots.items()
    payload = f"/{name.removesuffix('_score')}{json.dumps({name: value})}"
    return Tracker(sender_id=sender, slots=slots, latest_message={"text": payload, "intent": {}},
                   events=[], paused=False, followup_action=None, active_loop={},
                   latest_action_name=None)


def test_nps_is_asked_for_the_sampled_share_and_recorded(database: Database,
                                                         tmp_path: Path) -> None:
    from rasa_sdk.executor import CollectingDispatcher

    from bot.actions.csat import ActionRecordCsat
    from bot.actions.nps import NPS_BUTTONS, ActionRecordNps, sampled
    from frontline.services import Services
    from tests.conftest import make_settings

    assert not any(sampled(f"s-{i}", 0.0) for i in range(100))
    assert sum(sampled(f"s-{i}", 0.3) for i in range(2000)) == pytest.approx(600, abs=80)
    assert sampled("same", 0.5) == sampled("same", 0.5)  # stable per conversation

    def services(rate: float) -> Services:
        settings = make_settings(tmp_path, tmp_path / "kb", nps_sample_rate=rate)
        return Services.build(settings, db=database)

    off = CollectingDispatcher()
    ActionRecordCsat(services(0.0)).run(off, _tracker("sess-nps-1", {"csat_score": "5"}), {})
    assert [m["text"] for m in off.messages] == ["Thank you for the feedback!"]
    on = CollectingDispatcher()
    ActionRecordCsat(services(1.0)).run(on, _tracker("sess-nps-1", {"csat_score": "5"}), {})
    assert "recommend" in on.messages[-1]["text"] and on.messages[-1]["buttons"] == NPS_BUTTONS
    assert [b["title"] for b in NPS_BUTTONS] == [str(n) for n in range(11)]
    answered = CollectingDispatcher()
    ActionRecordNps(services(1.0)).run(answered, _tracker("sess-nps-1", {"nps_score": "9"}), {})
    ActionRecordNps(services(1.0)).run(answered, _tracker("sess-nps-1", {"nps_score": "11"}), {})
    events = EventLog(database).for_session("sess-nps-1")
    assert [(e.kind, e.csat) for e in events] == [("csat", 5), ("csat", 5), ("nps", 9)]
