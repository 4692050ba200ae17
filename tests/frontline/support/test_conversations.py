"""Conversations and the handoff on SQLite and PostgreSQL."""

from __future__ import annotations

from frontline.analytics import EventLog
from frontline.db import Database
from frontline.notify import Notifier
from frontline.support import Handoff
from frontline.support.conversations import CUSTOMER, REP, Conversations
from frontline.ticketing import SqlTicketBackend as TicketStore


def test_resolving_a_handoff_gives_the_chat_back_to_the_bot(database: Database) -> None:
    tickets, chats = TicketStore(database), Conversations(database)
    handoff = Handoff(chats, tickets, EventLog(database), Notifier())
    ticket = handoff.start("sess-handoff", email="", summary="wants a person", details="",
                           transcript=[], tried_articles=[])
    assert ticket.priority == "high" and ticket.handoff
    assert chats.handoff_ticket("sess-handoff") == ticket.id
    updated = handoff.update_ticket(ticket.number, status="pending", assignee="maria",
                                    note="on it")
    assert updated.assignee == "maria" and chats.handoff_ticket("sess-handoff") == ticket.id
    resolved = handoff.update_ticket(ticket.number, status="resolved")
    assert resolved.resolved_at is not None
    assert chats.handoff_ticket("sess-handoff") is None
    assert [n.text for n in tickets.notes(ticket) if n.sender == "note"] == ["on it"]
    told = chats.messages("sess-handoff", senders=("bot",))
    assert len(told) == 1 and "ended this conversation" in told[0].text
    assert handoff.end(ticket.number, by="maria") is False  # already given back: nothing new
    assert len(chats.messages("sess-handoff", senders=("bot",))) == 1


def test_messages_undelivered_words_and_rep_replies(database: Database) -> None:
    chats = Conversations(database)
    kept = chats.add("sess-abcdefgh", CUSTOMER, "card 4111111111111111 was charged", masked=True)
    chats.mark_undelivered(kept.id)
    chats.add("sess-abcdefgh", REP, "Hi, Maria here", data={"author": "Maria"})
    undelivered = chats.undelivered("sess-abcdefgh")
    assert [m.text for m in undelivered] == ["card [card ending 1111] was charged"]
    replies = chats.messages("sess-abcdefgh", after_id=kept.id)
    assert [(m.sender, m.text, m.data["author"]) for m in replies] == [
        ("rep", "Hi, Maria here", "Maria")
    ]
