"""Demo data: the records ``frontline simulate`` made through the real assistant are marked
simulated and moved back in time, so a new dashboard shows weeks of history.

Each simulated conversation ran seconds ago; ``backdate`` moves its records (events,
messages, tickets, chat sessions) with a monotone time warp: the conversation keeps its
duration and starts at the planned instant; a ticket's first rep reply and resolution land at
the planned delays after the ticket was opened; what came after the resolution (the rating
asked and given) keeps its distance from it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from frontline.db import ChatSession, Database, Event, Message, Ticket


@dataclass
class TicketPlan:
    first_reply_hours: float | None
    resolution_hours: float | None


@dataclass
class SessionPlan:
    session_id: str
    start: datetime  # when the conversation should have started (UTC)
    tickets: dict[int, TicketPlan] = field(default_factory=dict)  # ticket number -> plan


@dataclass
class Marked:
    sessions: int = 0
    events: int = 0
    messages: int = 0
    tickets: int = 0


class Warp:
    """A piecewise-linear, increasing map of instants through anchor pairs (old → new);
    outside the anchors it shifts by the nearest anchor's offset."""

    def __init__(self, anchors: list[tuple[datetime, datetime]]) -> None:
        anchors = sorted(anchors)
        kept: list[tuple[datetime, datetime]] = []
        for old, new in anchors:  # keep it increasing: drop an anchor that would go back
            if kept and (old <= kept[-1][0] or new <= kept[-1][1]):
                continue
            kept.append((old, new))
        self.old = [a for a, _ in kept]
        self.new = [b for _, b in kept]

    def __call__(self, instant: datetime | None) -> datetime | None:
        if instant is None or not self.old:
            return instant
        instant = _utc(instant)
        i = bisect.bisect_right(self.old, instant)
        if i == 0:
            return instant + (self.new[0] - self.old[0])
        if i == len(self.old):
            return instant + (self.new[-1] - self.old[-1])
        o0, o1, n0, n1 = self.old[i - 1], self.old[i], self.new[i - 1], self.new[i]
        share = (instant - o0) / (o1 - o0)
        return n0 + (n1 - n0) * share


def backdate(db: Database, plans: list[SessionPlan],
             now: datetime | None = None) -> Marked:
    """Mark every record of the planned sessions simulated and move it in time."""
    now = now or datetime.now(UTC)
    out = Marked()
    for plan in plans:
        with db.session() as session:
            events = list(session.scalars(select(Event).where(
                Event.session_id == plan.session_id)))
            messages = list(session.scalars(select(Message).where(
                Message.session_id == plan.session_id)))
            tickets = list(session.scalars(select(Ticket).where(
                Ticket.session_id == plan.session_id)))
            chat = session.get(ChatSession, plan.session_id)
            times = ([_utc(e.created_at) for e in events] + [_utc(m.created_at) for m in messages]
                     + [_utc(t.created_at) for t in tickets])
            if not times:
                continue
            first = min(times)
            anchors = [(first, _utc(plan.start))]
            for ticket in tickets:
                ticket_plan = plan.tickets.get(ticket.number or 0)
                created = _utc(ticket.created_at)
                new_created = _utc(plan.start) + (created - first)
                anchors.append((created, new_created))
                if ticket_plan is None:
                    continue
                replies = sorted(_utc(m.created_at) for m in messages
                                 if m.sender == "rep" and m.ticket_id == ticket.id)
                latest = now - timedelta(minutes=5)
                if replies and ticket_plan.first_reply_hours is not None:
                    at = min(new_created + timedelta(hours=ticket_plan.first_reply_hours),
                             latest)
                    anchors.append((replies[0], at))
                if ticket.resolved_at is not None and ticket_plan.resolution_hours is not None:
                    at = min(new_created + timedelta(hours=ticket_plan.resolution_hours),
                             latest + timedelta(minutes=1))
                    anchors.append((_utc(ticket.resolved_at), at))
            warp = Warp(anchors)
            for event in events:
                event.created_at = warp(event.created_at)  # type: ignore[assignment]
                event.simulated = True
            for message in messages:
                message.created_at = warp(message.created_at)  # type: ignore[assignment]
                message.simulated = True
            for ticket in tickets:
                ticket.created_at = warp(ticket.created_at)  # type: ignore[assignment]
                ticket.updated_at = warp(ticket.updated_at)  # type: ignore[assignment]
                ticket.resolved_at = warp(ticket.resolved_at)
                ticket.simulated = True
            if chat is not None:
                chat.created_at = warp(chat.created_at)  # type: ignore[assignment]
                chat.updated_at = warp(chat.updated_at)  # type: ignore[assignment]
                chat.simulated = True
            out.sessions += 1
            out.events += len(events)
            out.messages += len(messages)
            out.tickets += len(tickets)
    return out


def mark_rows(db: Database, model: type, ids: list[int]) -> None:
    """Mark rows made for the demo directly (reps' ratings, process feedback)."""
    if ids:
        with db.session() as session:
            session.execute(update(model).where(model.id.in_(ids)).values(simulated=True))  # type: ignore[attr-defined]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
