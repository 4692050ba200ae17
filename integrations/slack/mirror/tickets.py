"""The ticket queue in Slack: each ticket's message in the tickets channel, and its thread.

A ``frontline.notify.Listener``: the services call it after a change is committed, from
whatever thread made the change, so it only enqueues into the retry queue (``Outbox``) and
never blocks on Slack. What it enqueues:

* ``ticket_filed`` / ``ticket_changed`` → one ``"ticket_message"`` per ticket, key
  ``ticket:<id>``: posted the first time, ``chat.update``-d afterwards, always drawn from the
  ticket's state *at send time* by ``render`` (so a burst of changes shows the latest);
* ``customer_message`` → the customer's words as a reply in the ticket's thread;
* ``rep_message`` made outside the thread (the tickets API, *Send to customer*) → mirrored into
  the thread, so it holds the whole conversation; a reply typed in the thread is not echoed;
* ``handoff_ended`` → a note in the thread.

Thread replies share the ticket message's key, so they are posted after it, in order. With
``FRONTLINE_SLACK_TICKETS_CHANNEL`` unset nothing is posted (a ticket already in Slack keeps
being updated).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from frontline.db import ProcessFeedback, Ticket
from frontline.errors import FrontlineError
from frontline.knowledge.links import article_link
from frontline.redaction import mask_email
from frontline.support.conversations import CUSTOMER
from integrations.slack import blocks
from integrations.slack.assist import suggestion
from integrations.slack.outbox import RECORDS_TS
from integrations.slack.threads import thread_of

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

SUGGESTED = 3  # articles suggested to the rep on a ticket
ASKED_TURNS = 6  # the customer's latest turns shown as "Customer asked"
TYPED_IN_SLACK = "slack"  # Handoff.reply(source=…) of a reply typed in the ticket's thread
SENT_FROM_SUGGESTIONS = "slack_suggestion"  # … of Send to customer


def key_of(ticket_id: int) -> str:
    """The ordering key of everything posted about a ticket."""
    return f"ticket:{ticket_id}"


class TicketMirror:
    """Tickets and their live handoff, mirrored into the tickets channel."""

    def __init__(self, slack: SlackIntegration) -> None:
        self.slack = slack
        slack.outbox.renderers[RECORDS_TS] = self.render

    @property
    def channel(self) -> str:
        return self.slack.services.settings.slack_tickets_channel.strip()

    @property
    def public_url(self) -> str:
        return self.slack.services.settings.public_url

    # -- notifications --------------------------------------------------------------------------
    def ticket_filed(self, ticket: Ticket) -> None:
        self._card(ticket)

    def ticket_changed(self, ticket: Ticket) -> None:
        self._card(ticket)

    def customer_message(self, ticket: Ticket, text: str) -> None:
        self._thread(ticket, blocks.handoff_customer_message(text))

    def rep_message(self, ticket: Ticket, text: str, author: str, source: str) -> None:
        if source == TYPED_IN_SLACK:
            return  # already in the thread: the rep typed it there
        via = "suggestion" if source == SENT_FROM_SUGGESTIONS else "api"
        self._thread(ticket, blocks.handoff_rep_message(author, text, via=via))

    def handoff_ended(self, ticket: Ticket, by: str) -> None:
        self._thread(ticket, blocks.handoff_ended_message(by or None))

    def feedback_filed(self, item: ProcessFeedback) -> None:
        pass

    def feedback_changed(self, item: ProcessFeedback) -> None:
        pass

    # -- enqueueing -----------------------------------------------------------------------------
    def _card(self, ticket: Ticket) -> bool:
        """Queue the ticket's message (new or updated); False when it is not mirrored."""
        channel = self.channel
        if not channel and thread_of(self.slack.services.db, ticket.id) is None:
            return False
        self.slack.outbox.enqueue(key_of(ticket.id), RECORDS_TS,
                                  {"channel": channel, "ticket_id": ticket.id},
                                  ticket_id=ticket.id)
        return True

    def _thread(self, ticket: Ticket, message: dict[str, Any]) -> None:
        outbox = self.slack.outbox
        if not outbox.has_message(ticket.id) and not self._card(ticket):
            return
        outbox.enqueue(key_of(ticket.id), "chat.postMessage", {"_thread": True, **message},
                       ticket_id=ticket.id)

    # -- rendering (the outbox calls this when it sends) ----------------------------------------
    async def render(self, params: dict[str, Any]) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.card_message, int(params["ticket_id"]))

    def card_message(self, ticket_id: int) -> dict[str, Any] | None:
        """The ticket message for the ticket's current state (None: the ticket is gone)."""
        services = self.slack.services
        ticket = services.tickets.by_id(ticket_id)
        if ticket is None or ticket.number is None:
            return None
        asked = asked_text(ticket)
        card = blocks.TicketCard(
            number=ticket.number,
            status=ticket.status,
            priority=ticket.priority,
            summary=ticket.summary,
            email_masked=mask_email(ticket.email) if ticket.email else "",
            handoff=ticket.handoff,
            handoff_active=services.handoff.active(ticket),
            assignee=ticket.assignee,
            asked=asked,
            shown_articles=self._shown(ticket),
            suggestions=self._suggestions(asked),
            channel=ticket.channel,
        )
        return blocks.ticket_message(card)

    def _shown(self, ticket: Ticket) -> list[tuple[str, str | None]]:
        shown = []
        for article_id in ticket.tried_articles or []:
            try:
                hit = self.slack.services.knowledge.article(str(article_id), "public")
            except FrontlineError:
                continue  # deleted since, or the index is not loaded: leave it out
            shown.append((hit.title, article_link(hit, self.public_url)))
        return shown

    def _suggestions(self, asked: str) -> list[blocks.Suggestion]:
        knowledge = self.slack.services.knowledge
        query = asked[: self.slack.services.settings.query_max_chars].strip()
        if not query:
            return []
        try:
            hits = knowledge.search(query, "internal", SUGGESTED)
        except FrontlineError as exc:
            logger.warning("no suggestions on a ticket message: %s", exc.detail)
            return []
        return [suggestion(hit, knowledge.thresholds, self.public_url) for hit in hits]


def asked_text(ticket: Ticket) -> str:
    """What the customer asked: their latest turns in the transcript (not button payloads),
    or the ticket's summary when the transcript has none."""
    turns = [str(turn.get("text", "")).strip() for turn in ticket.transcript or []
             if turn.get("sender") == CUSTOMER]
    said = [t for t in turns if t and not t.startswith("/")][-ASKED_TURNS:]
    return "\n".join(said) if said else ticket.summary
