"""The ticket queue in Slack, through the real service: ``create_app`` with the real Bolt
FastAPI adapter, signed requests to ``/slack/events``, and the Slack stub on 127.0.0.1.

Each ticket the assistant files is posted to the tickets channel with what a rep needs; the
buttons change the ticket in the store and the message is redrawn in place (``chat.update``),
as it is after a change through the tickets API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from slack_sdk.web.async_client import AsyncWebClient

from frontline.api.app import create_app
from frontline.db import SlackThread, Ticket
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from frontline.services import Services
from integrations.slack import blocks, ids
from integrations.slack.app import SlackIntegration
from tests.conftest import make_settings
from tests.integrations.slack.rep_harness import texts
from tests.support.slack_api import SlackStub
from tests.support.slack_signing import (
    REP_USER_ID,
    block_actions_payload,
    interaction_body,
    signed_headers,
)

TOKEN = "xoxb-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TICKETS = "C0TICKETS"
ADMIN = {"Authorization": "Bearer admin-secret"}


@dataclass
class Harness:
    """The running service, its Slack app and the stub it talks to."""

    client: TestClient
    stub: SlackStub
    services: Services
    slack: SlackIntegration

    # -- what Slack shows ---------------------------------------------------------------------
    def thread(self, ticket: Ticket) -> SlackThread | None:
        with self.services.db.session() as session:
            return session.get(SlackThread, ticket.id)

    def card(self, ticket: Ticket) -> dict[str, Any] | None:
        """The ticket's message in the tickets channel (current state), once posted."""
        header = f"Ticket #{ticket.number}:"
        for message in self.stub.messages(TICKETS):
            first = (message.get("blocks") or [{}])[0]
            if header in (first.get("text") or {}).get("text", ""):
                return message
        return None

    def wait_card(self, ticket: Ticket, until: Any = None, timeout: float = 10) -> dict[str, Any]:
        """The ticket's message once it is posted (and ``until(message)`` holds)."""
        def ready() -> dict[str, Any] | None:
            message = self.card(ticket)
            return message if message and (until is None or until(message)) else None
        return self.stub.wait_for(ready, timeout=timeout)

    def replies(self, ticket: Ticket) -> list[str]:
        """The texts of the replies in the ticket's thread, oldest first."""
        thread = self.thread(ticket)
        if thread is None or not thread.ts:
            return []
        return [m["text"] for m in self.stub.messages(TICKETS, thread_ts=thread.ts)]

    def ephemeral(self, user: str = REP_USER_ID) -> list[str]:
        return [m["text"] for m in self.stub.ephemeral_messages(user=user)]

    # -- what a rep does ----------------------------------------------------------------------
    def click(self, action_id: str, value: dict[str, Any], *, user: str = REP_USER_ID,
              message_ts: str = "1700000000.000100", thread_ts: str | None = None,
              channel: str = TICKETS) -> httpx.Response:
        payload = block_actions_payload(action_id, blocks.encode_value(value), user_id=user,
                                        channel_id=channel, message_ts=message_ts,
                                        thread_ts=thread_ts)
        body = interaction_body(payload)
        started = time.monotonic()
        response = self.client.post("/slack/events", content=body,
                                    headers=signed_headers(SECRET, body))
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 3  # Slack gives up at 3 s; the work comes after
        return response

    def idle(self, timeout: float = 10) -> None:
        """Wait until the retry queue has sent everything."""
        self.stub.wait_for(lambda: self.slack.outbox.pending() == 0, timeout=timeout)


@contextmanager
def running(tmp_path: Path, sample_index: Path, embedder: Any, stub: SlackStub,
            **overrides: Any) -> Iterator[Harness]:
    options: dict[str, Any] = dict(
        admin_token="admin-secret", action_token="action-secret",
        rasa_url=f"http://127.0.0.1:{free_port()}",  # the assistant is unreachable here
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_tickets_channel=TICKETS,
    )
    settings = make_settings(sample_index, sample_index / "kb", **{**options, **overrides})
    app = create_app(settings, knowledge=KnowledgeBase(settings, embedder),
                     slack_client=AsyncWebClient(token=TOKEN, base_url=stub.url))
    with TestClient(app) as client:
        slack = app.state.slack
        slack.outbox.backoff_base_s, slack.outbox.backoff_cap_s = 0.05, 0.2
        slack.outbox.idle_poll_s = 0.2
        yield Harness(client, stub, app.state.services, slack)


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(token=TOKEN) as running_stub:
        yield running_stub


@pytest.fixture
def harness(tmp_path: Path, sample_index: Path, real_embedder: Any,
            stub: SlackStub) -> Iterator[Harness]:
    with running(tmp_path, sample_index, real_embedder, stub) as h:
        yield h


def block_text(message: dict[str, Any], block_id: str) -> str:
    for block in message.get("blocks", []):
        if block.get("block_id") == block_id:
            return texts({"blocks": [block]})
    return ""


def action_ids(message: dict[str, Any]) -> list[str]:
    return [element["action_id"] for block in message.get("blocks", [])
            if block.get("type") == "actions" for element in block["elements"]]


def file_ticket(services: Services, **kw: Any) -> Ticket:
    """A ticket as the assistant's ticket action files it."""
    fields: dict[str, Any] = dict(
        email="jane.doe@example.com",
        summary="Password reset email never arrives",
        details="Tried twice this morning.",
        transcript=[
            {"sender": "customer", "text": "I forgot my password and can't sign in"},
            {"sender": "bot", "text": "**Reset or change your password** …"},
            {"sender": "customer", "text": "/deny"},
            {"sender": "customer", "text": "the reset email never arrives"},
        ],
        tried_articles=["reset-password", "an-article-deleted-since"],
        session_id="session-ticket-1",
    )
    return services.tickets.create(**{**fields, **kw})


# -- posted -----------------------------------------------------------------------------------


def test_a_filed_ticket_is_posted_with_what_a_rep_needs(harness: Harness) -> None:
    ticket = file_ticket(harness.services)
    card = harness.wait_card(ticket)
    text = texts(card)
    assert f"Ticket #{ticket.number}: Password reset email never arrives" in text
    assert "j•••@example.com" in text and "jane.doe" not in text
    assert "Normal" in block_text(card, ids.TICKET_FIELDS_BLOCK)
    asked = block_text(card, ids.TICKET_ASKED_BLOCK)
    assert "I forgot my password" in asked and "never arrives" in asked
    assert "/deny" not in asked  # a button payload is not something the customer "asked"
    shown = block_text(card, ids.TICKET_SHOWN_BLOCK)
    assert "<https://help.tasklane.example/articles/reset-password|Reset or change your " \
           "password>" in shown
    assert "deleted-since" not in text  # an article gone since is left out
    suggested = block_text(card, ids.TICKET_SUGGESTED_BLOCK)
    assert "Reset or change your password" in suggested
    assert 1 <= suggested.count("•") <= 3
    assert any(level in suggested for level in ("High", "Medium", "Low"))
    assert action_ids(card) == [ids.TICKET_ASSIGN, ids.TICKET_RESOLVE]
    harness.idle()
    thread = harness.thread(ticket)  # kept for updates and the thread
    assert thread is not None and (thread.channel, thread.ts) == (TICKETS, card["ts"])
    assert len(harness.stub.calls_to("chat.postMessage")) == 1  # posted once


def test_suggestions_include_internal_articles_with_the_badge(harness: Harness) -> None:
    ticket = file_ticket(harness.services, summary="Refund after three weeks", tried_articles=[],
                         transcript=[{"sender": "customer", "text":
                                      "I want a refund 3 weeks after buying the annual plan"}])
    suggested = block_text(harness.wait_card(ticket), ids.TICKET_SUGGESTED_BLOCK)
    assert "Refund exceptions and approvals (internal)" in suggested
    assert "🔒" in suggested


def test_a_handoff_is_posted_urgent_and_live(harness: Harness) -> None:
    ticket = harness.services.handoff.start(
        "session-handoff-1", email="", summary="Customer asked to talk to a person",
        details="", transcript=[{"sender": "customer", "text": "talk to a human"}],
        tried_articles=[])
    card = harness.wait_card(ticket, lambda m: ids.HANDOFF_END in action_ids(m))
    fields = block_text(card, ids.TICKET_FIELDS_BLOCK)
    assert "🔴 High" in fields and "Live" in fields
    assert action_ids(card) == [ids.TICKET_ASSIGN, ids.TICKET_RESOLVE, ids.HANDOFF_END]
    harness.idle()
    posted = [m for m in harness.stub.messages(TICKETS) if not m.get("thread_ts")]
    assert len(posted) == 1  # filed and then handed over: one message, drawn once it is live


def test_nothing_is_posted_without_a_tickets_channel(
    tmp_path: Path, sample_index: Path, real_embedder: Any, stub: SlackStub
) -> None:
    with running(tmp_path, sample_index, real_embedder, stub, slack_tickets_channel="") as h:
        ticket = file_ticket(h.services)
        h.services.handoff.update_ticket(ticket.number, assignee="Maria")
        assert h.slack.outbox.pending() == 0
        time.sleep(0.3)
        assert h.stub.messages() == []


# -- the buttons --------------------------------------------------------------------------------


def test_assign_resolve_and_reopen_change_the_ticket_and_redraw_the_message(
    harness: Harness,
) -> None:
    ticket = file_ticket(harness.services)
    card = harness.wait_card(ticket)
    value = {"ticket": ticket.number}

    harness.click(ids.TICKET_ASSIGN, value, message_ts=card["ts"])
    card = harness.wait_card(ticket, lambda m: "<@U0REP>" in block_text(
        m, ids.TICKET_FIELDS_BLOCK))
    assert harness.services.tickets.get(ticket.number).assignee == REP_USER_ID

    harness.click(ids.TICKET_RESOLVE, value, message_ts=card["ts"])
    card = harness.wait_card(ticket, lambda m: action_ids(m) == [ids.TICKET_REOPEN])
    assert "Resolved" in block_text(card, ids.TICKET_FIELDS_BLOCK)
    assert harness.services.tickets.get(ticket.number).status == "resolved"

    harness.click(ids.TICKET_REOPEN, value, message_ts=card["ts"])
    card = harness.wait_card(ticket, lambda m: ids.TICKET_RESOLVE in action_ids(m))
    assert harness.services.tickets.get(ticket.number).status == "open"
    harness.idle()
    assert len([m for m in harness.stub.messages(TICKETS)]) == 1  # updated in place, …
    assert len(harness.stub.calls_to("chat.update")) >= 3  # … with chat.update
    assert card["edits"] >= 3
    assert harness.ephemeral() == []  # nothing went wrong, nothing to say


def test_a_change_through_the_api_shows_in_slack(harness: Harness) -> None:
    ticket = file_ticket(harness.services)
    harness.wait_card(ticket)
    response = harness.client.patch(f"/api/tickets/{ticket.number}", headers=ADMIN,
                                    json={"status": "pending", "assignee": "Maria"})
    assert response.status_code == 200
    card = harness.wait_card(ticket, lambda m: "Maria" in block_text(
        m, ids.TICKET_FIELDS_BLOCK))
    assert "Pending" in block_text(card, ids.TICKET_FIELDS_BLOCK)


def test_resolving_a_live_handoff_ends_it(harness: Harness) -> None:
    ticket = harness.services.handoff.start(
        "session-handoff-2", email="", summary="Wants a person", details="", transcript=[],
        tried_articles=[])
    card = harness.wait_card(ticket, lambda m: ids.HANDOFF_END in action_ids(m))
    harness.click(ids.TICKET_RESOLVE, {"ticket": ticket.number}, message_ts=card["ts"])
    card = harness.wait_card(ticket, lambda m: action_ids(m) == [ids.TICKET_REOPEN])
    assert "Ended" in block_text(card, ids.TICKET_FIELDS_BLOCK)
    assert not harness.services.handoff.active(harness.services.tickets.get(ticket.number))
    harness.stub.wait_for(lambda: any("<@U0REP> ended the live conversation" in t
                                      for t in harness.replies(ticket)))
    history = harness.client.get("/chat/history", params={"session_id": "session-handoff-2",
                                                          "after": 0}).json()["messages"]
    assert "ended this conversation" in history[-1]["text"]


def test_a_failed_change_is_said_to_the_rep(harness: Harness) -> None:
    harness.click(ids.TICKET_ASSIGN, {"ticket": 99999})
    said = harness.stub.wait_for(harness.ephemeral)
    assert said == ["⚠️ I couldn't assign ticket #99999 to you: that ticket doesn't exist."]
