"""The live handoff's buttons: *End conversation* and *Send to customer*.

*End conversation* (on the ticket's message) gives the chat back to the assistant through
``Handoff.end``: the customer is told, the thread gets a note and the message loses the button
(through the ticket mirror).

*Send to customer* (on a public suggestion shown in a handoff thread) posts the article's
passage and link to the customer as a rep reply. Internal articles never leave the workspace:
the builder never offers the button for one, and this listener re-reads the article **as the
public would see it** (``KnowledgeBase.article(id, "public")`` raises ``ArticleNotFound`` for an
internal one), so a forged or stale button cannot send it either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from frontline.errors import ArticleNotFound, FrontlineError
from frontline.knowledge.links import article_link
from integrations.slack import blocks, ids
from integrations.slack.listeners.actions.tickets import UNEXPECTED, ack_now, clicked, failure, tell
from integrations.slack.mirror.tickets import SENT_FROM_SUGGESTIONS
from integrations.slack.threads import RepNames

if TYPE_CHECKING:
    from frontline.knowledge import ScoredHit
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

PASSAGE_CHARS = 1200  # of the article's section, in the customer's chat
ALREADY_ENDED = "The live conversation on ticket #{number} had already ended."
NOT_LIVE = ("Not sent: ticket #{number} has no live conversation any more, so the customer "
            "would not see it.")
INTERNAL = ("Not sent: that article is internal (or no longer published), and internal "
            "articles are never sent to customers.")
SENT = "📨 Sent “{title}” to the customer on ticket #{number}."


def customer_article(hit: ScoredHit, public_url: str) -> str:
    """The article as the customer reads it in the chat (the widget's Markdown subset)."""
    title = " ".join(hit.title.split())
    heading = " ".join((hit.heading or "").split())
    head = f"**{title}**" + (f" — {heading}" if heading and heading != title else "")
    passage = blocks.truncate((hit.passage or hit.snippet).strip(), PASSAGE_CHARS)
    url = article_link(hit, public_url, section=hit.heading)  # at the quoted section
    parts = [head, passage, f"[Read the whole article: {title}]({url})" if url else ""]
    return "\n\n".join(part for part in parts if part)


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    services = slack.services
    names = RepNames()

    async def end(body: dict[str, Any], client: AsyncWebClient) -> None:
        user, value, channel, thread_ts = clicked(body)
        number = _number(value)
        if number is None:
            await tell(client, channel, user, "That button is broken: it names no ticket.")
            return
        try:
            ended = await asyncio.to_thread(lambda: services.handoff.end(number, by=user))
        except FrontlineError as exc:
            await tell(client, channel, user,
                       failure(f"end the conversation on ticket #{number}", exc), thread_ts)
            return
        except Exception:
            logger.exception("End conversation failed")
            await tell(client, channel, user, UNEXPECTED.format(
                action=f"end the conversation on ticket #{number}"), thread_ts)
            return
        if not ended:
            await tell(client, channel, user, ALREADY_ENDED.format(number=number), thread_ts,
                       error=False)

    async def send(body: dict[str, Any], client: AsyncWebClient) -> None:
        user, value, channel, thread_ts = clicked(body)
        number = _number(value)
        article_id = str(value.get("article_id") or "")
        if number is None or not article_id:
            await tell(client, channel, user, "That button is broken: it names no article.",
                       thread_ts)
            return
        what = f"send that article on ticket #{number}"
        try:
            ticket = await asyncio.to_thread(services.tickets.get, number)
            if not await asyncio.to_thread(services.handoff.active, ticket):
                await tell(client, channel, user, NOT_LIVE.format(number=number), thread_ts)
                return
            try:
                hit = await asyncio.to_thread(services.knowledge.article, article_id, "public",
                                              str(value.get("heading") or ""))
            except ArticleNotFound:
                await tell(client, channel, user, INTERNAL, thread_ts)
                return
            author = await names.name(client, user)
            text = customer_article(hit, services.settings.public_url)
            await asyncio.to_thread(lambda: services.handoff.reply(
                number, text, author=author, source=SENT_FROM_SUGGESTIONS))
        except FrontlineError as exc:
            await tell(client, channel, user, failure(what, exc), thread_ts)
            return
        except Exception:
            logger.exception("Send to customer failed")
            await tell(client, channel, user, UNEXPECTED.format(action=what), thread_ts)
            return
        await tell(client, channel, user, SENT.format(title=hit.title, number=number),
                   thread_ts, error=False)

    app.action(ids.HANDOFF_END)(ack=ack_now, lazy=[end])
    app.action(ids.SEND_TO_CUSTOMER)(ack=ack_now, lazy=[send])


def _number(value: dict[str, Any]) -> int | None:
    try:
        return int(value["ticket"])
    except (KeyError, TypeError, ValueError):
        return None
