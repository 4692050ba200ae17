"""Slack slash commands: ``/ask`` (suggested answers) and ``/feedback`` (process feedback)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners.commands import ask, feedback

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    ask.register(app, slack)
    feedback.register(app, slack)
