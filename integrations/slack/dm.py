"""Direct messages from the app to a rep, through the retry queue.

Slack's ``chat.postMessage`` docs: a *user* id as ``channel`` lands in the user's DM with
Slackbot; to post in the user's DM *with the app*, use the DM's own id (``D…``). So the DM is
opened first with ``conversations.open`` (scope ``im:write``), its id is cached per rep, and the
message itself goes into the retry queue (``Outbox``) as one ``chat.postMessage`` to that id.

``send`` is for async code (a listener); ``send_soon`` may be called from any thread (a domain
notification) and never blocks: with the DM id cached it only enqueues; otherwise a short-lived
thread opens the DM (retrying while Slack answers 429 / 5xx or cannot be reached) and then
enqueues.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack.calls import reason
from integrations.slack.outbox import Outbox

logger = logging.getLogger(__name__)

USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
OPEN_RETRIES = 6  # conversations.open attempts after the first (back-off, or Retry-After)


def dm_key(user: str) -> str:
    """The retry queue's ordering key for one rep's DMs (sent in order)."""
    return f"dm:{user}"


class DirectMessages:
    def __init__(self, client: AsyncWebClient, outbox: Outbox) -> None:
        self.client = client
        self.outbox = outbox
        self._channels: dict[str, str] = {}
        self._lock = threading.Lock()

    def cached(self, user: str) -> str | None:
        with self._lock:
            return self._channels.get(user)

    def remember(self, user: str, channel: str) -> None:
        """Note the app's DM with ``user`` (e.g. seen on a ``message.im`` event)."""
        if USER_ID.match(user) and channel.startswith("D"):
            with self._lock:
                self._channels[user] = channel

    async def channel(self, user: str) -> str:
        """The app's DM with ``user``; raises ``SlackApiError`` when it cannot be opened."""
        known = self.cached(user)
        if known:
            return known
        response = await self.client.conversations_open(users=user)
        channel = str(response["channel"]["id"])
        self.remember(user, channel)
        return channel

    async def send(self, user: str, message: dict[str, Any]) -> int:
        """Open the DM (when not cached) and queue ``message`` for it. Returns the queue id."""
        channel = await self.channel(user)
        return await asyncio.to_thread(self._enqueue, user, channel, message)

    def send_soon(self, user: str, message: dict[str, Any]) -> None:
        """Queue ``message`` for ``user``'s DM without blocking the caller (any thread)."""
        if not USER_ID.match(user):
            logger.warning("not a Slack user id (%r): no DM sent", user[:20])
            return
        channel = self.cached(user)
        if channel:
            self._enqueue(user, channel, message)
            return
        threading.Thread(target=self._open_and_enqueue, args=(user, message),
                         name="slack-dm-open", daemon=True).start()

    def _open_and_enqueue(self, user: str, message: dict[str, Any]) -> None:
        client = WebClient(
            token=self.client.token, base_url=self.client.base_url,
            timeout=self.client.timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=OPEN_RETRIES),
                            RateLimitErrorRetryHandler(max_retry_count=OPEN_RETRIES),
                            ServerErrorRetryHandler(max_retry_count=OPEN_RETRIES)],
        )
        try:
            response = client.conversations_open(users=user)
            channel = str(response["channel"]["id"])
        except Exception as exc:
            logger.error("cannot open the Slack DM with %s (%s); the message was not sent",
                         user, reason(exc))
            return
        self.remember(user, channel)
        try:
            self._enqueue(user, channel, message)
        except Exception:
            logger.exception("cannot queue the Slack DM to %s", user)

    def _enqueue(self, user: str, channel: str, message: dict[str, Any]) -> int:
        return self.outbox.enqueue(dm_key(user), "chat.postMessage",
                                   {"channel": channel, **message})

