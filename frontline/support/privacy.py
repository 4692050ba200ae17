"""Privacy operations: export and erase one customer's data, purge old transcripts.

A customer is found by the email on their tickets (case-insensitive). Their conversations are
the chat sessions of those tickets, plus any conversation in Rasa's tracker store in which they
typed that address (our own tables mask it at write time, so it can only be found there). The
same session id is Rasa's ``sender_id``. See docs/privacy.md for what is and is not covered.

Two databases are touched, each in one transaction: Frontline's own (``Database``) and Rasa's
SQL tracker store (``FRONTLINE_RASA_TRACKER_URL``, or ``<data dir>/rasa-tracker.db``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    create_engine,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from frontline.db import (
    ChatSession,
    Database,
    Event,
    Message,
    ProcessFeedback,
    SlackOutbox,
    SlackThread,
    Ticket,
)
from frontline.errors import DatabaseUnavailable
from frontline.rasa.endpoints import tracker_url
from frontline.settings import Settings
from frontline.support.vault import EmailToken
from frontline.ticketing.history import TicketStatusChange

logger = logging.getLogger(__name__)
TRACKER_TABLE = "events"  # Rasa's SQLTrackerStore: id, sender_id, type_name, timestamp, …, data
TRACKER_COLUMNS = "id, sender_id, type_name, timestamp, intent_name, action_name, data"
DAY_S = 24 * 3600
# Slack outbox rows that are done with: what was posted stays in Slack, the copy here can go.
FINISHED_OUTBOX = ("sent", "dead")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _message(m: Message) -> dict[str, Any]:
    return {"id": m.id, "session_id": m.session_id, "ticket_id": m.ticket_id,
            "sender": m.sender, "text": m.text, "data": m.data,
            "created_at": _iso(m.created_at)}


def _event(e: Event) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "session_id": e.session_id, "channel": e.channel,
            "query": e.query, "decision": e.decision, "article_id": e.article_id,
            "hits": e.hits, "deflected": e.deflected, "ticket_id": e.ticket_id,
            "csat": e.csat, "language": e.language, "created_at": _iso(e.created_at)}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _deleted(result: Any) -> int:
    return int(result.rowcount or 0)


class TrackerStore:
    """Rasa's SQL tracker store, reached with plain SQL (Rasa itself is not imported)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.sqlite_file: Path | None = None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "",
                                                                             ":memory:"):
            self.sqlite_file = Path(str(parsed.database))

    def missing(self) -> str | None:
        """Why the store cannot be read, or None when it can."""
        if self.sqlite_file is not None and not self.sqlite_file.exists():
            return (f"Rasa's tracker database {self.sqlite_file} does not exist (no "
                    "conversation has reached the assistant with this data dir)")
        return None

    def _engine(self, *, read_only: bool) -> Engine:
        if self.sqlite_file is not None and read_only:
            return create_engine(f"sqlite:///file:{self.sqlite_file}?mode=ro&uri=true")
        if read_only and make_url(self.url).get_backend_name() == "postgresql":
            return create_engine(self.url, execution_options={"postgresql_readonly": True})
        return create_engine(self.url)

    @contextlib.contextmanager
    def _reached(self) -> Iterator[None]:
        """SQL errors of the tracker store as ``DatabaseUnavailable`` (no URL, no password)."""
        try:
            yield
        except SQLAlchemyError as exc:
            logger.error("Rasa's tracker store: %s", type(exc).__name__)
            raise DatabaseUnavailable(
                f"Rasa's tracker store cannot be reached ({type(exc).__name__})") from exc

    @staticmethod
    def _has_table(connection: Connection) -> bool:
        return inspect(connection).has_table(TRACKER_TABLE)

    def senders_mentioning(self, email: str) -> set[str]:
        """Conversations whose stored events contain ``email`` (any case)."""
        if self.missing():
            return set()
        engine = self._engine(read_only=True)
        try:
            with self._reached(), engine.connect() as connection:
                if not self._has_table(connection):
                    return set()
                rows = connection.execute(sql(
                    f"SELECT DISTINCT sender_id FROM {TRACKER_TABLE} "
                    "WHERE lower(data) LIKE :pattern ESCAPE '\\'"),
                    {"pattern": f"%{_escape_like(email.lower())}%"})
                return {row[0] for row in rows}
        finally:
            engine.dispose()

    def events(self, senders: Iterable[str]) -> list[dict[str, Any]]:
        """The stored events of ``senders``, oldest first, ``data`` parsed from JSON."""
        wanted = sorted(set(senders))
        if not wanted or self.missing():
            return []
        engine = self._engine(read_only=True)
        try:
            with self._reached(), engine.connect() as connection:
                if not self._has_table(connection):
                    return []
                query = sql(f"SELECT {TRACKER_COLUMNS} FROM {TRACKER_TABLE} "
                            "WHERE sender_id IN :senders ORDER BY id").bindparams(
                    bindparam("senders", expanding=True))
                rows = connection.execute(query, {"senders": wanted}).mappings().all()
        finally:
            engine.dispose()
        out = []
        for row in rows:
            item = dict(row)
            with contextlib.suppress(ValueError):  # else kept as the stored text
                item["data"] = json.loads(item["data"]) if item["data"] else None
            out.append(item)
        return out

    def delete(self, *, senders: Iterable[str] = (), before: float | None = None) -> int:
        """Delete the events of ``senders``, or every event older than ``before`` (a Unix
        time), in one transaction. Returns the number of rows deleted."""
        wanted = sorted(set(senders))
        if (not wanted and before is None) or self.missing():
            return 0
        engine = self._engine(read_only=False)
        try:
            with self._reached(), engine.begin() as connection:
                if not self._has_table(connection):
                    return 0
                if before is not None:
                    result = connection.execute(sql(
                        f"DELETE FROM {TRACKER_TABLE} WHERE timestamp < :before"),
                        {"before": before})
                else:
                    result = connection.execute(sql(
                        f"DELETE FROM {TRACKER_TABLE} WHERE sender_id IN :senders").bindparams(
                        bindparam("senders", expanding=True)), {"senders": wanted})
                return _deleted(result)
        finally:
            engine.dispose()


class Privacy:
    """``export``, ``erase`` and ``purge`` over Frontline's database and Rasa's tracker."""

    def __init__(self, db: Database, settings: Settings,
                 tracker: TrackerStore | None = None) -> None:
        self.db = db
        self.settings = settings
        self.tracker = tracker or TrackerStore(tracker_url(settings))

    # -- finding one customer's data ---------------------------------------------------------

    @staticmethod
    def _tickets(session: Session, email: str) -> list[Ticket]:
        email = email.strip().lower()
        if not email:
            return []
        return list(session.scalars(select(Ticket).where(func.lower(Ticket.email) == email)
                                    .order_by(Ticket.id)).all())

    def _sessions(self, session: Session, tickets: list[Ticket], email: str) -> set[str]:
        found = {t.session_id for t in tickets if t.session_id}
        ids = [t.id for t in tickets]
        if ids:
            found |= set(session.scalars(select(ChatSession.session_id).where(
                ChatSession.handoff_ticket_id.in_(ids))).all())
        if email.strip():
            # Rasa saw a token for the address (frontline.support.vault), older tracker rows
            # may hold it in clear.
            found |= set(session.scalars(select(EmailToken.session_id).where(
                EmailToken.email == email.strip().lower())).all())
            found |= self.tracker.senders_mentioning(email.strip())
        return found

    @staticmethod
    def _linked(by_session: Any, by_ticket: Any, sessions: set[str],
                ticket_ids: list[int]) -> Any:
        """Rows of these sessions or these tickets; None when there are neither."""
        conditions = []
        if sessions:
            conditions.append(by_session.in_(sorted(sessions)))
        if ticket_ids:
            conditions.append(by_ticket.in_(ticket_ids))
        return or_(*conditions) if conditions else None

    # -- export ------------------------------------------------------------------------------

    def export(self, email: str) -> dict[str, Any]:
        """Everything Frontline holds about the customer with ``email``, as JSON-ready data.
        A tracker store that is missing or unreachable is reported in ``rasa_tracker``."""
        missing = self.tracker.missing()
        with self.db.session() as session:
            tickets = self._tickets(session, email)
            ids = [t.id for t in tickets]
            try:
                sessions = self._sessions(session, tickets, email)
            except DatabaseUnavailable as exc:
                missing = exc.detail
                sessions = self._sessions(session, tickets, "")
            message_filter = self._linked(Message.session_id, Message.ticket_id, sessions, ids)
            messages = [] if message_filter is None else list(session.scalars(
                select(Message).where(message_filter).order_by(Message.id)).all())
            event_filter = self._linked(Event.session_id, Event.ticket_id, sessions, ids)
            events = [] if event_filter is None else list(session.scalars(
                select(Event).where(event_filter).order_by(Event.id)).all())
            chats = {c.session_id: c for c in session.scalars(select(ChatSession).where(
                ChatSession.session_id.in_(sorted(sessions)))).all()} if sessions else {}
            feedback = list(session.scalars(select(ProcessFeedback).where(
                ProcessFeedback.ticket_id.in_(ids)).order_by(ProcessFeedback.id)).all()) \
                if ids else []
            threads = list(session.scalars(select(SlackThread).where(
                SlackThread.ticket_id.in_(ids))).all()) if ids else []
            tokens = list(session.scalars(select(EmailToken).where(
                EmailToken.email == email.strip().lower()).order_by(EmailToken.id)).all())

        number = {t.id: t.number for t in tickets}
        out_tickets: list[dict[str, Any]] = [{
            "number": t.number, "status": t.status, "priority": t.priority,
            "email": t.email, "summary": t.summary, "details": t.details,
            "transcript": t.transcript, "tried_articles": t.tried_articles,
            "session_id": t.session_id, "channel": t.channel, "assignee": t.assignee,
            "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at),
            "resolved_at": _iso(t.resolved_at),
            "notes": [_message(m) for m in messages
                      if m.ticket_id == t.id and m.sender == "note"],
        } for t in tickets]
        out_sessions: list[dict[str, Any]] = []
        for sid in sorted(sessions):
            chat = chats.get(sid)
            out_sessions.append({
                "session_id": sid,
                "channel": chat.channel if chat else None,
                "created_at": _iso(chat.created_at) if chat else None,
                "updated_at": _iso(chat.updated_at) if chat else None,
                "handoff_active": chat.handoff_active if chat else False,
                "messages": [_message(m) for m in messages
                             if m.session_id == sid and m.sender != "note"],
                "events": [_event(e) for e in events if e.session_id == sid],
            })
        listed = {m.id for m in messages if m.sender != "note" and m.session_id in sessions}
        listed |= {m.id for m in messages if m.sender == "note" and m.ticket_id in ids}
        tracker_events: list[dict[str, Any]] = []
        if missing is None:
            try:
                tracker_events = self.tracker.events(sessions)
            except DatabaseUnavailable as exc:
                missing = exc.detail
        return {
            "email": email.strip().lower(),
            "generated_at": datetime.now(UTC).isoformat(),
            "tickets": out_tickets,
            "sessions": out_sessions,
            "other_messages": [_message(m) for m in messages if m.id not in listed],
            "other_events": [_event(e) for e in events if e.session_id not in sessions],
            "process_feedback": [{
                "ticket_number": number.get(f.ticket_id or -1), "rep": f.rep,
                "rep_name": f.rep_name, "area": f.area, "what_happened": f.what_happened,
                "what_would_help": f.what_would_help, "status": f.status, "reply": f.reply,
                "created_at": _iso(f.created_at)} for f in feedback],
            "slack_messages": [{"ticket_number": number.get(th.ticket_id),
                                "channel": th.channel, "ts": th.ts} for th in threads],
            # The tokens Rasa saw for the address, by conversation (frontline.support.vault).
            "email_tokens": [{"token": t.token, "session_id": t.session_id,
                              "created_at": _iso(t.created_at)} for t in tokens],
            "rasa_tracker": {
                "available": missing is None,
                "detail": missing or "events of the sessions above in Rasa's tracker store",
                "events": tracker_events,
            },
        }

    # -- erase -------------------------------------------------------------------------------

    def erase(self, email: str) -> dict[str, int]:
        """Delete the customer's tickets, conversations and Rasa tracker events; anonymise the
        events that feed the reports (their text goes, their figures stay). Returns counts per
        table; ``events_anonymised`` and ``process_feedback_unlinked`` rows were kept, changed."""
        counts = {"tickets": 0, "messages": 0, "chat_sessions": 0, "slack_threads": 0,
                  "slack_outbox": 0, "events_anonymised": 0, "process_feedback_unlinked": 0,
                  "email_tokens": 0}
        with self.db.session() as session:
            tickets = self._tickets(session, email)
            ids = [t.id for t in tickets]
            sessions = self._sessions(session, tickets, email)
            event_filter = self._linked(Event.session_id, Event.ticket_id, sessions, ids)
            if event_filter is not None:
                # A random stand-in per conversation: per-session figures survive, no link does.
                alias = {sid: f"erased-{secrets.token_hex(8)}" for sid in sessions}
                for row in session.scalars(select(Event).where(event_filter)).all():
                    row.query = None
                    row.ticket_id = None
                    if row.session_id is not None:
                        row.session_id = alias.get(row.session_id,
                                                   f"erased-{secrets.token_hex(8)}")
                    counts["events_anonymised"] += 1
                session.flush()
            message_filter = self._linked(Message.session_id, Message.ticket_id, sessions, ids)
            if message_filter is not None:
                counts["messages"] = _deleted(session.execute(
                    delete(Message).where(message_filter)))
            if ids:
                keys = [f"ticket:{i}" for i in ids]
                counts["slack_outbox"] = _deleted(session.execute(delete(SlackOutbox).where(
                    or_(SlackOutbox.ticket_id.in_(ids), SlackOutbox.key.in_(keys)))))
                counts["slack_threads"] = _deleted(session.execute(
                    delete(SlackThread).where(SlackThread.ticket_id.in_(ids))))
                counts["process_feedback_unlinked"] = _deleted(session.execute(
                    update(ProcessFeedback).where(ProcessFeedback.ticket_id.in_(ids))
                    .values(ticket_id=None)))
            chat_filter = self._linked(ChatSession.session_id, ChatSession.handoff_ticket_id,
                                       sessions, ids)
            if chat_filter is not None:
                counts["chat_sessions"] = _deleted(session.execute(
                    delete(ChatSession).where(chat_filter)))
            if ids:
                session.execute(delete(TicketStatusChange).where(
                    TicketStatusChange.ticket_id.in_(ids)))
                counts["tickets"] = _deleted(session.execute(
                    delete(Ticket).where(Ticket.id.in_(ids))))
            token_filter = [EmailToken.email == email.strip().lower()]
            if sessions:
                token_filter.append(EmailToken.session_id.in_(sorted(sessions)))
            counts["email_tokens"] = _deleted(session.execute(
                delete(EmailToken).where(or_(*token_filter))))
        # Our database is committed first: should the tracker fail, running erase again still
        # finds the conversations there by the email's text, and nothing of ours is left.
        try:
            counts["rasa_events"] = self.tracker.delete(senders=sessions)
        except DatabaseUnavailable as exc:
            raise DatabaseUnavailable(
                f"Frontline's data was erased ({counts}), but {exc.detail}: run erase again "
                "when it is back") from exc
        logger.info("erased one customer's data: %s", counts)
        return counts

    # -- purge (retention) -------------------------------------------------------------------

    def purge(self, older_than_days: int) -> dict[str, int]:
        """Remove transcripts whose last activity is older than ``older_than_days``: idle
        conversations' messages and sessions, resolved tickets' transcripts and notes, the
        text of old report events (the rows stay), finished Slack outbox rows and Rasa's
        tracker events. Open tickets and live handoffs keep their conversation."""
        if older_than_days < 1:
            raise ValueError("older_than_days must be at least 1")
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        counts: dict[str, int] = {}
        with self.db.session() as session:
            old_tickets = sorted(session.scalars(select(Ticket.id).where(
                Ticket.status == "resolved", Ticket.resolved_at < cutoff)).all())
            # The conversation of a ticket still being worked on is kept whatever its age.
            working = select(Ticket.session_id).where(Ticket.session_id.is_not(None))
            if old_tickets:
                working = working.where(Ticket.id.not_in(old_tickets))
            kept = {s for s in session.scalars(working).all() if s}
            kept |= set(session.scalars(select(ChatSession.session_id).where(or_(
                ChatSession.handoff_active.is_(True), ChatSession.updated_at >= cutoff))).all())
            kept |= set(session.scalars(select(Message.session_id).where(
                Message.created_at >= cutoff).distinct()).all())
            candidates = set(session.scalars(select(Message.session_id).distinct()).all())
            candidates |= set(session.scalars(select(ChatSession.session_id)).all())
            idle = sorted(candidates - kept)
            condition = []
            if idle:
                unticketed: ColumnElement[bool] = Message.ticket_id.is_(None)
                if old_tickets:
                    unticketed = or_(unticketed, Message.ticket_id.in_(old_tickets))
                condition.append(and_(Message.session_id.in_(idle), unticketed))
            if old_tickets:
                condition.append(Message.ticket_id.in_(old_tickets))
            counts["messages"] = _deleted(session.execute(
                delete(Message).where(or_(*condition)))) if condition else 0
            counts["chat_sessions"] = _deleted(session.execute(
                delete(ChatSession).where(ChatSession.session_id.in_(idle)))) if idle else 0
            cleared = 0
            if old_tickets:
                for ticket in session.scalars(select(Ticket).where(
                        Ticket.id.in_(old_tickets))).all():
                    if ticket.transcript:
                        ticket.transcript = []
                        cleared += 1
            counts["ticket_transcripts"] = cleared
            counts["event_queries"] = _deleted(session.execute(update(Event).where(
                Event.created_at < cutoff, Event.query.is_not(None)).values(query=None)))
            counts["slack_outbox"] = _deleted(session.execute(delete(SlackOutbox).where(
                SlackOutbox.status.in_(FINISHED_OUTBOX), SlackOutbox.created_at < cutoff)))
            # The addresses behind the tokens of conversations idle that long (a token is only
            # needed while its conversation goes on).
            stale = EmailToken.created_at < cutoff
            if kept:
                stale = and_(stale, EmailToken.session_id.not_in(sorted(kept)))
            counts["email_tokens"] = _deleted(session.execute(delete(EmailToken).where(stale)))
        try:
            counts["rasa_events"] = self.tracker.delete(before=cutoff.timestamp())
        except DatabaseUnavailable as exc:
            logger.error("retention: %s; its events are purged next time", exc.detail)
            counts["rasa_events"] = 0
        return counts


async def retention_schedule(privacy: Privacy, days: int, every_s: float = DAY_S) -> None:
    """Purge once now, then every ``every_s`` seconds, until cancelled; a failed run is
    logged and the schedule goes on."""
    while True:
        try:
            counts = await asyncio.to_thread(privacy.purge, days)
            logger.info("retention: purged transcripts older than %d days: %s", days, counts)
        except Exception:  # the schedule must survive one bad run
            logger.exception("retention: purge failed; retrying in %.0f s", every_s)
        await asyncio.sleep(every_s)
