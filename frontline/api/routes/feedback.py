"""Feedback from the front line, for the people who act on it (Bearer admin token).

* ``GET /api/feedback``, ``PATCH /api/feedback/{id}``: service-ops list, triage (new → planned
  → done / won't do) and answer reps' process feedback; every change DMs the rep in Slack.
* ``GET /api/kb/feedback``: reps' 👍/👎 ratings of suggested articles, for KB editors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from frontline.api.deps import AdminDep, Offset, RowNumber, ServicesDep
from frontline.db import ProcessFeedback, Rating
from frontline.feedback.process import TEXT_MAX
from frontline.services import Services

router = APIRouter(tags=["feedback"])

Status = Literal["new", "planned", "done", "wont_do"]
Area = Literal["process", "tooling", "knowledge_base", "policy", "other"]
Impact = Literal["low", "medium", "high"]


class FeedbackOut(BaseModel):
    id: int
    rep: str  # the Slack user id of the rep who sent it
    rep_name: str
    area: str
    what_happened: str
    what_would_help: str
    impact: str
    ticket_number: int | None
    status: str
    reply: str
    created_at: datetime
    updated_at: datetime


class FeedbackList(BaseModel):
    total: int
    items: list[FeedbackOut]


class FeedbackUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status | None = None
    reply: str | None = Field(None, max_length=TEXT_MAX,
                              description="Ops' answer, sent to the rep in Slack.")


class RatingOut(BaseModel):
    id: int
    rep: str
    channel: str
    query: str
    article_id: str
    helpful: bool
    reason: str | None
    comment: str
    created_at: datetime


class RatingList(BaseModel):
    total: int
    ratings: list[RatingOut]


def _out(services: Services, item: ProcessFeedback) -> FeedbackOut:
    number = None
    if item.ticket_id is not None:
        ticket = services.tickets.by_id(item.ticket_id)
        number = ticket.number if ticket is not None else None
    return FeedbackOut(
        id=item.id, rep=item.rep, rep_name=item.rep_name, area=item.area,
        what_happened=item.what_happened, what_would_help=item.what_would_help,
        impact=item.impact, ticket_number=number, status=item.status, reply=item.reply,
        created_at=item.created_at, updated_at=item.updated_at)


@router.get("/api/feedback", response_model=FeedbackList)
def list_feedback(
    services: ServicesDep, _: AdminDep,
    status: Status | None = None,
    area: Area | None = None,
    impact: Impact | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> FeedbackList:
    """Process feedback, newest first, with the total matching the filters."""
    rows, total = services.feedback.find(status=status, area=area, impact=impact, limit=limit,
                                         offset=offset)
    return FeedbackList(total=total, items=[_out(services, row) for row in rows])


@router.get("/api/feedback/{item_id}", response_model=FeedbackOut)
def get_feedback(item_id: RowNumber, services: ServicesDep, _: AdminDep) -> FeedbackOut:
    return _out(services, services.feedback.get(item_id))


@router.patch("/api/feedback/{item_id}", response_model=FeedbackOut)
def update_feedback(item_id: RowNumber, body: FeedbackUpdate, services: ServicesDep,
                    _: AdminDep) -> FeedbackOut:
    """Move an item along the workflow and/or answer it; the rep gets a Slack DM. A move the
    workflow does not allow is 422 naming the allowed ones; an unknown id is 404."""
    item = services.feedback.update(item_id, status=body.status, reply=body.reply)
    return _out(services, item)


def _rating(row: Rating) -> RatingOut:
    return RatingOut(id=row.id, rep=row.rep, channel=row.channel, query=row.query,
                     article_id=row.article_id, helpful=row.helpful, reason=row.reason,
                     comment=row.comment, created_at=row.created_at)


@router.get("/api/kb/feedback", response_model=RatingList)
def list_ratings(
    services: ServicesDep, _: AdminDep,
    article_id: Annotated[str | None, Query(max_length=200)] = None,
    helpful: bool | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> RatingList:
    """Reps' ratings of suggested articles, newest first (``since``: ISO 8601 time)."""
    if since is not None:  # a time without an offset is UTC, like every stored time
        since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    rows, total = services.ratings.find(article_id=article_id, helpful=helpful, since=since,
                                        limit=limit, offset=offset)
    return RatingList(total=total, ratings=[_rating(row) for row in rows])
