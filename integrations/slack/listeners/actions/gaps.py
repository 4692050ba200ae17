"""*Flag a KB gap* (offered when the bot abstained): a ``gap_flag`` event for the KB team's
gap report, with the query, channel "slack" and the conversation's audience. A second click
on the same question in the same conversation is confirmed but not counted twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from frontline.errors import FrontlineError
from frontline.redaction import mask
from integrations.slack import blocks, ids
from integrations.slack.assist import assist_for
from integrations.slack.listeners.actions.ratings import clicked

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)
NOT_SAVED = "I couldn't flag that just now. Please try again in a minute."


def session_of(body: dict[str, Any], channel: str | None, user: str) -> str:
    """The conversation the flagged answer belongs to (as the answer recorded it)."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    if container.get("is_ephemeral") or not message:
        return f"slack:{channel}:ask-{user}"  # /ask answers are ephemeral
    thread = container.get("thread_ts") or message.get("thread_ts")
    if thread:
        return f"slack:{channel}:{thread}"
    return f"slack:{channel}:dm" if (channel or "").startswith("D") else \
        f"slack:{channel}:{message.get('ts')}"


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)
    services = slack.services

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def flag(body: dict[str, Any]) -> None:
        user, channel, value = clicked(body)
        query = str(value.get("query", ""))
        session = session_of(body, channel, user)
        audience = await assist.audience.of(channel or "", user=user)

        def store() -> None:
            if any(e.query == mask(query) for e in services.events.for_session(session,
                                                                               "gap_flag")):
                return  # already flagged here
            ticket_id = None
            if value.get("ticket") is not None:  # flagged in a handoff's thread
                with contextlib.suppress(FrontlineError, ValueError):
                    ticket_id = services.tickets.get(int(value["ticket"])).id
            services.events.record("gap_flag", session_id=session, channel="slack",
                                   audience=audience, query=query, ticket_id=ticket_id)

        try:
            await asyncio.to_thread(store)
        except Exception as exc:
            logger.error("slack gap flag not saved (%s)", type(exc).__name__)
            message = blocks.error_message(NOT_SAVED)
        else:
            message = blocks.gap_flagged_message(query)
        await assist.ephemeral(message, channel=channel, user=user,
                               response_url=body.get("response_url"))

    app.action(ids.FLAG_GAP)(ack=acknowledge, lazy=[flag])
