"""Which Slack message stands for which ticket: look-ups over ``SlackThread``.

A ticket's message in the tickets channel is posted by the retry queue, which records its
``channel`` and ``ts``; the message's thread carries the live handoff. Listeners use these to
tell a ticket thread from any other thread (a rep's reply there reaches the customer; a question
to the app there may offer *Send to customer*), and ``RepNames`` says how a rep is named to the
customer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from frontline.db import Database, SlackEventSeen, SlackThread, Ticket

logger = logging.getLogger(__name__)
SUPPORT_TEAM = "Support team"


def ticket_for_thread(db: Database, channel: str, ts: str | None) -> int | None:
    """The number of the ticket whose Slack message is ``ts`` in ``channel`` (a thread's
    ``thread_ts``), or None when that thread is not a ticket's."""
    if not channel or not ts:
        return None
    with db.session() as session:
        number = session.scalar(
            select(Ticket.number).join(SlackThread, SlackThread.ticket_id == Ticket.id)
            .where(SlackThread.channel == channel, SlackThread.ts == ts)
        )
    return int(number) if number is not None else None


def thread_of(db: Database, ticket_id: int) -> SlackThread | None:
    """The ticket's Slack message (None until it is posted)."""
    with db.session() as session:
        thread = session.get(SlackThread, ticket_id)
    return thread if thread is not None and thread.ts else None


def first_time(db: Database, key: str) -> bool:
    """True the first time ``key`` is seen (recorded in ``SlackEventSeen``), False after: a
    message Slack delivers twice is acted on once."""
    try:
        with db.session() as session:
            session.add(SlackEventSeen(event_id=key[:64]))
    except IntegrityError:
        return False
    return True


class RepNames:
    """How a rep is named to the customer ("Ada · Support team" in the widget): the profile an
    event carries, else ``users.info`` (needs the ``users:read`` scope), else "Support team".
    Names are cached for the process; a failed look-up is not retried for ``retry_s``."""

    def __init__(self, retry_s: float = 600.0) -> None:
        self.retry_s = retry_s
        self._known: dict[str, tuple[str | None, float]] = {}

    async def name(self, client: AsyncWebClient, user: str,
                   profile: Mapping[str, Any] | None = None) -> str:
        from_event = _profile_name(profile)
        if from_event:
            self._known[user] = (from_event, time.monotonic())
            return from_event
        cached = self._known.get(user)
        if cached is not None and (cached[0] or time.monotonic() - cached[1] < self.retry_s):
            return cached[0] or SUPPORT_TEAM
        found: str | None = None
        try:
            response = await client.users_info(user=user)
            data = response.data if isinstance(response.data, dict) else {}
            found = _profile_name(data.get("user", {}).get("profile"))
        except Exception as exc:  # missing_scope, user_not_found, Slack unreachable
            logger.info("no display name for a rep (%s); shown as %r", type(exc).__name__,
                        SUPPORT_TEAM)
        self._known[user] = (found, time.monotonic())
        return found or SUPPORT_TEAM


def _profile_name(profile: Mapping[str, Any] | None) -> str | None:
    if not profile:
        return None
    for field in ("display_name", "real_name"):
        value = str(profile.get(field) or "").strip()
        if value:
            return value[:80]
    return None
