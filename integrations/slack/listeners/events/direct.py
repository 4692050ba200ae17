"""A direct message to the app: suggested articles, answered in the DM.

Matches only ``message`` events with ``channel_type == "im"``, no subtype (not an edit, a join
or a bot post) and a human author — disjoint from the ticket-thread listener. A top-level DM
within 30 minutes of the previous question is read with it; a reply in a DM thread is read
with that thread's questions and answered in the thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from integrations.slack.assist import FOLLOWUP_WINDOW_S, Question, assist_for, plain_text

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)


async def is_dm_from_a_person(event: dict[str, Any]) -> bool:
    return (event.get("channel_type") == "im" and not event.get("subtype")
            and not event.get("bot_id") and bool(event.get("user")))


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def answer(event: dict[str, Any], body: dict[str, Any]) -> None:
        channel, user = event["channel"], event["user"]
        assist.dms.remember(user, channel)
        thread_ts = event.get("thread_ts")
        question = Question(
            text=plain_text(event.get("text") or ""), channel=channel, user=user,
            session_id=f"slack:{channel}:{thread_ts or 'dm'}",
            window_s=None if thread_ts else FOLLOWUP_WINDOW_S, channel_type="im",
            ext_shared=bool(body.get("is_ext_shared_channel")))
        await assist.answer(question, thread_ts=thread_ts, where="a DM")

    app.event({"type": "message", "subtype": None},
              matchers=[is_dm_from_a_person])(ack=acknowledge, lazy=[answer])
