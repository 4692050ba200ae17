"""Slack actions listeners: ticket buttons and the live handoff (helper B), ratings and
"Flag a KB gap" on suggestions. Each matches its own action_ids (``integrations.slack.ids``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners.actions import gaps, handoff, ratings, tickets

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    tickets.register(app, slack)
    handoff.register(app, slack)
    ratings.register(app, slack)
    gaps.register(app, slack)
