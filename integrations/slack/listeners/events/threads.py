"""A rep's reply in a ticket's thread reaches the customer: the live handoff, Slack side.

Matches only ``message`` events in the tickets channel whose ``thread_ts`` is a ticket's Slack
message (``SlackThread``); every other message (a DM to the app, a thread elsewhere) is left to
the other listeners — Bolt runs the first listener that matches. What is relayed: a person's
message (no ``bot_id``; no subtype, or ``thread_broadcast`` for "also send to channel") that is
not addressed to the app (an @mention there is a question for the app, answered by the mention
listener). It reaches the customer through ``Handoff.reply`` only while the handoff is live;
after it ended the rep is told, privately, that the customer did not get it. Slack's mrkdwn is
turned into the widget's Markdown subset, and a message Slack delivers twice is relayed once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from frontline.errors import FrontlineError
from integrations.slack import blocks
from integrations.slack.mirror.tickets import TYPED_IN_SLACK
from integrations.slack.threads import RepNames, first_time, ticket_for_thread

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

HUMAN_SUBTYPES = (None, "thread_broadcast")
ENDED = ("Not sent: the live conversation on ticket #{number} has ended, so the customer "
         "did not get this reply. They can ask for a person again in the chat.")
ONLY_TEXT = "Not sent: only text reaches the customer (files and attachments stay in Slack)."
FAILED = "I couldn't send this to the customer just now ({detail}). Please try again."

_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)(?:\|([^>]*))?>")
_USER = re.compile(r"<@[UW][A-Z0-9]+(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<![^>]*>")


def customer_text(mrkdwn: str) -> str:
    """A Slack message's text as the customer's widget shows it: links as ``[label](url)``,
    mentions and channel links as plain names, ``<!here>`` and the like dropped, entities
    unescaped."""
    text = _LINK.sub(lambda m: f"[{m.group(2)}]({m.group(1)})" if m.group(2)
                     else m.group(1), mrkdwn)
    text = _USER.sub(lambda m: f"@{m.group(1)}" if m.group(1) else "", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else "", text)
    text = _SPECIAL.sub("", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    services = slack.services
    names = RepNames()

    async def in_ticket_thread(event: dict[str, Any]) -> bool:
        channel = str(event.get("channel") or "")
        thread_ts = event.get("thread_ts")
        tickets = services.settings.slack_tickets_channel.strip()
        if not tickets or channel != tickets or not thread_ts or thread_ts == event.get("ts"):
            return False
        number = await asyncio.to_thread(ticket_for_thread, services.db, channel,
                                         str(thread_ts))
        return number is not None

    async def relay(event: dict[str, Any], context: dict[str, Any],
                    client: AsyncWebClient) -> None:
        if event.get("bot_id") or event.get("subtype") not in HUMAN_SUBTYPES:
            return  # our own posts, edits, joins…
        user = str(event.get("user") or "")
        text = str(event.get("text") or "")
        bot_user = context.get("bot_user_id") or slack.state.auth.get("user_id")
        if not user or (bot_user and f"<@{bot_user}>" in text):
            return  # a question for the app: the mention listener answers it
        channel, ts, thread_ts = str(event["channel"]), str(event.get("ts")), \
            str(event["thread_ts"])
        if not await asyncio.to_thread(first_time, services.db, f"msg:{channel}:{ts}"):
            return  # delivered again
        number = await asyncio.to_thread(ticket_for_thread, services.db, channel, thread_ts)
        if number is None:
            return

        async def tell(note: str) -> None:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                                **blocks.error_message(note))
            except Exception as exc:
                logger.warning("could not tell a rep their reply was not sent (%s)",
                               type(exc).__name__)

        try:
            ticket = await asyncio.to_thread(services.tickets.get, number)
            live = await asyncio.to_thread(services.handoff.active, ticket)
        except FrontlineError as exc:
            await tell(FAILED.format(detail=exc.detail))
            return
        if not live:
            if ticket.handoff:
                await tell(ENDED.format(number=number))
            return  # a thread on an ordinary ticket: reps talking among themselves
        said = customer_text(text)
        if not said:
            await tell(ONLY_TEXT)
            return
        author = await names.name(client, user, event.get("user_profile"))
        try:
            await asyncio.to_thread(lambda: services.handoff.reply(
                number, said, author=author, source=TYPED_IN_SLACK))
        except FrontlineError as exc:
            logger.warning("a rep's reply on ticket #%d was not delivered: %s", number,
                           exc.code)
            await tell(FAILED.format(detail=exc.detail))

    app.event("message", matchers=[in_ticket_thread])(relay)
