"""👍 *Helpful* / 👎 *Not helpful* on a suggestion.

Both store a rating at once (rep, query, article). 👍 thanks the rep; 👎 opens the reason modal
(its ``private_metadata`` carries the rating id, the channel and the click's ``response_url``)
and ``views.ratings`` adds the reason when it is submitted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import blocks, ids
from integrations.slack.assist import Assist, assist_for
from integrations.slack.calls import reason

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)
NOT_SAVED = "I couldn't save your rating just now. Please try again in a minute."


def clicked(body: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """(user id, channel id, the button's decoded value) of a block_actions click."""
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id")
    return body["user"]["id"], channel, blocks.decode_value(action.get("value") or "")


async def record(assist: Assist, body: dict[str, Any], helpful: bool) -> tuple[
        int | None, dict[str, Any]]:
    """Store the rating; (its id, the button value), the id None when it could not be saved
    (the rep has been told)."""
    user, channel, value = clicked(body)
    try:
        rating = await asyncio.to_thread(lambda: assist.services.ratings.record(
            rep=user, query=str(value.get("query", "")),
            article_id=str(value.get("article_id", "")), helpful=helpful))
    except Exception as exc:
        logger.error("slack rating not saved (%s)", type(exc).__name__)
        await assist.ephemeral(blocks.error_message(NOT_SAVED), channel=channel, user=user,
                               response_url=body.get("response_url"))
        return None, value
    return rating.id, value


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def helpful(body: dict[str, Any]) -> None:
        rating_id, _ = await record(assist, body, True)
        if rating_id is not None:
            user, channel, _ = clicked(body)
            await assist.ephemeral(blocks.rating_thanks(True), channel=channel, user=user,
                                   response_url=body.get("response_url"))

    async def not_helpful(body: dict[str, Any], client: AsyncWebClient) -> None:
        rating_id, value = await record(assist, body, False)
        if rating_id is None:
            return
        user, channel, _ = clicked(body)
        article_id = str(value.get("article_id", ""))
        view = blocks.rating_reason_modal(
            article_id, str(value.get("query", "")), title=await title_of(assist, article_id),
            extra={"rating": rating_id, "channel": channel,
                   "response_url": body.get("response_url")})
        try:
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:  # an expired trigger: the 👎 is kept, without a reason
            logger.warning("could not open the rating reason modal (%s)", reason(exc))
            await assist.ephemeral(blocks.rating_thanks(False), channel=channel, user=user,
                                   response_url=body.get("response_url"))

    app.action(ids.RATE_HELPFUL)(ack=acknowledge, lazy=[helpful])
    app.action(ids.RATE_NOT_HELPFUL)(ack=acknowledge, lazy=[not_helpful])


async def title_of(assist: Assist, article_id: str) -> str | None:
    """The article's title for the modal, or None (the modal says "this suggestion")."""
    try:
        hit = await asyncio.to_thread(assist.services.knowledge.article, article_id,
                                      "internal")
    except Exception:
        return None
    return hit.title
