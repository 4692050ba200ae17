"""Slack listeners, by kind. Each kind's package has a ``register(app, slack)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners import actions, commands, errors, events, shortcuts, views

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    for kind in (commands, events, actions, views, shortcuts, errors):
        kind.register(app, slack)
