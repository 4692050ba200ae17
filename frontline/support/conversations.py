"""Conversation state kept by the service: who has the chat (assistant or a human), and the
messages Rasa did not produce — customers' words kept while the assistant was unreachable or a
human had the chat, and reps' replies to be shown to the customer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontline.db import ChatSession, Database, Message
from frontline.redaction import mask

CUSTOMER, BOT, REP, SYSTEM, NOTE = "customer", "bot", "rep", "system", "note"


class Conversations:
    def __init__(self, db: Database) -> None:
        self.db = db

    def start_handoff(self, session_id: str, ticket_id: int, channel: str = "webchat") -> None:
        """A person has the conversation from now on (the row is locked while it changes)."""
        with self.db.session() as session:
            chat = self._locked(session, session_id)
            if chat is None:
                chat = ChatSession(session_id=session_id, channel=channel)
                session.add(chat)
            chat.handoff_ticket_id = ticket_id
            chat.handoff_active = True
            chat.updated_at = datetime.now(UTC)

    def end_handoff(self, session_id: str, ticket_id: int) -> bool:
        """Give the conversation back to the assistant; False when that ticket's handoff was
        not the active one (already ended, or another ticket has the chat)."""
        with self.db.session() as session:
            chat = self._locked(session, session_id)
            if chat is None or not chat.handoff_active or chat.handoff_ticket_id != ticket_id:
                return False
            chat.handoff_active = False
            chat.updated_at = datetime.now(UTC)
            return True

    def handoff_ticket(self, session_id: str) -> int | None:
        """Ticket id of the open handoff for this conversation, or None if the bot has it."""
        with self.db.session() as session:
            chat = session.get(ChatSession, session_id)
            if chat is None or not chat.handoff_active:
                return None
            return chat.handoff_ticket_id

    def add_customer(self, session_id: str, text: str,
                     data: dict[str, Any] | None = None) -> tuple[Message, int | None]:
        """Store a customer's message (masked) and say who has the chat, in one transaction:
        during a handoff the message is filed under its ticket, and a handoff cannot start or
        end between the check and the insert. Returns (message, handoff ticket id or None)."""
        with self.db.session() as session:
            chat = self._locked(session, session_id)
            ticket_id = chat.handoff_ticket_id if chat is not None and chat.handoff_active \
                else None
            message = Message(session_id=session_id, sender=CUSTOMER, text=mask(text),
                              ticket_id=ticket_id, data=data or {})
            session.add(message)
        return message, ticket_id

    @staticmethod
    def _locked(session: Session, session_id: str) -> ChatSession | None:
        """The chat row, locked for this transaction where the database can (PostgreSQL)."""
        return session.scalar(
            select(ChatSession).where(ChatSession.session_id == session_id).with_for_update()
        )

    def add(
        self,
        session_id: str,
        sender: str,
        text: str,
        *,
        ticket_id: int | None = None,
        data: dict[str, Any] | None = None,
        masked: bool = False,
    ) -> Message:
        with self.db.session() as session:
            message = Message(
                session_id=session_id, sender=sender, text=mask(text) if masked else text,
                ticket_id=ticket_id, data=data or {},
            )
            session.add(message)
        return message

    def messages(
        self, session_id: str, *, after_id: int = 0, senders: tuple[str, ...] | None = None
    ) -> list[Message]:
        query = select(Message).where(Message.session_id == session_id, Message.id > after_id)
        if senders:
            query = query.where(Message.sender.in_(senders))
        with self.db.session() as session:
            return list(session.scalars(query.order_by(Message.id)).all())

    def mark_undelivered(self, message_id: int) -> None:
        """The assistant never saw this customer message (it was unreachable)."""
        with self.db.session() as session:
            message = session.get(Message, message_id)
            if message is not None:
                message.data = {**(message.data or {}), "undelivered": True}

    def undelivered(self, session_id: str) -> list[Message]:
        """Customer messages the assistant never saw and no ticket holds yet."""
        return [
            m for m in self.messages(session_id, senders=(CUSTOMER,))
            if (m.data or {}).get("undelivered") and m.ticket_id is None
        ]

    def attach(self, session_id: str, message_ids: list[int], ticket_id: int) -> None:
        with self.db.session() as session:
            for message in session.scalars(select(Message).where(
                Message.session_id == session_id, Message.id.in_(message_ids)
            )):
                message.ticket_id = ticket_id
