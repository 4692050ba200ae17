"""Slack shortcuts: the global *Process feedback* and the message *Send as process feedback*."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners.shortcuts import feedback

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    feedback.register(app, slack)
