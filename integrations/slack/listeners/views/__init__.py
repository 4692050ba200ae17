"""Slack modal submissions: process feedback and the reason for a 👎."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners.views import feedback, ratings

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    feedback.register(app, slack)
    ratings.register(app, slack)
