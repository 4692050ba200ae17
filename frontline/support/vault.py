"""Customers' personal data kept out of Rasa: what the assistant sees instead of it.

Rasa's tracker store keeps every word it is sent, and we do not mask it. So the chat turn
sends Rasa ``protect(session_id, text)``: card and phone numbers masked as in our own tables
(``frontline.redaction``), and each email address replaced by a token of the same shape
(``t3f9c2a41d07e@email.invalid``), so the ticket form's email slot still validates and the
bot's regex still finds it. The real address sits in one small table of our database,
``email_tokens``, one row per conversation and address; the ticket actions ``reveal`` a token
when they file a ticket or look one up. A token is only revealed in the conversation it was
issued in. ``frontline privacy erase`` deletes a customer's rows; retention purges old ones
(``frontline.support.privacy``).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from frontline.db import Base, Database
from frontline.db.models import utcnow
from frontline.redaction import EMAIL, EMAIL_MAX, mask_email, mask_numbers

TOKEN_DOMAIN = "email.invalid"  # .invalid is reserved (RFC 2606): never anyone's address
TOKEN = re.compile(rf"\bt[0-9a-f]{{12}}@{re.escape(TOKEN_DOMAIN)}\b")


class EmailToken(Base):
    """An email address a customer typed, and the token Rasa saw instead (migration 0006)."""

    __tablename__ = "email_tokens"
    __table_args__ = (
        UniqueConstraint("session_id", "email", name="uq_email_tokens_session_email"),
        Index("ix_email_tokens_email", "email"),
        Index("ix_email_tokens_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    session_id: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def is_token(value: str) -> bool:
    return TOKEN.fullmatch(value.strip().lower()) is not None


class EmailVault:
    def __init__(self, db: Database) -> None:
        self.db = db

    def protect(self, session_id: str, text: str) -> str:
        """``text`` as the assistant may see it: each email address replaced by this
        conversation's token for it (the same address, the same token), card and phone
        numbers masked. A token already in the text stays as it is."""
        addresses = {m.group().lower() for m in EMAIL.finditer(text)
                     if len(m.group()) <= EMAIL_MAX and not is_token(m.group())}
        tokens = {email: self.token_for(session_id, email) for email in addresses}
        protected = EMAIL.sub(lambda m: tokens.get(m.group().lower(), m.group()), text)
        return mask_numbers(protected)

    def token_for(self, session_id: str, email: str) -> str:
        email = email.strip().lower()
        for _ in range(3):  # a concurrent turn may insert the same address first
            with self.db.session() as session:
                found = session.scalar(select(EmailToken.token).where(
                    EmailToken.session_id == session_id, EmailToken.email == email))
                if found:
                    return found
            token = f"t{secrets.token_hex(6)}@{TOKEN_DOMAIN}"
            try:
                with self.db.session() as session:
                    session.add(EmailToken(token=token, session_id=session_id, email=email))
                return token
            except IntegrityError:
                continue
        raise RuntimeError(f"could not store an email token for session {session_id}")

    def display(self, session_id: str, text: str) -> str:
        """``text`` with each token of this conversation shown as its masked address
        (``j•••@example.com``), any other token as ``[email]``: what a customer sees and our
        messages store when the assistant echoes one."""
        if TOKEN_DOMAIN not in text:
            return text
        return TOKEN.sub(lambda m: self._shown(session_id, m.group()), text)

    def _shown(self, session_id: str, token: str) -> str:
        email = self.reveal(session_id, token)
        return "[email]" if email == token else mask_email(email)

    def reveal(self, session_id: str, value: str) -> str:
        """The address behind a token issued in this conversation; any other value (a real
        address, a token of another conversation, nothing) is returned unchanged."""
        if not value or not is_token(value):
            return value
        with self.db.session() as session:
            email = session.scalar(select(EmailToken.email).where(
                EmailToken.token == value.strip().lower(), EmailToken.session_id == session_id))
        return email or value
