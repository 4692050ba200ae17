"""``/feedback [what happened]``: opens the process-feedback modal (pre-filled with the text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import ids
from integrations.slack.assist import assist_for, plain_text
from integrations.slack.listeners.views.feedback import open_feedback_modal

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def open_modal(body: dict[str, Any], client: AsyncWebClient) -> None:
        await open_feedback_modal(assist, client, body,
                                  prefill=plain_text(body.get("text") or ""),
                                  channel=body.get("channel_id"))

    app.command(ids.FEEDBACK_COMMAND)(ack=acknowledge, lazy=[open_modal])
