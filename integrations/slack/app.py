"""The Slack app: a Bolt ``AsyncApp`` over Frontline's services, mounted at ``/slack/events``.

``SlackIntegration.build(services)`` returns None when Slack is not configured (no bot token),
and the service runs as before: ``/slack/events`` answers 404 ``slack_disabled``. Listeners live
in ``listeners/<kind>/`` and each kind registers itself; they ``ack()`` first and do the work in
lazy listeners, so Slack never waits more than 3 s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from frontline.services import Services
from integrations.slack import listeners
from integrations.slack.mirror.feedback import FeedbackMirror
from integrations.slack.mirror.tickets import TicketMirror
from integrations.slack.outbox import Outbox

logger = logging.getLogger(__name__)


@dataclass
class SlackState:
    """What the startup check found: ``ok``, ``invalid_token`` or ``unreachable``."""

    status: str = "unverified"
    detail: str = ""
    auth: dict[str, Any] = field(default_factory=dict)


class SlackIntegration:
    def __init__(self, services: Services, client: AsyncWebClient) -> None:
        settings = services.settings
        self.services = services
        self.client = client
        self.state = SlackState()
        self.outbox = Outbox(services.db, client)

        async def authorize(**_: Any) -> AuthorizeResult:
            # A plain function: Bolt passes the arguments a callable names, and a bound
            # method's signature names ``self``.
            return await self._authorize()

        self.app = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret.get_secret_value() or "socket-mode",
            authorize=authorize,
            request_verification_enabled=bool(settings.slack_signing_secret.get_secret_value()),
            process_before_response=False,
            logger=logging.getLogger("integrations.slack.bolt"),
        )
        listeners.register(self.app, self)
        self.handler = AsyncSlackRequestHandler(self.app)
        self.socket_mode: Any = None
        services.notifier.subscribe(TicketMirror(self))
        services.notifier.subscribe(FeedbackMirror(self))

    @classmethod
    def build(cls, services: Services,
              client: AsyncWebClient | None = None) -> SlackIntegration | None:
        settings = services.settings
        if not settings.slack_enabled:
            return None
        client = client or AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            # The listeners' own calls retry a 429 once, after Retry-After (Slack did not act
            # on it), but never re-send after a dropped connection as the SDK's default
            # handler does (Slack may have posted already: a duplicate). The retry queue sends
            # with no SDK retries at all; it retries itself, in order (outbox.py).
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        return cls(services, client)

    async def _authorize(self) -> AuthorizeResult:
        if self.state.status != "ok":
            await self.check()
        auth = self.state.auth
        return AuthorizeResult(
            enterprise_id=auth.get("enterprise_id"), team_id=auth.get("team_id"),
            bot_token=self.services.settings.slack_bot_token.get_secret_value(),
            bot_id=auth.get("bot_id"), bot_user_id=auth.get("user_id"),
        )

    async def check(self) -> SlackState:
        """``auth.test`` once: says clearly, once, when the token is wrong."""
        try:
            response = await self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
            if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked",
                         "token_expired"):
                if self.state.status != "invalid_token":
                    logger.error("Slack rejected FRONTLINE_SLACK_BOT_TOKEN (%s): the Slack app "
                                 "is off until the token is fixed", error)
                self.state = SlackState("invalid_token", error)
            else:
                if self.state.status != "unreachable":
                    logger.warning("Slack's auth.test failed (HTTP %s %s); will retry",
                                   exc.response.status_code, error)
                self.state = SlackState("unreachable", error or f"HTTP {exc.response.status_code}")
            return self.state
        except Exception as exc:
            if self.state.status != "unreachable":
                logger.warning("cannot reach Slack (%s: %s); will retry", type(exc).__name__, exc)
            self.state = SlackState("unreachable", type(exc).__name__)
            return self.state
        self.state = SlackState("ok", "", dict(response.data))  # type: ignore[arg-type]
        logger.info("Slack app connected as %s in %s", response.get("user"),
                    response.get("team"))
        return self.state

    async def start(self) -> None:
        await self.check()
        self.outbox.start()
        app_token = self.services.settings.slack_app_token.get_secret_value()
        if app_token and self.state.status != "invalid_token":
            # Socket Mode: Slack delivers over a websocket this process opens (no public URL).
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self.socket_mode = AsyncSocketModeHandler(self.app, app_token)
            try:
                await self.socket_mode.connect_async()
                logger.info("Slack Socket Mode connected")
            except Exception as exc:
                logger.error("cannot open Slack Socket Mode (%s: %s): check "
                             "FRONTLINE_SLACK_APP_TOKEN", type(exc).__name__, exc)
                self.socket_mode = None

    async def stop(self) -> None:
        if self.socket_mode is not None:
            await self.socket_mode.close_async()
        await self.outbox.stop()
