"""The one error handler: log it (never the request body or a token), and tell the rep."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp

from frontline.errors import FrontlineError

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)
SORRY = "Sorry — something went wrong on our side, and nothing was changed. Please try again."


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
        kind = body.get("type") or body.get("command") or "request"
        if isinstance(error, FrontlineError):
            logger.error("slack %s failed: %s (%s)", kind, error.detail, error.code)
        else:
            logger.error("slack %s failed: %s: %s", kind, type(error).__name__, error,
                         exc_info=error)
        if respond is not None and body.get("response_url"):
            try:
                await respond(text=SORRY, response_type="ephemeral", replace_original=False)
            except Exception:
                logger.warning("could not tell the rep about the error")
