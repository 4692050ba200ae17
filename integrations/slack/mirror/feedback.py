"""Process feedback mirrored into Slack (through the retry queue).

* ``feedback_filed``: a new item is posted to ``FRONTLINE_SLACK_FEEDBACK_CHANNEL`` when set.
* ``feedback_changed``: the rep who sent it gets a DM with the new status and the ops reply
  (the DM is opened with ``conversations.open``: see ``integrations.slack.dm``).

Ticket notifications are the ticket mirror's (``mirror.tickets``): no-ops here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from frontline.db import ProcessFeedback, Ticket
from frontline.services import Services
from integrations.slack import blocks
from integrations.slack.assist import assist_for

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)


def feedback_card(services: Services, item: ProcessFeedback) -> blocks.FeedbackCard:
    """What the builders show of ``item`` (its ticket by number, as reps know it)."""
    number = None
    if item.ticket_id is not None:
        ticket = services.tickets.by_id(item.ticket_id)
        number = ticket.number if ticket is not None else None
    return blocks.FeedbackCard(
        id=item.id, area=item.area, what_happened=item.what_happened,
        what_would_help=item.what_would_help or "", impact=item.impact, ticket_number=number,
        status=item.status, reply=item.reply or None, rep=item.rep)


class FeedbackMirror:
    """A frontline.notify.Listener."""

    def __init__(self, slack: SlackIntegration) -> None:
        self.slack = slack

    def ticket_filed(self, ticket: Ticket) -> None:
        pass

    def ticket_changed(self, ticket: Ticket) -> None:
        pass

    def customer_message(self, ticket: Ticket, text: str) -> None:
        pass

    def rep_message(self, ticket: Ticket, text: str, author: str, source: str) -> None:
        pass

    def handoff_ended(self, ticket: Ticket, by: str) -> None:
        pass

    def feedback_filed(self, item: ProcessFeedback) -> None:
        channel = self.slack.services.settings.slack_feedback_channel
        if not channel:
            return
        message = blocks.feedback_posted_message(feedback_card(self.slack.services, item))
        self.slack.outbox.enqueue(f"feedback:{item.id}", "chat.postMessage",
                                  {"channel": channel, **message, "unfurl_links": False})

    def feedback_changed(self, item: ProcessFeedback) -> None:
        message = blocks.feedback_update_dm(feedback_card(self.slack.services, item))
        assist_for(self.slack).dms.send_soon(item.rep, message)
