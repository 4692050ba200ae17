"""The built-in ticket backend on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from frontline.db import Database
from frontline.errors import InvalidTicket, TicketNotFound
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


def test_filtering_and_paging_tickets(database: Database) -> None:
    store = TicketStore(database)
    for i in range(5):
        store.create(email="a@example.com", summary=f"t{i}", handoff=i % 2 == 0)
    rows, total = store.find(handoff=True, limit=2)
    assert total == 3 and [t.summary for t in rows] == ["t4", "t2"]
    rows, total = store.find(status="resolved")
    assert (rows, total) == ([], 0)


def test_database_down_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from frontline.errors import DatabaseUnavailable

    db = Database("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseUnavailable, match="database is unavailable"):
        TicketStore(db).create(email="a@example.com", summary="x")


def test_propose_summary_takes_the_first_sentence() -> None:
    summary = propose_summary("my export is stuck at 99%. I tried twice!")
    assert summary == "My export is stuck at 99%."
    assert len(propose_summary("word " * 100)) <= 200
