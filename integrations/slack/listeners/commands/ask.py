"""``/ask <question>``: suggested articles, shown to the rep only (ephemeral).

Acknowledged at once; the search runs in a lazy listener and the answer goes back through the
command's ``response_url`` (which works in any conversation, also one the app is not in),
falling back to ``chat.postEphemeral``. A follow-up ``/ask`` by the same rep in the same
channel within 30 minutes is read with the previous question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from integrations.slack import ids
from integrations.slack.assist import FOLLOWUP_WINDOW_S, Question, assist_for, plain_text

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

USAGE = "Type the customer's question after the command, e.g. `/ask refund after 14 days`."


def session_id(channel: str, user: str) -> str:
    return f"slack:{channel}:ask-{user}"


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)

    async def acknowledge(ack: AsyncAck, command: dict[str, Any]) -> None:
        if not plain_text(command.get("text") or ""):
            await ack(text=USAGE)
        else:
            await ack()

    async def answer(command: dict[str, Any]) -> None:
        text = plain_text(command.get("text") or "")
        if not text:
            return
        channel, user = command["channel_id"], command["user_id"]
        reply = await assist.suggest(Question(
            text=text, channel=channel, user=user, session_id=session_id(channel, user),
            window_s=FOLLOWUP_WINDOW_S))
        await assist.ephemeral(reply.message, channel=channel, user=user,
                               response_url=command.get("response_url"))

    app.command(ids.ASK_COMMAND)(ack=acknowledge, lazy=[answer])
