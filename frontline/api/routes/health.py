from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from frontline.api.deps import KnowledgeDep, ServicesDep
from frontline.errors import IndexNotReady

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str  # "ok", or "unavailable" when no index can be served
    index_version: str | None
    articles: int
    chunks: int
    rasa: str  # "up" | "down"
    database: str  # "up" | "down"
    slack: str  # "off" (not configured) | "ok" | "invalid_token" | "unreachable" | "unverified"
    # "memory" (counted in this process) | "redis" | "degraded" (Redis configured but
    # unreachable: counted in this process until it answers)
    rate_limits: str


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(request: Request, knowledge: KnowledgeDep,
                  services: ServicesDep) -> Health | JSONResponse:
    """200 when an index version is served and the database answers, else 503. The assistant
    being down does not fail the check: the service then answers customers honestly itself;
    nor does Redis (the rate limits then count in this process: ``rate_limits: degraded``)."""
    rasa = "up" if await services.chat.assistant.ping() else "down"
    database = "up" if await run_in_threadpool(services.db.ping) else "down"
    try:
        status = await run_in_threadpool(knowledge.status)
    except IndexNotReady:
        status = {"index_version": None, "articles": 0, "chunks": 0}
    ok = status["index_version"] is not None and database == "up"
    slack_app = getattr(request.app.state, "slack", None)  # the Slack surface, when mounted
    slack = "off" if slack_app is None else slack_app.state.status
    counters = getattr(request.app.state, "rate_limits", None)
    body = Health(status="ok" if ok else "unavailable", rasa=rasa, database=database,
                  slack=slack, rate_limits=await counters.check() if counters else "memory",
                  **status)
    return body if ok else JSONResponse(body.model_dump(), status_code=503)
