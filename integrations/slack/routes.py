"""``POST /slack/events``: the one URL for events, commands, interactivity and views."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from frontline.errors import SlackDisabled

router = APIRouter(tags=["slack"])


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    """Verified by Bolt with the signing secret (401 for an unsigned or stale request)."""
    slack = getattr(request.app.state, "slack", None)
    if slack is None:
        raise SlackDisabled("the Slack app is not configured: set FRONTLINE_SLACK_BOT_TOKEN "
                            "and FRONTLINE_SLACK_SIGNING_SECRET")
    if slack.state.status == "invalid_token":
        return JSONResponse({"error": "slack_unavailable",
                             "detail": "Slack rejected the bot token; fix "
                             "FRONTLINE_SLACK_BOT_TOKEN"}, status_code=503)
    return await slack.handler.handle(request)
