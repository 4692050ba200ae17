"""The live handoff end to end, with real parts: a customer in the Chromium widget, the real
Rasa server and the real service, and a rep in (the stub of) Slack.

1. the customer asks for a person, in their own words, through Rasa;
2. the handoff is posted to the tickets channel;
3. the rep's reply in the ticket's thread (a signed ``message`` event) appears in the browser;
4. the customer's answer appears in the thread;
5. *End conversation* (a signed ``block_actions``) gives the chat back to the assistant, which
   answers the next question.

Then the same round trip while Slack answers 429 and then 500 for a while: every message
arrives once, in order.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from slack_sdk.web.async_client import AsyncWebClient

from integrations.slack import blocks, ids
from integrations.slack.threads import ticket_for_thread
from tests.conftest import make_settings
from tests.e2e.test_widget import ANSWER, Widget, browser  # noqa: F401 - the browser fixture
from tests.support.slack_api import SlackStub
from tests.support.slack_signing import (
    REP_USER_ID,
    block_actions_payload,
    event_body,
    interaction_body,
    signed_headers,
)
from tests.support.stack import Stack

TOKEN = "xoxb-e2e"
SECRET = "e2e-signing-secret-0123456789abcdef"
TICKETS = "C0TICKETS"


@pytest.fixture(scope="module")
def slack_stub() -> Iterator[SlackStub]:
    with SlackStub(token=TOKEN) as stub:
        stub.users[REP_USER_ID] = {"real_name": "Ada Lovelace",
                                   "profile": {"display_name": "Ada"}}
        yield stub


@pytest.fixture(scope="module")
def slack_stack(sample_index: Path, tmp_path_factory: pytest.TempPathFactory,
                slack_stub: SlackStub) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("e2e-slack")
    shutil.copytree(sample_index / "index", data / "index")
    settings = make_settings(data, sample_index / "kb", admin_token="e2e-admin",
                             database_url=f"sqlite:///{data / 'frontline.db'}",
                             slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                             slack_tickets_channel=TICKETS)
    client = AsyncWebClient(token=TOKEN, base_url=slack_stub.url)
    with Stack(settings, slack_client=client) as running:
        outbox = running.app.state.slack.outbox
        outbox.backoff_base_s, outbox.backoff_cap_s, outbox.idle_poll_s = 0.2, 1.0, 0.5
        yield running


class Rep:
    """A support rep in Slack: signed requests to the running service's /slack/events."""

    def __init__(self, stack: Stack, stub: SlackStub) -> None:
        self.stack, self.stub = stack, stub
        self.http = httpx.Client(base_url=stack.url, timeout=10)

    def _post(self, body: str) -> None:
        started = time.monotonic()
        response = self.http.post("/slack/events", content=body,
                                  headers=signed_headers(SECRET, body))
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 3  # Slack never waits longer

    def card(self, number: int) -> dict[str, Any] | None:
        for message in self.stub.messages(TICKETS):
            header = (message.get("blocks") or [{}])[0].get("text", {}).get("text", "")
            if f"Ticket #{number}:" in header:
                return message
        return None

    def live_card(self, number: int) -> dict[str, Any]:
        """The ticket's message once it is live, and known as the ticket's thread."""
        db = self.stack.app.state.services.db

        def live() -> dict[str, Any] | None:
            card = self.card(number)
            return card if card and ids.HANDOFF_END in json.dumps(card["blocks"]) and \
                ticket_for_thread(db, TICKETS, card["ts"]) == number else None
        return self.stub.wait_for(live, timeout=30)

    def thread(self, ts: str) -> list[str]:
        return [m["text"] for m in self.stub.messages(TICKETS, thread_ts=ts)]

    def reply(self, ts: str, text: str) -> None:
        self._post(event_body({"type": "message", "channel": TICKETS, "channel_type": "channel",
                               "user": REP_USER_ID, "text": text, "ts": f"{time.time():.6f}",
                               "thread_ts": ts}))

    def end(self, number: int, ts: str) -> None:
        payload = block_actions_payload(ids.HANDOFF_END,
                                        blocks.encode_value({"ticket": number}),
                                        channel_id=TICKETS, message_ts=ts)
        self._post(interaction_body(payload))


def round_trip(browser: Browser, stack: Stack, stub: SlackStub) -> tuple[int, str]:  # noqa: F811
    rep = Rep(stack, stub)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        widget = Widget(context.new_page(), stack).visit()
        widget.open()

        # 1. In the customer's own words, through Rasa's NLU and the handoff action.
        widget.say("can I talk to a person instead of the bot")
        handed = widget.bot_after("can I talk to a person instead of the bot").filter(
            has_text=re.compile(r"ticket #\d+"))
        expect(handed).to_be_visible(timeout=ANSWER)
        number = int(re.search(r"#(\d+)", handed.inner_text()).group(1))  # type: ignore[union-attr]

        # 2. Posted to the tickets channel, live, with End conversation.
        card = rep.live_card(number)
        ts = str(card["ts"])
        assert "🔴 High" in json.dumps(card["blocks"], ensure_ascii=False)

        # 3. The rep's reply in the thread reaches the browser, with the rep's name.
        rep.reply(ts, "Hi, Ada here &amp; happy to help. What's going on?")
        shown = widget.messages.filter(has_text="Ada here & happy to help")
        expect(shown).to_be_visible(timeout=15_000)  # the widget polls every 3 s while open
        expect(shown).to_contain_text("Ada · Support team")

        # 4. The customer's answer appears in the thread (twice: in order).
        widget.say("My invoice shows the wrong amount")
        expect(widget.bot_after("My invoice shows the wrong amount")).to_contain_text(
            "Sent to our support team", timeout=ANSWER)
        widget.say("It is invoice 2024-118")
        expect(widget.bot_after("It is invoice 2024-118")).to_contain_text(
            "Sent to our support team", timeout=ANSWER)
        stub.wait_for(lambda: len(rep.thread(ts)) == 2, timeout=30)

        # 5. End conversation: the customer is told, and the assistant answers again.
        rep.end(number, ts)
        expect(widget.messages.filter(has_text="ended this conversation")).to_be_visible(
            timeout=15_000)
        widget.say("How do I reset my password?")
        link = widget.panel.get_by_role("link", name=re.compile("password", re.I)).last
        expect(link).to_be_visible(timeout=ANSWER)
        expect(link).to_have_attribute("href", re.compile(r"/articles/reset-password$"))

        stub.wait_for(lambda: len(rep.thread(ts)) == 3, timeout=30)
        assert rep.thread(ts) == ["Customer: My invoice shows the wrong amount",
                                  "Customer: It is invoice 2024-118",
                                  "🔚 <@U0REP> ended the live conversation."]
        stub.wait_for(lambda: ids.HANDOFF_END not in json.dumps(rep.card(number)), timeout=30)
        expect(shown).to_have_count(1)  # the rep's reply, once
        return number, ts
    finally:
        context.close()


def test_live_handoff_round_trip(browser: Browser, slack_stack: Stack,  # noqa: F811
                                 slack_stub: SlackStub) -> None:
    number, _ = round_trip(browser, slack_stack, slack_stub)
    posted = [m for m in slack_stub.messages(TICKETS)
              if f"Ticket #{number}:" in json.dumps(m.get("blocks", []))]
    assert len(posted) == 1  # one message for the ticket, updated in place


def test_live_handoff_round_trip_while_slack_is_unwell(browser: Browser,  # noqa: F811
                                                       slack_stack: Stack,
                                                       slack_stub: SlackStub) -> None:
    for method in ("chat.postMessage", "chat.update"):
        slack_stub.fail(method, status=429, retry_after=1, times=2)
        slack_stub.fail(method, status=500, times=3)
    number, _ = round_trip(browser, slack_stack, slack_stub)
    failed = [c for c in slack_stub.log if c.status in (429, 500)]
    assert len(failed) >= 5  # Slack really was unwell
    posted = [m for m in slack_stub.messages(TICKETS)
              if f"Ticket #{number}:" in json.dumps(m.get("blocks", []))]
    assert len(posted) == 1  # the ticket message once; the thread's replies once each (above)
    assert slack_stack.app.state.slack.outbox.pending() == 0
    assert slack_stack.app.state.slack.outbox.dead() == 0
