from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from frontline.api.deps import KnowledgeDep
from frontline.errors import IndexNotReady

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str  # "ok", or "unavailable" when no index can be served
    index_version: str | None
    articles: int
    chunks: int


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz(knowledge: KnowledgeDep) -> Health | JSONResponse:
    """Liveness and readiness: 200 when an index version is being served, else 503."""
    try:
        status = knowledge.status()
    except IndexNotReady:
        body = Health(status="unavailable", index_version=None, articles=0, chunks=0)
        return JSONResponse(body.model_dump(), status_code=503)
    return Health(status="ok", **status)
