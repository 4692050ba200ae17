"""In-process notifications from the domain services to whoever mirrors them elsewhere.

The Slack app subscribes: a ticket filed or changed updates its Slack message, a customer's
words during a handoff appear in the ticket's thread, and so on. Listeners must not block (the
Slack one enqueues into its retry queue) and must not raise: a failure to mirror is logged and
never undoes what the customer or rep did.
"""

from __future__ import annotations

import logging
from typing import Protocol

from frontline.db import ProcessFeedback, Ticket

logger = logging.getLogger(__name__)


class Listener(Protocol):
    def ticket_filed(self, ticket: Ticket) -> None: ...

    def ticket_changed(self, ticket: Ticket) -> None: ...

    def customer_message(self, ticket: Ticket, text: str) -> None: ...

    def rep_message(self, ticket: Ticket, text: str, author: str, source: str) -> None: ...

    def handoff_ended(self, ticket: Ticket, by: str) -> None: ...

    def feedback_filed(self, item: ProcessFeedback) -> None: ...

    def feedback_changed(self, item: ProcessFeedback) -> None: ...


class Notifier:
    """Fans each notification out to the subscribed listeners."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _each(self, method: str, *args: object) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, method)(*args)
            except Exception:
                logger.exception("listener %s failed on %s", type(listener).__name__, method)

    def ticket_filed(self, ticket: Ticket) -> None:
        self._each("ticket_filed", ticket)

    def ticket_changed(self, ticket: Ticket) -> None:
        self._each("ticket_changed", ticket)

    def customer_message(self, ticket: Ticket, text: str) -> None:
        self._each("customer_message", ticket, text)

    def rep_message(self, ticket: Ticket, text: str, author: str, source: str) -> None:
        self._each("rep_message", ticket, text, author, source)

    def handoff_ended(self, ticket: Ticket, by: str) -> None:
        self._each("handoff_ended", ticket, by)

    def feedback_filed(self, item: ProcessFeedback) -> None:
        self._each("feedback_filed", item)

    def feedback_changed(self, item: ProcessFeedback) -> None:
        self._each("feedback_changed", item)
