"""Ticket admin API (Bearer admin token): list, show, update, reply to the customer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from frontline.api.deps import AdminDep, Offset, RowNumber, ServicesDep
from frontline.db import Ticket

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


class TicketOut(BaseModel):
    number: int
    status: str
    priority: str
    email: str
    summary: str
    details: str
    handoff: bool
    handoff_active: bool = False
    session_id: str | None
    channel: str
    assignee: str | None
    tried_articles: list[str]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


class TicketDetail(TicketOut):
    transcript: list[dict[str, Any]]
    notes: list[dict[str, Any]]


class TicketList(BaseModel):
    total: int
    tickets: list[TicketOut]


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "pending", "resolved"] | None = None
    assignee: str | None = Field(None, max_length=128)
    note: str | None = Field(None, max_length=10_000, description="Internal note for reps.")


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    author: str = Field("Support team", max_length=128)


def _out(ticket: Ticket, model: type[TicketOut] = TicketOut, **extra: Any) -> Any:
    fields = {f: getattr(ticket, f) for f in TicketOut.model_fields if hasattr(ticket, f)}
    return model(**{**fields, **extra})


@router.get("", response_model=TicketList)
def list_tickets(
    services: ServicesDep, _: AdminDep,
    status: Literal["open", "pending", "resolved"] | None = None,
    handoff: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> TicketList:
    """Newest first."""
    rows, total = services.tickets.find(status=status, handoff=handoff, limit=limit,
                                        offset=offset)
    return TicketList(total=total, tickets=[_out(t) for t in rows])


@router.get("/{number}", response_model=TicketDetail)
def get_ticket(number: RowNumber, services: ServicesDep, _: AdminDep) -> TicketDetail:
    ticket = services.tickets.get(number)
    notes = [
        {"sender": m.sender, "text": m.text, "author": (m.data or {}).get("author"),
         "at": m.created_at.isoformat()}
        for m in services.tickets.notes(ticket)
    ]
    return _out(ticket, TicketDetail, transcript=ticket.transcript, notes=notes,
                handoff_active=services.handoff.active(ticket))


@router.patch("/{number}", response_model=TicketOut)
def update_ticket(number: RowNumber, body: TicketUpdate, services: ServicesDep,
                  _: AdminDep) -> TicketOut:
    """Change status or assignee, add an internal note. Resolving a handoff ticket hands the
    conversation back to the assistant."""
    ticket = services.handoff.update_ticket(number, status=body.status, assignee=body.assignee,
                                            note=body.note)
    return _out(ticket, handoff_active=services.handoff.active(ticket))


@router.post("/{number}/reply", response_model=TicketOut)
async def reply(number: RowNumber, body: Reply, services: ServicesDep, _: AdminDep) -> TicketOut:
    """A rep's reply to the customer, shown in the customer's chat (and in Slack's thread)."""
    await run_in_threadpool(lambda: services.handoff.reply(number, body.text,
                                                           author=body.author))
    ticket = await run_in_threadpool(services.tickets.get, number)
    return _out(ticket)
