"""The buttons on a ticket's message: *Assign to me*, *Resolve*, *Reopen*.

Each acks at once, then changes the ticket through ``Handoff.update_ticket`` (the same call the
tickets API makes). The message is not redrawn here: the change is announced to the ticket
mirror, which ``chat.update``-s the message through the retry queue — so a change made in Slack
and one made through the API look the same. Resolving a live handoff also ends it (the customer
is told). A change that fails is said plainly to the rep who clicked, privately.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from frontline.errors import DatabaseUnavailable, FrontlineError, TicketNotFound
from integrations.slack import blocks, ids

if TYPE_CHECKING:
    from frontline.services import Services
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

Change = Callable[["Services", int, str], Any]
UNEXPECTED = "Sorry — I couldn't {action}: something went wrong on our side. Please try again."


def _assign(services: Services, number: int, user: str) -> Any:
    return services.handoff.update_ticket(number, assignee=user, author=user)


def _resolve(services: Services, number: int, user: str) -> Any:
    return services.handoff.update_ticket(number, status="resolved", author=user)


def _reopen(services: Services, number: int, user: str) -> Any:
    return services.handoff.update_ticket(number, status="open", author=user)


CHANGES: dict[str, tuple[Change, str]] = {
    ids.TICKET_ASSIGN: (_assign, "assign ticket #{number} to you"),
    ids.TICKET_RESOLVE: (_resolve, "resolve ticket #{number}"),
    ids.TICKET_REOPEN: (_reopen, "reopen ticket #{number}"),
}


async def ack_now(ack: Callable[..., Awaitable[Any]]) -> None:
    await ack()


def clicked(body: dict[str, Any]) -> tuple[str, dict[str, Any], str, str | None]:
    """(user id, decoded button value, channel id, thread ts) of a ``block_actions`` click."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or ""
    return (str((body.get("user") or {}).get("id") or ""),
            blocks.decode_value(str(action.get("value") or "")),
            str(channel), container.get("thread_ts"))


async def tell(client: AsyncWebClient, channel: str, user: str, text: str,
               thread_ts: str | None = None, *, error: bool = True) -> None:
    """An ephemeral note to the rep who clicked (never raises)."""
    msg = blocks.error_message(text) if error else blocks.note_message(text)
    try:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                        **msg)
    except Exception as exc:
        logger.warning("could not tell a rep what happened (%s)", type(exc).__name__)


def failure(action: str, exc: FrontlineError) -> str:
    """What the rep reads when a change failed: what, why, and that nothing changed."""
    if isinstance(exc, TicketNotFound):
        return f"I couldn't {action}: that ticket doesn't exist."
    if isinstance(exc, DatabaseUnavailable):
        return f"I couldn't {action} just now: the ticket store is unavailable. Nothing was " \
               "changed; please try again in a moment."
    return f"I couldn't {action}: {exc.detail}"


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    services = slack.services

    def listener(change: Change, what: str) -> Callable[..., Awaitable[None]]:
        async def work(body: dict[str, Any], client: AsyncWebClient) -> None:
            user, value, channel, thread_ts = clicked(body)
            try:
                number = int(value["ticket"])
            except (KeyError, TypeError, ValueError):
                await tell(client, channel, user, "That button is broken: it names no ticket.")
                return
            try:
                await asyncio.to_thread(change, services, number, user)
            except FrontlineError as exc:
                await tell(client, channel, user, failure(what.format(number=number), exc),
                           thread_ts)
            except Exception:
                logger.exception("a ticket button failed")
                await tell(client, channel, user, UNEXPECTED.format(
                    action=what.format(number=number)), thread_ts)

        return work

    for action_id, (change, what) in CHANGES.items():
        app.action(action_id)(ack=ack_now, lazy=[listener(change, what)])
