"""The FastAPI application: ``create_app(settings)`` assembles, nothing more."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from rasa_sdk.executor import ActionExecutor
from slack_sdk.web.async_client import AsyncWebClient
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.actions import ACTIONS
from frontline import __version__
from frontline.api.errors import HANDLED, handle_error
from frontline.api.limits import BodyLimit, Counters, RateLimits, rules
from frontline.api.routes import actions as actions_route
from frontline.api.routes import dashboard, feedback, health, help, kb, search, tickets
from frontline.api.security import SecurityHeaders, check_secrets
from frontline.db import Database
from frontline.knowledge import KnowledgeBase
from frontline.services import Services
from frontline.settings import Settings
from frontline.support.chat import Assistant
from frontline.support.privacy import Privacy, retention_schedule
from integrations.slack import digest as slack_digest
from integrations.slack import routes as slack_routes
from integrations.slack.app import SlackIntegration
from integrations.webchat import routes as webchat

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    knowledge: KnowledgeBase | None = None,
    database: Database | None = None,
    assistant: Assistant | None = None,
    slack_client: AsyncWebClient | None = None,
) -> FastAPI:
    """Assemble the service: the shared services, the actions, the routers, one handler."""
    check_secrets(settings)
    services = Services.build(settings, knowledge=knowledge, db=database, assistant=assistant)
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    slack = SlackIntegration.build(services, slack_client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(services.db.migrate)
        await run_in_threadpool(services.knowledge.warm)
        if slack is not None:
            await slack.start()
        digest = None
        if slack is not None and settings.digest_cron:
            digest = asyncio.create_task(slack_digest.schedule(services, slack,
                                                               settings.digest_cron))
        retention = None
        if settings.retention_days > 0:
            retention = asyncio.create_task(retention_schedule(
                Privacy(services.db, settings), settings.retention_days))
        yield
        if retention is not None:
            retention.cancel()
        if digest is not None:
            digest.cancel()
        if slack is not None:
            await slack.stop()
        await services.chat.assistant.close()

    app = FastAPI(
        title="Frontline",
        version=__version__,
        description="Self-service and agent-assist bot for customer-support teams.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.action_executor = executor
    app.state.slack = slack
    app.state.rate_limits = Counters(settings.redis_url)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(RateLimits, counters=app.state.rate_limits, table=rules(settings))
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       overrides={"/slack/events": max(settings.max_body_bytes, 1024 * 1024)})
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"], max_age=600,
    )
    app.add_middleware(SecurityHeaders)
    # The client's address for the rate limits and logs: X-Forwarded-For only from the
    # proxies named in FRONTLINE_TRUSTED_PROXIES (none by default).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    for router in (health.router, search.router, kb.router, tickets.router, feedback.router,
                   dashboard.router, help.router, actions_route.router, webchat.router,
                   slack_routes.router):
        app.include_router(router)
    for exc_type in HANDLED:
        app.add_exception_handler(exc_type, handle_error)
    return app
