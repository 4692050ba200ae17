"""Handing a conversation to a person, the person's replies, and handing it back.

One implementation for every surface: the assistant's handoff action starts it, reps reply
through the tickets API or the Slack thread, and a rep (Slack's *End conversation*, or
resolving the ticket anywhere) gives the chat back to the assistant — the customer is told.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from frontline.analytics import EventLog
from frontline.db import Message, Ticket
from frontline.errors import NotAHandoff
from frontline.notify import Notifier
from frontline.support.conversations import BOT, REP, Conversations
from frontline.ticketing import TicketBackend

logger = logging.getLogger(__name__)

STARTED = (
    "I've asked a person from our support team to take over (ticket **#{number}**, high "
    "priority). They'll reply right here in this chat — usually within an hour during support "
    "hours (Monday to Friday, 07:00–19:00 UTC). Anything you type now goes straight to them."
)
RELAYED = "Sent to our support team — they'll reply here."
ENDED = (
    "Our support team has ended this conversation — thank you for your patience. I'm the "
    "assistant again: ask me anything, or ask for a person if you need one."
)
# The rating the assistant asks after a deflected conversation (utter_ask_csat), asked here
# after a person ended the chat or resolved its ticket; the payloads are the csat intent's.
CSAT_QUESTION = (
    "How would you rate your support experience today, from 1 (poor) to 5 (excellent)?"
)
CSAT_BUTTONS = [{"title": str(n), "payload": f'/csat{{"csat_score": "{n}"}}'}
                for n in range(1, 6)]


class Handoff:
    def __init__(self, conversations: Conversations, tickets: TicketBackend, events: EventLog,
                 notifier: Notifier) -> None:
        self.conversations = conversations
        self.tickets = tickets
        self.events = events
        self.notifier = notifier

    def start(self, session_id: str, *, email: str, summary: str, details: str,
              transcript: Sequence[dict[str, Any]], tried_articles: Sequence[str],
              channel: str = "webchat") -> Ticket:
        """File a high-priority handoff ticket and give the chat to a person."""
        ticket = self.tickets.create(
            email=email, summary=summary, details=details, transcript=transcript,
            tried_articles=tried_articles, session_id=session_id, channel=channel,
            handoff=True,
        )
        self.conversations.start_handoff(session_id, ticket.id, channel)
        self.events.record("handoff", session_id=session_id, channel=channel,
                           ticket_id=ticket.id, deflected=False)
        self.notifier.ticket_changed(ticket)  # now with the live conversation
        return ticket

    def relay(self, ticket_id: int, text: str) -> None:
        """A customer's message during the handoff (already stored) reaches the rep."""
        ticket = self.tickets.by_id(ticket_id)
        if ticket is not None:
            self.notifier.customer_message(ticket, text)

    def reply(self, number: int, text: str, *, author: str, source: str = "api") -> Message:
        """A rep's reply, shown in the customer's chat. Raises ``NotAHandoff`` for a ticket
        without a chat conversation."""
        ticket = self.tickets.get(number)
        if not ticket.session_id:
            raise NotAHandoff(f"ticket #{number} has no chat conversation to reply in")
        message = self.conversations.add(ticket.session_id, REP, text.strip(),
                                         ticket_id=ticket.id, data={"author": author})
        self.notifier.rep_message(ticket, text.strip(), author, source)
        return message

    def active(self, ticket: Ticket) -> bool:
        return bool(ticket.session_id) and (
            self.conversations.handoff_ticket(ticket.session_id or "") == ticket.id
        )

    def end(self, number: int, *, by: str) -> bool:
        """Give the chat back to the assistant and tell the customer; False when the ticket's
        handoff was not active (nothing changes)."""
        ticket = self.tickets.get(number)
        if not ticket.session_id or not self.conversations.end_handoff(ticket.session_id,
                                                                       ticket.id):
            return False
        # One message: the customer is told, and asked to rate the conversation.
        self.conversations.add(ticket.session_id, BOT, f"{ENDED}\n\n{CSAT_QUESTION}",
                               ticket_id=ticket.id,
                               data={"handoff_ended": True, "buttons": CSAT_BUTTONS,
                                     "links": [], "csat_asked": True})
        self.events.record("handoff_end", session_id=ticket.session_id, channel=ticket.channel,
                           ticket_id=ticket.id)
        self.events.record("csat_asked", session_id=ticket.session_id, channel=ticket.channel,
                           ticket_id=ticket.id)
        self.notifier.handoff_ended(ticket, by)
        self.notifier.ticket_changed(ticket)
        return True

    def ask_csat(self, ticket: Ticket) -> None:
        """Ask the customer for a 1–5 rating in the chat, with the buttons the assistant
        understands (the ``csat`` intent, as after a deflected conversation): after a rep
        resolved a chat ticket that had no live conversation."""
        if not ticket.session_id:
            return
        self.conversations.add(ticket.session_id, BOT, CSAT_QUESTION, ticket_id=ticket.id,
                               data={"buttons": CSAT_BUTTONS, "links": [], "csat_asked": True})
        self.events.record("csat_asked", session_id=ticket.session_id, channel=ticket.channel,
                           ticket_id=ticket.id)

    def update_ticket(self, number: int, *, status: str | None = None,
                      assignee: str | None = None, note: str | None = None,
                      author: str = "admin") -> Ticket:
        """Change a ticket; resolving a handoff ticket also ends its live conversation.
        Resolving a chat ticket asks the customer for a rating; opening a resolved one again
        is recorded (the reopened tickets of the ops reports)."""
        before = self.tickets.get(number).status if status is not None else None
        ticket = self.tickets.update(number, status=status, assignee=assignee, note=note,
                                     author=author)
        if status == "resolved" and ticket.handoff:
            self.end(number, by=author)
        elif status == "resolved" and before != "resolved":
            self.ask_csat(ticket)
        elif before == "resolved" and status != "resolved":
            self.events.record("reopen", session_id=ticket.session_id, channel=ticket.channel,
                               ticket_id=ticket.id)
        return ticket
