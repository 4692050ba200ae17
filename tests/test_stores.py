"""Tickets, conversations and events on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from frontline.analytics import EventLog
from frontline.db import Database
from frontline.errors import InvalidTicket, TicketNotFound
from frontline.notify import Notifier
from frontline.redaction import mask
from frontline.support import Handoff
from frontline.support.conversations import CUSTOMER, REP, Conversations
from frontline.ticketing import SqlTicketBackend as TicketStore
from frontline.ticketing import propose_summary


def test_ticket_numbers_transcript_and_masking(database: Database) -> None:
    store = TicketStore(database)
    first = store.create(
        email="Jane.Doe@Example.com",
        summary="Charged twice, card 4111 1111 1111 1111",
        details="Call me on +44 20 7946 0958 or mail jane@example.com",
        transcript=[{"sender": "customer", "text": "my email is jane@example.com"}],
        tried_articles=["refund-policy", "refund-policy", "failed-payment"],
        session_id="session-123456",
    )
    second = store.create(email="bob@example.org", summary="Other")
    assert (first.number, second.number) == (10001, 10002)
    stored = store.get(10001)
    assert stored.email == "jane.doe@example.com"
    assert "4111" not in stored.summary and "[card ending 1111]" in stored.summary
    assert "[phone]" in stored.details and "[email]" in stored.details
    assert stored.transcript == [{"sender": "customer", "text": "my email is [email]"}]
    assert stored.tried_articles == ["refund-policy", "failed-payment"]
    assert (stored.status, stored.priority, stored.handoff) == ("open", "normal", False)


def test_a_wrong_number_email_pair_reveals_nothing(database: Database) -> None:
    store = TicketStore(database)
    ticket = store.create(email="ann@example.com", summary="Export stuck")
    assert store.lookup(ticket.number, " ANN@example.com ").number == ticket.number
    assert store.lookup(ticket.number, "eve@example.com") is None
    assert store.lookup(99999, "ann@example.com") is None
    with pytest.raises(TicketNotFound):
        store.get(99999)


def test_invalid_tickets_are_refused_with_the_reason(database: Database) -> None:
    store = TicketStore(database)
    with pytest.raises(InvalidTicket, match="not a valid email"):
        store.create(email="not-an-email", summary="x")
    with pytest.raises(InvalidTicket, match="summary"):
        store.create(email="a@example.com", summary="   ")
    with pytest.raises(InvalidTicket, match="unknown status"):
        store.update(store.create(email="a@example.com", summary="x").number, status="closed")


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


def test_filtering_and_paging_tickets(database: Database) -> None:
    store = TicketStore(database)
    for i in range(5):
        store.create(email="a@example.com", summary=f"t{i}", handoff=i % 2 == 0)
    rows, total = store.find(handoff=True, limit=2)
    assert total == 3 and [t.summary for t in rows] == ["t4", "t2"]
    rows, total = store.find(status="resolved")
    assert (rows, total) == ([], 0)


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


def test_events_record_outcomes(database: Database) -> None:
    log = EventLog(database)
    log.record("decision", session_id="s1-abcdef", query="refund for jane@example.com",
               hits=[{"article_id": "refund-policy", "score": 0.8, "certainty": 0.6}],
               decision="answer", certainty=0.6, thresholds={"answer": 0.5}, ambiguous=False,
               article_id="refund-policy")
    log.record("csat", session_id="s1-abcdef", csat=5)
    events = log.for_session("s1-abcdef")
    assert [e.kind for e in events] == ["decision", "csat"]
    assert events[0].query == "refund for [email]" and events[0].certainty == 0.6
    assert events[0].thresholds == {"answer": 0.5} and events[0].ambiguous is False
    with pytest.raises(ValueError, match="unknown event kind"):
        log.record("nonsense")


def test_database_down_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from frontline.errors import DatabaseUnavailable

    db = Database("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseUnavailable, match="database is unavailable"):
        TicketStore(db).create(email="a@example.com", summary="x")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("reach me at john.smith@mail.example.org", "reach me at [email]"),
        ("Visa 4242-4242-4242-4242 exp 12/28", "Visa [card ending 4242] exp 12/28"),
        ("my number is 0794 609 5812", "my number is [phone]"),
        ("ticket 10234, TL-429 on 2026-11-23", "ticket 10234, TL-429 on 2026-11-23"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_propose_summary_takes_the_first_sentence() -> None:
    summary = propose_summary("my export is stuck at 99%. I tried twice!")
    assert summary == "My export is stuck at 99%."
    assert len(propose_summary("word " * 100)) <= 200
