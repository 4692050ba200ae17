"""Slack's retries never do the work twice: a global middleware that drops repeated deliveries.

Slack retries an event it thinks we missed (no 200 within 3 s, an error status) up to three
times, with the same ``event_id`` and an ``X-Slack-Retry-Num`` header. Each ``event_callback``'s
``event_id`` is inserted into ``slack_events_seen`` (primary key): when the insert finds it there
already, the delivery is acknowledged and nothing runs. Shared by every replica (the table is
in the one database), so a retry that reaches another replica is dropped too. A retried request
without an ``event_id`` (Slack retries only events) is acknowledged and dropped.

Runs after Bolt's own middleware, so only signed requests reach the table. Rows older than
``KEEP`` are pruned now and then (Slack stops retrying after about five minutes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import delete

from frontline.db import Database, SlackEventSeen
from integrations.slack.threads import first_time

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

KEEP = timedelta(hours=6)
PRUNE_EVERY_S = 600.0


class SeenEvents:
    """The ``slack_events_seen`` table as a set that answers "first time?" atomically."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pruned_at = 0.0

    def first_time(self, event_id: str) -> bool:
        """Insert ``event_id``; False when it was there already (a repeated delivery)."""
        if not first_time(self.db, event_id):
            return False
        self._maybe_prune()
        return True

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_S:
            return
        self._pruned_at = now
        with self.db.session() as session:
            session.execute(delete(SlackEventSeen).where(
                SlackEventSeen.created_at < datetime.now(UTC) - KEEP))


def header(req: AsyncBoltRequest, name: str) -> str | None:
    """The first value of header ``name`` (lower case), or None."""
    values = req.headers.get(name) or []
    return values[0] if values else None


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    seen = SeenEvents(slack.services.db)

    @app.middleware
    async def skip_repeated_deliveries(
        req: AsyncBoltRequest, body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        retry = header(req, "x-slack-retry-num")
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                first = await asyncio.to_thread(seen.first_time, str(event_id))
            except Exception as exc:  # the database is down: better twice than never
                logger.warning("cannot check Slack event %s for repeats (%s); handling it",
                               event_id, type(exc).__name__)
                first = True
            if not first:
                logger.info("slack event %s delivered again (retry %s): acknowledged, skipped",
                            event_id, retry or "-")
                return BoltResponse(status=200, body="")
        elif retry is not None:
            reason = header(req, "x-slack-retry-reason") or "?"
            logger.info("slack retry %s (%s) without an event id: acknowledged, skipped",
                        retry, reason)
            return BoltResponse(status=200, body="")
        await next_()
        return None
