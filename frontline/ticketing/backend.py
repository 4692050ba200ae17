"""What Frontline needs from a ticket system. The built-in SQL store is the first
implementation (``SqlTicketBackend``); an adapter to a helpdesk implements the same protocol."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from frontline.db import Message, Ticket
from indexer.text import shorten

NUMBER_OFFSET = 10000  # ticket numbers start at 10001: they read as numbers, not row ids
STATUSES = ("open", "pending", "resolved")
PRIORITIES = ("normal", "high")
SUMMARY_MAX = 200


class TicketBackend(Protocol):
    def create(
        self, *, email: str, summary: str, details: str = "",
        transcript: Sequence[dict[str, Any]] = (), tried_articles: Sequence[str] = (),
        session_id: str | None = None, channel: str = "webchat", handoff: bool = False,
    ) -> Ticket:
        """File a ticket (personal data masked); raises ``InvalidTicket``."""

    def get(self, number: int) -> Ticket:
        """Raises ``TicketNotFound``."""

    def by_id(self, ticket_id: int) -> Ticket | None: ...

    def lookup(self, number: int, email: str) -> Ticket | None:
        """The ticket only when number and email belong together."""

    def find(self, *, status: str | None = None, handoff: bool | None = None,
             limit: int = 50, offset: int = 0) -> tuple[list[Ticket], int]: ...

    def update(self, number: int, *, status: str | None = None, assignee: str | None = None,
               note: str | None = None, author: str = "admin") -> Ticket: ...

    def notes(self, ticket: Ticket) -> list[Message]: ...


def propose_summary(text: str) -> str:
    """A one-line summary from a customer's message: first sentence, trimmed to the limit."""
    line = " ".join(text.split())
    first = shorten(re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0], SUMMARY_MAX)
    return first[:1].upper() + first[1:]
