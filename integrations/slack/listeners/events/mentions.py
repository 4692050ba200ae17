"""An @mention of the app in a channel: suggested articles, posted in the thread.

The thread is the conversation: a follow-up in it ("and on mobile?") is read with the thread's
earlier question. In a live handoff's thread the public suggestions carry *Send to customer*.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from integrations.slack.assist import Question, assist_for, plain_text

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)


def thread_session(channel: str, thread_ts: str) -> str:
    return f"slack:{channel}:{thread_ts}"


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def answer(event: dict[str, Any], body: dict[str, Any]) -> None:
        user = event.get("user")
        if not user or event.get("bot_id"):
            return
        channel = event["channel"]
        thread_ts = event.get("thread_ts") or event["ts"]
        handoff = await asyncio.to_thread(assist.handoff_ticket, channel,
                                          event.get("thread_ts"))
        await assist.answer(Question(
            text=plain_text(event.get("text") or ""), channel=channel, user=user,
            session_id=thread_session(channel, thread_ts), window_s=None,
            channel_type=event.get("channel_type"),
            ext_shared=bool(body.get("is_ext_shared_channel")), handoff_ticket=handoff),
            thread_ts=thread_ts, where="a mention")

    app.event("app_mention")(ack=acknowledge, lazy=[answer])
