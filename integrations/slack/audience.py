"""Which articles a Slack conversation may see: ``internal`` (everything) or ``public`` only.

Internal articles never leave the workspace. A conversation is answered from public articles
only when it is listed in ``FRONTLINE_SLACK_PUBLIC_ONLY_CHANNELS``, when it is shared with
another organisation (Slack Connect: ``conversations.info`` → ``channel.is_ext_shared``, or the
event envelope's ``is_ext_shared_channel``), or when we cannot tell: if ``conversations.info``
fails, the answer is ``public``. The rep's own DM with the app is internal without a lookup
(Slack marks its events ``channel_type: "im"``); any other DM (``D…``, e.g. a slash command
typed in a DM between two people) is internal only when it *is* the app's DM with that rep
(``conversations.open`` answers with the same id).

Answers are cached per conversation for ``ttl`` seconds (failures for ``failure_ttl``), so a
busy channel costs one lookup every few minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack.calls import reason

logger = logging.getLogger(__name__)

Audience = Literal["public", "internal"]
TTL_S = 300.0
FAILURE_TTL_S = 30.0


class ChannelAudience:
    def __init__(self, client: AsyncWebClient, public_only: Collection[str], *,
                 ttl: float = TTL_S, failure_ttl: float = FAILURE_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.public_only = frozenset(public_only)
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.clock = clock
        self._cache: dict[str, tuple[Audience, float]] = {}

    async def of(self, channel: str, *, user: str | None = None,
                 channel_type: str | None = None, ext_shared: bool = False) -> Audience:
        """The audience for a question asked in ``channel`` (by ``user``). ``channel_type``
        and ``ext_shared`` come from an event when there is one."""
        if not channel or channel in self.public_only or ext_shared:
            return "public"
        if channel_type == "im":
            return "internal"
        key = f"{channel}:{user}" if channel.startswith("D") else channel
        cached = self._cache.get(key)
        now = self.clock()
        if cached is not None and cached[1] > now:
            return cached[0]
        audience, ok = await self._look_up(channel, user)
        self._cache[key] = (audience, now + (self.ttl if ok else self.failure_ttl))
        return audience

    def forget(self, channel: str | None = None) -> None:
        if channel is None:
            self._cache.clear()
        else:
            for key in [k for k in self._cache if k == channel or k.startswith(f"{channel}:")]:
                del self._cache[key]

    async def _look_up(self, channel: str, user: str | None) -> tuple[Audience, bool]:
        """(audience, whether Slack answered)."""
        try:
            if channel.startswith("D"):
                if not user:
                    return "public", True
                opened = await self.client.conversations_open(users=user)
                own = _get(opened.data, "channel", "id") == channel
                return ("internal" if own else "public"), True
            info = await self.client.conversations_info(channel=channel)
        except Exception as exc:  # SlackApiError, a timeout, Slack down: be safe
            logger.warning("cannot tell whether Slack channel %s is shared (%s); answering "
                           "from public articles only", channel, reason(exc))
            return "public", False
        record = _get(info.data, "channel") or {}
        shared = bool(record.get("is_ext_shared") or record.get("is_pending_ext_shared"))
        return ("public" if shared else "internal"), True


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data

