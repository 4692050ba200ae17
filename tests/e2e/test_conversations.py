"""Whole conversations through POST /chat with a real Rasa server and the real service."""

from __future__ import annotations

import re

from tests.e2e.conftest import ADMIN_TOKEN, Chat, text_of
from tests.support.stack import Stack

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def services(stack: Stack):  # type: ignore[no-untyped-def]
    return stack.app.state.services


def test_greeting_and_bot_question(chat: Chat) -> None:
    assert "virtual assistant" in text_of(chat.say("hi there")).lower()
    assert "not a person" in text_of(chat.say("am I talking to a bot?")).lower()


def test_kb_question_answered_with_link_then_yes_and_csat(chat: Chat, stack: Stack) -> None:
    answer = chat.say("I forgot my password and can't sign in")
    links = [link["url"] for m in answer for link in m["links"]]
    assert links == ["https://help.tasklane.example/articles/reset-password"], answer
    rating = chat.click(answer, "yes")
    assert "glad" in text_of(rating).lower()
    thanks = chat.click(rating, "5")
    assert "thank" in text_of(thanks).lower()
    events = services(stack).events.for_session(chat.session_id)
    assert [(e.kind, e.deflected, e.csat) for e in events if e.kind != "decision"] == [
        ("feedback", True, None), ("csat", None, 5)]


def test_unanswerable_question_abstains_and_files_a_ticket(chat: Chat, stack: Stack) -> None:
    first = chat.say("can I order printed stickers with my team logo?")
    assert "couldn't find" in text_of(first).lower(), first
    ask_email = chat.click(first, "ticket")
    assert "email" in text_of(ask_email).lower()
    assert "doesn't look like an email" in text_of(chat.say("my email is secret")).lower()
    ask_summary = chat.say("Ann.Lee@example.com")
    assert ask_summary[0]["buttons"], ask_summary
    ask_details = chat.click(ask_summary, "printed stickers")
    assert "describe" in text_of(ask_details).lower() or "details" in text_of(ask_details).lower()
    done = chat.say("We want 200 for a conference. Call me at +44 20 7946 0958.")
    number = int(re.search(r"#(\d+)", text_of(done)).group(1))  # type: ignore[union-attr]
    ticket = services(stack).tickets.get(number)
    assert ticket.email == "ann.lee@example.com"
    assert ticket.summary == "Can I order printed stickers with my team logo?"
    assert "[phone]" in ticket.details and "7946" not in ticket.details
    said = [t["text"] for t in ticket.transcript if t["sender"] == "customer"]
    assert said[0] == "can I order printed stickers with my team logo?"


def test_ticket_status_right_and_wrong_pair(chat: Chat, stack: Stack) -> None:
    ticket = services(stack).tickets.create(email="bo@example.com", summary="Invoice missing")
    asked = chat.say(f"what's the status of ticket {ticket.number}?")
    assert "email" in text_of(asked).lower(), asked
    assert "Invoice missing" in text_of(chat.say("bo@example.com"))
    other = Chat(stack)
    other.say(f"any update on my ticket #{ticket.number}")
    wrong = text_of(other.say("eve@example.com"))
    assert "couldn't find" in wrong and "Invoice" not in wrong


def test_handoff_stops_the_bot_until_a_rep_closes_it(chat: Chat, stack: Stack) -> None:
    chat.say("my whole workspace disappeared after the import")
    handed = text_of(chat.say("I want to talk to a human"))
    number = int(re.search(r"#(\d+)", handed).group(1))  # type: ignore[union-attr]
    ticket = services(stack).tickets.get(number)
    assert ticket.handoff and ticket.priority == "high"
    quiet = chat.say("hello? I forgot my password too")
    assert text_of(quiet) == "Sent to our support team — they'll reply here."
    reply = chat.client.post(f"/api/tickets/{number}/reply", headers=ADMIN,
                             json={"text": "Hi, Maria here — looking at it now.",
                                   "author": "Maria"})
    assert reply.status_code == 200, reply.text
    history = chat.client.get("/chat/history", params={"session_id": chat.session_id}).json()
    assert history["messages"][-1]["sender"] == "rep"
    assert [m["text"] for m in history["messages"] if m["sender"] == "customer"][-1] == (
        "hello? I forgot my password too")
    closed = chat.client.patch(f"/api/tickets/{number}", headers=ADMIN,
                               json={"status": "resolved"})
    assert closed.status_code == 200
    answer = chat.say("I forgot my password")
    assert any(link["url"].endswith("/reset-password") for m in answer for link in m["links"])


def test_rasa_down_mid_conversation_is_honest_and_keeps_the_words(stack: Stack) -> None:
    chat = Chat(stack)
    chat.say("hi")
    stack.rasa.stop()
    try:
        down = text_of(chat.say("my invoices show the wrong VAT number"))
        assert "can't reach our assistant" in down and "kept your message" in down
        health = chat.client.get("/healthz").json()
        assert health["rasa"] == "down"
        kept = services(stack).conversations.undelivered(chat.session_id)
        assert [m.text for m in kept] == ["my invoices show the wrong VAT number"]
        filed = text_of(chat.say("you can reach me at kim@example.com"))
        number = int(re.search(r"#(\d+)", filed).group(1))  # type: ignore[union-attr]
        ticket = services(stack).tickets.get(number)
        assert ticket.email == "kim@example.com"
        assert "wrong VAT number" in ticket.details
    finally:
        stack.restart_rasa()
    assert chat.client.get("/healthz").json()["rasa"] == "up"
