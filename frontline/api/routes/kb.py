from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from frontline.api.deps import AdminDep, Credentials, KnowledgeDep, SettingsDep, audience_allowed

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])


class ReindexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full: bool = False
    skip_invalid: bool = False


class ReindexResponse(BaseModel):
    articles: int
    chunks: int
    reembedded: int
    removed: int
    seconds: float
    chunks_per_s: float
    embedded_chunks: int
    version: str | None
    changed: bool
    skipped: list[str]


class ArticleInfo(BaseModel):
    id: str
    title: str
    audience: str
    url: str | None
    path: str
    indexed_at: datetime


class ArticleList(BaseModel):
    articles: list[ArticleInfo]


@router.post("/reindex", response_model=ReindexResponse)
def reindex(
    knowledge: KnowledgeDep, _: AdminDep, body: ReindexRequest | None = None
) -> ReindexResponse:
    """Re-index the knowledge-base folder (incremental unless ``full``); admin token required.

    The new version is published atomically; searches keep working during the run. An invalid
    article fails the run with 422 naming file and line, unless ``skip_invalid`` is set.
    """
    body = body or ReindexRequest()
    summary = knowledge.reindex(full=body.full, skip_invalid=body.skip_invalid)
    return ReindexResponse.model_validate(summary.to_dict())


@router.get("/articles", response_model=ArticleList)
def articles(
    knowledge: KnowledgeDep,
    settings: SettingsDep,
    credentials: Credentials,
    audience: Literal["public", "internal"] = "public",
) -> ArticleList:
    """Indexed articles with audience and last indexed time. ``internal`` lists every article
    (public and internal) and needs the admin token."""
    audience_allowed(audience, settings, credentials)
    return ArticleList(articles=[ArticleInfo(**row) for row in knowledge.articles(audience)])
