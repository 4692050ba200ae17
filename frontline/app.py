"""The FastAPI application: ``create_app(settings)`` assembles, nothing more."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.actions import ACTIONS
from bot.actions import services as actions
from bot.actions.services import Services
from frontline import __version__
from frontline.api.routes import actions as actions_route
from frontline.api.routes import health, kb, search, tickets
from frontline.db import Database
from frontline.errors import FrontlineError
from frontline.knowledge import KnowledgeBase
from frontline.settings import Settings
from integrations.webchat import routes as webchat
from integrations.webchat.limits import SessionRateLimit
from integrations.webchat.proxy import ChatProxy, RasaClient

logger = logging.getLogger(__name__)


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one place errors become HTTP: ``{"error": code, "detail": text}``."""
    if isinstance(exc, FrontlineError):
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry else None
        return JSONResponse(error_body(exc.code, exc.detail), status_code=exc.status,
                            headers=headers)
    if isinstance(exc, RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", problems), status_code=422)
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def create_app(
    settings: Settings,
    *,
    knowledge: KnowledgeBase | None = None,
    database: Database | None = None,
) -> FastAPI:
    """Assemble the service: knowledge base, database, actions, chat proxy, routers."""
    knowledge = knowledge or KnowledgeBase(settings)
    database = database or Database(settings.database_url)
    services = Services.build(settings, knowledge=knowledge, db=database)
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    rasa = RasaClient(settings.rasa_url, settings.rasa_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(database.migrate)
        actions.configure(services)  # for actions constructed without arguments
        await run_in_threadpool(knowledge.warm)
        yield
        await rasa.close()
        actions.configure(None)

    app = FastAPI(
        title="Frontline",
        version=__version__,
        description="Self-service and agent-assist bot for customer-support teams.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.knowledge = knowledge
    app.state.services = services
    app.state.action_executor = executor
    app.state.chat_proxy = ChatProxy(rasa, services.conversations, services.tickets,
                                     services.events)
    app.state.chat_rate_limit = SessionRateLimit(settings.chat_rate_limit)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"], max_age=600,
    )
    for router in (health.router, search.router, kb.router, tickets.router,
                   actions_route.router, webchat.router):
        app.include_router(router)
    for exc_type in (FrontlineError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, handle_error)
    return app
