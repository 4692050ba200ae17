"""The *Process feedback* global shortcut, and *Send as process feedback* on any message (the
message's text pre-fills "What happened?")."""

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

    async def open_blank(body: dict[str, Any], client: AsyncWebClient) -> None:
        await open_feedback_modal(assist, client, body)

    async def open_from_message(body: dict[str, Any], client: AsyncWebClient) -> None:
        text = plain_text((body.get("message") or {}).get("text") or "")
        await open_feedback_modal(assist, client, body, prefill=text,
                                  channel=(body.get("channel") or {}).get("id"))

    app.global_shortcut(ids.FEEDBACK_SHORTCUT)(ack=acknowledge, lazy=[open_blank])
    app.message_shortcut(ids.FEEDBACK_MESSAGE_SHORTCUT)(ack=acknowledge,
                                                       lazy=[open_from_message])
