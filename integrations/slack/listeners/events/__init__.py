"""Slack events listeners.

Bolt runs only the first listener that matches an event, so the matchers are disjoint and the
order is deliberate: a rep's reply in a ticket's thread (``threads``, helper B: the tickets
channel, ``thread_ts`` set) first; then an @mention (``mentions``: ``app_mention`` events); then
a DM to the app (``direct``: ``channel_type == "im"``); last, every other message event the
app receives (ordinary channel chatter, edits, bot posts) is acknowledged and ignored — never
logged with its text as an "unhandled request".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from integrations.slack.listeners.events import direct, mentions, threads

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    threads.register(app, slack)
    mentions.register(app, slack)
    direct.register(app, slack)

    @app.event("message")
    async def ignore_other_messages() -> None:
        """Messages no listener above is for: acknowledged, nothing else."""
