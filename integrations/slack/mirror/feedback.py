"""Mirror of feedback notifications into Slack. (Being written.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from frontline.db import ProcessFeedback, Ticket

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


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
        pass

    def feedback_changed(self, item: ProcessFeedback) -> None:
        pass
