from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from frontline.api.deps import Credentials, KnowledgeDep, SettingsDep, audience_allowed

router = APIRouter(prefix="/api", tags=["search"])


class SearchHit(BaseModel):
    article_id: str
    title: str
    url: str | None
    audience: str
    heading: str
    snippet: str
    score: float  # cosine similarity of the article's best entry
    matched: str
    certainty: float  # what the answer decision compares with its thresholds


class SearchResponse(BaseModel):
    query: str
    audience: str
    hits: list[SearchHit]


@router.get("/search", response_model=SearchResponse)
def search(
    knowledge: KnowledgeDep,
    settings: SettingsDep,
    credentials: Credentials,
    q: Annotated[str, Query(min_length=1, description="What the customer or rep asked.")],
    audience: Literal["public", "internal"] = "public",
    k: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> SearchResponse:
    """Search the knowledge base. ``audience=internal`` (reps) needs the admin token."""
    audience_allowed(audience, settings, credentials)
    hits = knowledge.search(q, audience, k)
    return SearchResponse(
        query=q,
        audience=audience,
        hits=[SearchHit(**{f: getattr(h, f) for f in SearchHit.model_fields}) for h in hits],
    )
