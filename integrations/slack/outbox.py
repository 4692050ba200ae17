"""Slack Web API calls that must not be lost: a retry queue kept in the database.

``enqueue`` stores a call (in the caller's thread, so nothing is lost if Slack is down or the
process stops); the sender (one asyncio task per process) makes the calls in order per ``key``
and retries with back-off while Slack answers 429 (honouring ``Retry-After``), 5xx, or times
out. An error Slack gives for the call itself (``channel_not_found``…) is final: the item is
marked dead and logged once. Several replicas share the queue: on PostgreSQL an item is claimed
with ``FOR UPDATE SKIP LOCKED``, so each call is made once.

A call may depend on a ticket's Slack message (a thread reply needs its ``ts``): such an item
names ``ticket_id`` and waits until that message is posted; its ``thread_ts`` is filled in at
send time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from frontline.db import Database, SlackOutbox, SlackThread

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 300.0
BATCH = 20
# Calls whose result the queue records: a posted ticket message's ts is kept for updates and
# thread replies.
RECORDS_TS = "ticket_message"


class Outbox:
    def __init__(self, db: Database, client: AsyncWebClient, *, idle_poll_s: float = 5.0) -> None:
        self.db = db
        self.client = client
        self.idle_poll_s = idle_poll_s
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        # Renders a ticket message at send time (fresh state), set by the ticket mirror.
        self.renderers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {}

    # -- producing ----------------------------------------------------------------------------
    def enqueue(self, key: str, method: str, params: dict[str, Any], *,
                ticket_id: int | None = None) -> int:
        """Store one call; safe from any thread. Returns the item id."""
        item = SlackOutbox(key=key, method=method, params=params, ticket_id=ticket_id)
        with self.db.session() as session:
            session.add(item)
        self.wake()
        return item.id

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # -- the sender -------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="slack-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                delay = await self.flush()
            except Exception:
                logger.exception("slack outbox: unexpected error; retrying shortly")
                delay = 5.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def flush(self) -> float:
        """Send what is due, in order per key; returns seconds until the next item is due."""
        while True:
            due = await asyncio.to_thread(self._due)
            if not due:
                return await asyncio.to_thread(self._next_due_in)
            for item_id in due:
                await self._send(item_id)

    def _due(self) -> list[int]:
        """The oldest pending item of each key, when it is due (and its thread exists)."""
        now = datetime.now(UTC)
        with self.db.session() as session:
            pending = session.scalars(
                select(SlackOutbox).where(SlackOutbox.status == "pending")
                .order_by(SlackOutbox.id).limit(500)
            ).all()
            heads: dict[str, SlackOutbox] = {}
            for item in pending:
                heads.setdefault(item.key, item)
            out = []
            for item in heads.values():
                if _aware(item.next_attempt_at) > now:
                    continue
                if item.ticket_id is not None and item.params.get("_thread"):
                    thread = session.get(SlackThread, item.ticket_id)
                    if thread is None or thread.ts is None:
                        continue  # its parent message is not posted yet
                out.append(item.id)
            return out[:BATCH]

    def _next_due_in(self) -> float:
        with self.db.session() as session:
            item = session.scalars(
                select(SlackOutbox).where(SlackOutbox.status == "pending")
                .order_by(SlackOutbox.next_attempt_at).limit(1)
            ).first()
        if item is None:
            return self.idle_poll_s
        wait = (_aware(item.next_attempt_at) - datetime.now(UTC)).total_seconds()
        return min(max(wait, 0.05), self.idle_poll_s)

    def _claim(self, item_id: int) -> tuple[SlackOutbox, SlackThread | None] | None:
        with self.db.session() as session:
            item = session.scalars(
                select(SlackOutbox).where(SlackOutbox.id == item_id,
                                          SlackOutbox.status == "pending")
                .with_for_update(skip_locked=True)
            ).first()
            if item is None:
                return None
            item.status = "sending"
            thread = session.get(SlackThread, item.ticket_id) if item.ticket_id else None
            return item, thread

    async def _send(self, item_id: int) -> None:
        claimed = await asyncio.to_thread(self._claim, item_id)
        if claimed is None:
            return
        item, thread = claimed
        params = {k: v for k, v in item.params.items() if not k.startswith("_")}
        try:
            if item.method == RECORDS_TS:
                params = await self._render(item, thread)
                if params is None:
                    await asyncio.to_thread(self._finish, item.id, "sent", "")
                    return
                method = "chat.update" if thread is not None and thread.ts else "chat.postMessage"
            else:
                method = item.method
                if item.params.get("_thread") and thread is not None:
                    params.setdefault("channel", thread.channel)
                    params["thread_ts"] = thread.ts
            response = await self.client.api_call(method, json=params)
        except SlackApiError as exc:
            await asyncio.to_thread(self._failed, item, exc)
            return
        except (TimeoutError, OSError) as exc:
            await asyncio.to_thread(self._retry, item, f"{type(exc).__name__}: {exc}", None)
            return
        except Exception as exc:  # aiohttp client errors and the like
            await asyncio.to_thread(self._retry, item, f"{type(exc).__name__}: {exc}", None)
            return
        if item.method == RECORDS_TS and item.ticket_id is not None:
            await asyncio.to_thread(self._record_ts, item.ticket_id, str(response["channel"]),
                                    str(response["ts"]))
        await asyncio.to_thread(self._finish, item.id, "sent", "")

    async def _render(self, item: SlackOutbox,
                      thread: SlackThread | None) -> dict[str, Any] | None:
        render = self.renderers.get(RECORDS_TS)
        if render is None:
            raise RuntimeError("no renderer for ticket messages")
        message = await render(item.params)
        if not message:
            return None
        if thread is not None and thread.ts:
            return {"channel": thread.channel, "ts": thread.ts, **message}
        return {"channel": item.params["channel"], **message}

    def _record_ts(self, ticket_id: int, channel: str, ts: str) -> None:
        with self.db.session() as session:
            thread = session.get(SlackThread, ticket_id)
            if thread is None:
                session.add(SlackThread(ticket_id=ticket_id, channel=channel, ts=ts))
            elif thread.ts is None:
                thread.channel, thread.ts = channel, ts

    def _failed(self, item: SlackOutbox, exc: SlackApiError) -> None:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after")
            self._retry(item, f"HTTP {status}", float(retry_after) if retry_after else None)
            return
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) \
            else f"HTTP {status}"
        if error in ("ratelimited", "fatal_error", "internal_error", "service_unavailable",
                     "request_timeout"):
            self._retry(item, error, None)
            return
        logger.error("slack %s failed for good (%s); dropped from the retry queue (item %d)",
                     item.method, error, item.id)
        self._finish(item.id, "dead", error)

    def _retry(self, item: SlackOutbox, reason: str, retry_after: float | None) -> None:
        attempts = item.attempts + 1
        backoff = retry_after if retry_after is not None else min(2.0 ** (attempts - 1),
                                                                  MAX_BACKOFF_S)
        if attempts == 1:
            logger.warning("slack %s failed (%s); queued, retrying in %.1f s", item.method,
                           reason, backoff)
        with self.db.session() as session:
            row = session.get(SlackOutbox, item.id)
            if row is not None:
                row.status = "pending"
                row.attempts = attempts
                row.last_error = reason
                row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=backoff)

    def _finish(self, item_id: int, status: str, error: str) -> None:
        with self.db.session() as session:
            row = session.get(SlackOutbox, item_id)
            if row is not None:
                row.status = status
                row.last_error = error
                row.sent_at = datetime.now(UTC) if status == "sent" else None

    def pending(self) -> int:
        with self.db.session() as session:
            return len(session.scalars(
                select(SlackOutbox.id).where(SlackOutbox.status.in_(("pending", "sending")))
            ).all())


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
