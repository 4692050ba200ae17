"""Slack Web API calls that must not be lost: a retry queue kept in the database.

``enqueue`` stores a call (in the caller's thread, so nothing is lost if Slack is down or the
process stops); the sender (one asyncio task per process) makes the calls **in order per
``key``** and retries with back-off while Slack answers 429 (honouring ``Retry-After``), 5xx,
times out or cannot be reached. An error Slack gives for the call itself (``channel_not_found``,
``not_in_channel``…) is final: the item is marked dead, logged once, and counted by ``dead()``.

How order and "exactly once" hold:

* Only the oldest unfinished item of a key (its *head*) is ever sent; a head that is being sent
  blocks its key, so a thread reply can never overtake the message before it — not even with
  several replicas sharing the queue: an item is claimed with one conditional ``UPDATE``
  (pending → sending, only while nothing older of its key is unfinished) that exactly one
  sender wins, on SQLite and PostgreSQL alike.
* Retries are this queue's job alone: every attempt is one request — recorded, spaced by the
  back-off, in order. The client it sends with has **no slack_sdk retry handlers**; the SDK's
  default one would add a hidden, immediate second request after a dropped connection
  (``ServerDisconnectedError``, connection reset), on top of the queue's own retry. What stays
  ambiguous is Slack's to settle, not ours: a call whose answer is lost *after* Slack acted on
  it (a timeout, a dropped connection) is made again, as the Web API has no idempotency key.
  A 429 means Slack did not act, so retrying one never duplicates.
* A claimed item holds a lease (``sending_lease_s``, longer than the client's timeout). Items
  left "sending" by a crashed process go back to pending once their lease has run out — at
  start and on every pass — so nothing waits forever and no live sender is raced.

A call may depend on a ticket's Slack message (a thread reply needs its ``ts``): such an item
names ``ticket_id`` and waits until that message is posted; its ``channel`` and ``thread_ts``
are filled in at send time. If that message can never be posted (it died), the replies die too.

Method ``"ticket_message"`` is special: its payload is rendered at send time from the ticket's
current state (``renderers["ticket_message"]``), posted the first time and ``chat.update``-d
afterwards, and the posted ``ts`` is kept in ``SlackThread``. Several changes in a row coalesce
into one pending render.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from frontline.db import Database, SlackOutbox, SlackThread

logger = logging.getLogger(__name__)

BATCH = 20  # heads (keys) sent concurrently per pass
MAX_RETRY_AFTER_S = 900.0
# Calls whose result the queue records: a posted ticket message's ts is kept for updates and
# thread replies.
RECORDS_TS = "ticket_message"
PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
UNFINISHED = (PENDING, SENDING)
# Errors Slack answers with HTTP 200 that mean "try again later", not "this call is wrong".
TRANSIENT_ERRORS = frozenset({"ratelimited", "fatal_error", "internal_error",
                              "service_unavailable", "request_timeout"})

Renderer = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


def without_retries(client: AsyncWebClient) -> AsyncWebClient:
    """A copy of ``client`` (same token, url, timeout, session) with no SDK retry handlers."""
    sender = copy.copy(client)
    sender.retry_handlers = []
    return sender


class Outbox:
    """The queue. ``backoff_base_s``/``backoff_cap_s``: the exponential back-off after a 5xx,
    timeout or unreachable Slack (``base * 2**(attempt-1)``, at most ``cap``); a 429 waits
    exactly ``Retry-After`` and holds every call meanwhile (Slack asked us to slow down)."""

    def __init__(
        self,
        db: Database,
        client: AsyncWebClient,
        *,
        idle_poll_s: float = 5.0,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 300.0,
        sending_lease_s: float | None = None,
        concurrency: int = BATCH,
    ) -> None:
        self.db = db
        self.client = without_retries(client)
        self.idle_poll_s = idle_poll_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.sending_lease_s = (sending_lease_s if sending_lease_s is not None
                                else float(client.timeout) + 30.0)
        self.concurrency = max(1, concurrency)
        self._hold_until = 0.0  # monotonic: a 429's Retry-After pauses every call
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        # Renders a ticket message at send time (fresh state), set by the ticket mirror.
        self.renderers: dict[str, Renderer] = {}

    # -- producing ----------------------------------------------------------------------------
    def enqueue(self, key: str, method: str, params: dict[str, Any], *,
                ticket_id: int | None = None) -> int:
        """Store one call; safe from any thread. Returns the item id (for a ticket message
        that is already waiting to be rendered, that item's id: it will show this state too)."""
        with self.db.session() as session:
            if method == RECORDS_TS:
                waiting = session.scalar(
                    select(SlackOutbox.id).where(SlackOutbox.key == key,
                                                 SlackOutbox.method == RECORDS_TS,
                                                 SlackOutbox.status == PENDING).limit(1))
                if waiting is not None:
                    self.wake()
                    return int(waiting)
            item = SlackOutbox(key=key, method=method, params=params, ticket_id=ticket_id)
            session.add(item)
        self.wake()
        return item.id

    def wake(self) -> None:
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def has_message(self, ticket_id: int) -> bool:
        """Whether the ticket's Slack message is posted or waiting to be."""
        with self.db.session() as session:
            thread = session.get(SlackThread, ticket_id)
            if thread is not None and thread.ts:
                return True
            return session.scalar(
                select(SlackOutbox.id).where(SlackOutbox.ticket_id == ticket_id,
                                             SlackOutbox.method == RECORDS_TS,
                                             SlackOutbox.status.in_(UNFINISHED)).limit(1)
            ) is not None

    # -- figures ------------------------------------------------------------------------------
    def pending(self) -> int:
        """Calls not made yet (waiting, retrying, or being sent)."""
        return self._count(UNFINISHED)

    def dead(self) -> int:
        """Calls Slack refused for good (each was logged once when it died)."""
        return self._count((DEAD,))

    def _count(self, statuses: tuple[str, ...]) -> int:
        with self.db.session() as session:
            return int(session.scalar(
                select(func.count()).select_from(SlackOutbox)
                .where(SlackOutbox.status.in_(statuses))) or 0)

    # -- the sender -----------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="slack-outbox")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the calls being made now are finished and recorded (at most
        ``timeout_s``; a call cut off after that is made again once its lease runs out)."""
        if self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        self._loop = None

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()  # before the pass: an enqueue during it wakes the next one
            try:
                delay = await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("slack outbox: unexpected error; retrying shortly")
                delay = min(5.0, self.idle_poll_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def flush(self) -> float:
        """Send what is due, in order per key; returns seconds until the next item is due."""
        await asyncio.to_thread(self.recover)
        while not self._stopping:
            if time.monotonic() < self._hold_until:
                return self._hold_until - time.monotonic()
            due = await asyncio.to_thread(self._due)
            if not due:
                return await asyncio.to_thread(self._next_due_in)
            limit = asyncio.Semaphore(self.concurrency)
            await asyncio.gather(*(self._send_within(limit, item_id) for item_id in due))
        return 0.0

    def recover(self) -> int:
        """Items left "sending" past their lease (a crashed sender) go back to pending."""
        now = datetime.now(UTC)
        with self.db.session() as session:
            result = session.execute(
                update(SlackOutbox)
                .where(SlackOutbox.status == SENDING, SlackOutbox.next_attempt_at <= now)
                .values(status=PENDING, next_attempt_at=now)
            )
            recovered = int(getattr(result, "rowcount", 0) or 0)
        if recovered:
            logger.warning("slack outbox: %d call(s) left unfinished by a stopped sender are "
                           "queued again", recovered)
        return recovered

    def _heads(self, session: Session) -> list[SlackOutbox]:
        oldest = (select(func.min(SlackOutbox.id))
                  .where(SlackOutbox.status.in_(UNFINISHED))
                  .group_by(SlackOutbox.key))
        return list(session.scalars(
            select(SlackOutbox).where(SlackOutbox.id.in_(oldest)).order_by(SlackOutbox.id)
        ).all())

    def _due(self) -> list[int]:
        """The head of each key when it is due (and its parent message exists)."""
        now = datetime.now(UTC)
        out: list[int] = []
        orphans: list[int] = []
        with self.db.session() as session:
            for item in self._heads(session):
                if item.status != PENDING or _aware(item.next_attempt_at) > now:
                    continue
                if item.ticket_id is not None and item.params.get("_thread"):
                    thread = session.get(SlackThread, item.ticket_id)
                    if thread is None or thread.ts is None:
                        if not self._parent_waiting(session, item.ticket_id):
                            orphans.append(item.id)
                        continue
                out.append(item.id)
                if len(out) >= BATCH:
                    break
        for item_id in orphans:
            self._finish(item_id, DEAD, "the ticket's Slack message was never posted")
            logger.error("slack outbox: a thread reply (item %d) is dropped: its ticket's "
                         "message was never posted", item_id)
        return out

    @staticmethod
    def _parent_waiting(session: Session, ticket_id: int) -> bool:
        return session.scalar(
            select(SlackOutbox.id).where(SlackOutbox.ticket_id == ticket_id,
                                         SlackOutbox.method == RECORDS_TS,
                                         SlackOutbox.status.in_(UNFINISHED)).limit(1)
        ) is not None

    def _next_due_in(self) -> float:
        with self.db.session() as session:
            moment = session.scalar(
                select(func.min(SlackOutbox.next_attempt_at))
                .where(SlackOutbox.status.in_(UNFINISHED)))
        if moment is None:
            return self.idle_poll_s
        wait = (_aware(moment) - datetime.now(UTC)).total_seconds()
        return min(max(wait, 0.02), self.idle_poll_s)

    def _claim(self, item_id: int) -> tuple[SlackOutbox, SlackThread | None] | None:
        """Take the item for sending: one conditional UPDATE (pending → sending, and nothing
        older of its key unfinished) that exactly one sender can win, on any database."""
        now = datetime.now(UTC)
        older = aliased(SlackOutbox)
        with self.db.session() as session:
            result = session.execute(
                update(SlackOutbox)
                .where(SlackOutbox.id == item_id, SlackOutbox.status == PENDING,
                       ~select(older.id).where(older.key == SlackOutbox.key,
                                               older.id < SlackOutbox.id,
                                               older.status.in_(UNFINISHED)).exists())
                .values(status=SENDING,
                        next_attempt_at=now + timedelta(seconds=self.sending_lease_s))
                .execution_options(synchronize_session=False)
            )
            if int(getattr(result, "rowcount", 0) or 0) != 1:
                return None  # another sender has it, or something older of its key came first
            item = session.get(SlackOutbox, item_id)
            if item is None:
                return None
            thread = session.get(SlackThread, item.ticket_id) if item.ticket_id else None
            return item, thread

    async def _send_within(self, limit: asyncio.Semaphore, item_id: int) -> None:
        async with limit:
            await self._send(item_id)

    async def _send(self, item_id: int) -> None:
        claimed = await asyncio.to_thread(self._claim, item_id)
        if claimed is None:
            return
        item, thread = claimed
        params = {k: v for k, v in item.params.items() if not k.startswith("_")}
        try:
            if item.method == RECORDS_TS:
                rendered = await self._render(item, thread)
                if rendered is None:
                    await asyncio.to_thread(self._finish, item.id, SENT, "nothing to show")
                    return
                params = rendered
                method = "chat.update" if thread is not None and thread.ts else "chat.postMessage"
            else:
                method = item.method
                if item.params.get("_thread") and thread is not None:
                    params["channel"] = thread.channel
                    params["thread_ts"] = thread.ts
            response = await self.client.api_call(method, json=params)
        except SlackApiError as exc:
            await asyncio.to_thread(self._failed, item, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # timeouts, refused connections, aiohttp errors, a renderer
            await asyncio.to_thread(self._retry, item, f"{type(exc).__name__}: {exc}", None)
            return
        recorded = None
        if item.method == RECORDS_TS and item.ticket_id is not None:
            recorded = (str(response["channel"]), str(response["ts"]))
        await asyncio.to_thread(self._sent, item.id, item.ticket_id, recorded)

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

    def _sent(self, item_id: int, ticket_id: int | None,
              recorded: tuple[str, str] | None) -> None:
        """Mark an item sent and, for a posted ticket message, keep its ts: one transaction."""
        with self.db.session() as session:
            if recorded is not None and ticket_id is not None:
                channel, ts = recorded
                thread = session.get(SlackThread, ticket_id)
                if thread is None:
                    session.add(SlackThread(ticket_id=ticket_id, channel=channel, ts=ts))
                elif thread.ts is None:
                    thread.channel, thread.ts = channel, ts
            row = session.get(SlackOutbox, item_id)
            if row is not None:
                row.status, row.last_error, row.sent_at = SENT, "", datetime.now(UTC)

    def _failed(self, item: SlackOutbox, exc: SlackApiError) -> None:
        status = exc.response.status_code
        data = exc.response.data
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or error == "ratelimited":
            retry_after = _header(exc.response.headers, "Retry-After")
            wait = _seconds(retry_after, 1.0)
            self._hold_until = max(self._hold_until, time.monotonic() + wait)
            self._retry(item, f"HTTP {status} ratelimited", wait)
            return
        if status >= 500 or error in TRANSIENT_ERRORS:
            retry_after = _header(exc.response.headers, "Retry-After")
            self._retry(item, error or f"HTTP {status}",
                        _seconds(retry_after, 1.0) if retry_after else None)
            return
        error = error or f"HTTP {status}"
        hint = " (invite the app to the channel)" if error == "not_in_channel" else ""
        logger.error("slack %s failed for good (%s%s); dropped from the retry queue (item %d)",
                     item.method, error, hint, item.id)
        self._finish(item.id, DEAD, error)
        if item.method == RECORDS_TS and item.ticket_id is not None:
            self._orphan_replies(item.ticket_id)

    def _orphan_replies(self, ticket_id: int) -> None:
        """Thread replies waiting for a ticket message that died can never be sent."""
        with self.db.session() as session:
            thread = session.get(SlackThread, ticket_id)
            if (thread is not None and thread.ts) or self._parent_waiting(session, ticket_id):
                return
            rows = session.scalars(select(SlackOutbox).where(
                SlackOutbox.ticket_id == ticket_id, SlackOutbox.status == PENDING,
                SlackOutbox.method != RECORDS_TS)).all()
            for row in rows:
                row.status, row.last_error = DEAD, "the ticket's Slack message was never posted"
        if rows:
            logger.error("slack outbox: %d thread repl(ies) for ticket id %d dropped with it",
                         len(rows), ticket_id)

    def _retry(self, item: SlackOutbox, reason: str, wait: float | None) -> None:
        attempts = item.attempts + 1
        backoff = wait if wait is not None else min(
            self.backoff_base_s * 2.0 ** (attempts - 1), self.backoff_cap_s)
        if attempts == 1:
            logger.warning("slack %s failed (%s); queued, retrying in %.1f s", item.method,
                           reason, backoff)
        with self.db.session() as session:
            row = session.get(SlackOutbox, item.id)
            if row is not None:
                row.status = PENDING
                row.attempts = attempts
                row.last_error = reason[:500]
                row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=backoff)

    def _finish(self, item_id: int, status: str, error: str) -> None:
        with self.db.session() as session:
            row = session.get(SlackOutbox, item_id)
            if row is not None:
                row.status = status
                row.last_error = error
                row.sent_at = datetime.now(UTC) if status == SENT else None


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _seconds(value: str | None, default: float) -> float:
    """A ``Retry-After`` value in seconds (Slack sends whole seconds), within reason."""
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        seconds = default
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
