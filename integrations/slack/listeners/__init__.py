"""Slack listeners, by kind. Each kind's package has a ``register(app, slack)``.

Order matters twice: the repeated-delivery middleware is registered before any listener, and
Bolt runs only the first listener that matches a request (see ``events``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners import (
    actions,
    commands,
    dedupe,
    errors,
    events,
    request_logs,
    shortcuts,
    views,
)

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    request_logs.install(app.logger)
    dedupe.register(app, slack)
    for kind in (commands, events, actions, views, shortcuts, errors):
        kind.register(app, slack)
