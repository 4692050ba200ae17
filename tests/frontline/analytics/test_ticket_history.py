"""Reopened tickets and the backlog from each ticket's status history, on SQLite and
PostgreSQL: a ticket resolved in one week and reopened in the next was not open at the end of
the first week, and the next week counts it as reopened even without a ``reopen`` event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from frontline.analytics.drilldown import DrillDown
from frontline.analytics.metrics import ALL, Metrics
from frontline.analytics.periods import Period
from frontline.db import Database, Ticket
from frontline.ticketing import SqlTicketBackend, TicketStatusChange

WEEK1 = Period(date(2026, 3, 2), date(2026, 3, 8), ZoneInfo("UTC"))
WEEK2 = Period(date(2026, 3, 9), date(2026, 3, 15), ZoneInfo("UTC"))


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def backdate(db: Database, number: int, created: datetime,
             changes: list[datetime]) -> None:
    """Put a ticket's filing and status changes (oldest first) at the given times."""
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        ticket.created_at = created
        rows = list(session.scalars(select(TicketStatusChange).where(
            TicketStatusChange.ticket_id == ticket.id).order_by(TicketStatusChange.id)))
        assert len(rows) == len(changes) + 1
        rows[0].created_at = created
        for row, when in zip(rows[1:], changes, strict=True):
            row.created_at = when
            if row.to_status == "resolved":
                ticket.resolved_at = when


def test_history_makes_the_backlog_and_reopened_exact(database: Database) -> None:
    tickets = SqlTicketBackend(database)
    # A: filed Mon 2nd, resolved Wed 4th, reopened Tue 10th (no reopen event: a backend
    # change), still open. B: filed 3rd, open throughout. C: filed 5th, resolved 6th.
    a = tickets.create(email="a@example.com", summary="A", channel="webchat")
    b = tickets.create(email="b@example.com", summary="B", channel="webchat")
    c = tickets.create(email="c@example.com", summary="C", channel="email")
    tickets.update(a.number, status="resolved")
    tickets.update(a.number, status="open")
    tickets.update(c.number, status="resolved")
    backdate(database, a.number, at(2), [at(4), at(10)])
    backdate(database, b.number, at(3), [])
    backdate(database, c.number, at(5), [at(6)])
    with database.session() as session:  # the reopen cleared A's resolved_at
        session.execute(update(Ticket).where(Ticket.id == a.id).values(resolved_at=None))

    metrics = Metrics(database)
    week1, week2 = metrics.tickets(WEEK1), metrics.tickets(WEEK2)
    # Open at the end of week 1: B only (A was resolved then). resolved_at alone says A, B.
    assert (week1.backlog_start, week1.backlog_end) == (0, 1)
    assert week1.backlog_by_day(WEEK1)[date(2026, 3, 8)] == 1
    assert (week2.backlog_start, week2.backlog_end) == (1, 2)
    assert list(week2.backlog_by_day(WEEK2).values()) == [1, 2, 2, 2, 2, 2, 2]
    assert list(week1.backlog_by_day(WEEK1).values()) == [1, 2, 1, 2, 1, 1, 1]
    assert (week1.reopened, week2.reopened) == (0, 1)
    drill = DrillDown(metrics, ZoneInfo("UTC"))
    assert [r[0] for r in drill.tickets(WEEK1, ALL, "backlog").rows] == [b.number]
    assert sorted(r[0] for r in drill.tickets(WEEK2, ALL, "backlog").rows) == \
        sorted([a.number, b.number])
    assert [r[0] for r in drill.tickets(WEEK2, ALL, "reopened").rows] == [a.number]
    assert drill.tickets(WEEK1, ALL, "reopened").rows == []


def test_every_status_change_is_recorded(database: Database) -> None:
    tickets = SqlTicketBackend(database)
    ticket = tickets.create(email="", summary="Printer on fire")
    tickets.update(ticket.number, status="pending", author="rep-1")
    tickets.update(ticket.number, status="pending")  # no change: nothing recorded
    tickets.update(ticket.number, status="resolved", author="rep-2")
    with database.session() as session:
        rows = session.execute(select(TicketStatusChange.from_status,
                                      TicketStatusChange.to_status, TicketStatusChange.author)
                               .where(TicketStatusChange.ticket_id == ticket.id)
                               .order_by(TicketStatusChange.id)).all()
    assert [tuple(r) for r in rows] == [(None, "open", ""), ("open", "pending", "rep-1"),
                                        ("pending", "resolved", "rep-2")]
