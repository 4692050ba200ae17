"""The live handoff in Slack, through the real service and the Slack stub: the ticket's thread
is the conversation. The customer's words appear in it, a rep's reply there reaches the
customer's chat (once, shown with the rep's name), *End conversation* hands the chat back,
and *Send to customer* sends a public article — never an internal one."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontline.db import Ticket
from integrations.slack import blocks, ids
from integrations.slack.listeners.events.threads import customer_text
from integrations.slack.threads import ticket_for_thread
from tests.integrations.slack.test_blocks import rendered_texts, violations
from tests.integrations.slack.test_tickets import (
    ADMIN,
    SECRET,
    TICKETS,
    TOKEN,
    Harness,
    action_ids,
    block_text,
    running,
)
from tests.support.slack_api import SlackStub
from tests.support.slack_signing import REP_USER_ID, event_body, new_event_id, signed_headers

SESSION = "session-live-1"


@pytest.fixture
def harness(tmp_path: Path, sample_index: Path, real_embedder: Any) -> Iterator[Harness]:
    with SlackStub(token=TOKEN) as stub, \
            running(tmp_path, sample_index, real_embedder, stub) as h:
        yield h


def start(h: Harness, session: str = SESSION) -> tuple[Ticket, str]:
    """A customer asks for a person (as the assistant's handoff action does); returns the
    ticket and its Slack message's ts once that is posted."""
    h.stub.users[REP_USER_ID] = {"real_name": "Ada Lovelace", "profile": {"display_name": "Ada"}}
    ticket = h.services.handoff.start(
        session, email="sam@example.com", summary="Customer asked to talk to a person",
        details="The customer asked for a person in the chat.",
        transcript=[{"sender": "customer", "text": "talk to a human"}], tried_articles=[])
    card = h.wait_card(ticket, lambda m: ids.HANDOFF_END in action_ids(m))
    h.stub.wait_for(lambda: h.thread(ticket))  # its ts is kept: the thread is the ticket's
    return ticket, str(card["ts"])


def customer_says(h: Harness, text: str, session: str = SESSION) -> list[dict[str, Any]]:
    response = h.client.post("/chat", json={"session_id": session, "message": text})
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def history(h: Harness, session: str = SESSION) -> list[tuple[str, str, str | None]]:
    messages = h.client.get("/chat/history", params={"session_id": session,
                                                     "after": 0}).json()["messages"]
    return [(m["sender"], m["text"], m.get("author")) for m in messages]


def rep_replies(h: Harness, session: str = SESSION) -> list[tuple[str, str | None]]:
    return [(text, author) for sender, text, author in history(h, session) if sender == "rep"]


def rep_event(thread_ts: str, text: str, *, user: str = REP_USER_ID, channel: str = TICKETS,
              **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "channel_type": "channel", "user": user,
            "text": text, "ts": f"{time.time():.6f}", "thread_ts": thread_ts, **extra}


def deliver(h: Harness, event: dict[str, Any], *, event_id: str | None = None,
            retry: int | None = None) -> str:
    body = event_body(event, event_id=event_id or new_event_id())
    headers = signed_headers(SECRET, body)
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    started = time.monotonic()
    response = h.client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 3  # Slack gives up at 3 s
    return str(json.loads(body)["event_id"])


# -- the customer's side reaches the thread -----------------------------------------------------


def test_the_customers_messages_appear_in_the_thread_in_order(harness: Harness) -> None:
    harness.stub.fail("chat.postMessage", status=500, times=2)  # Slack unwell at first
    ticket, _ = start(harness)
    for text in ("are you there?", "my invoice is wrong <!channel>", "hello??"):
        said = customer_says(harness, text)
        assert said[0]["text"] == "Sent to our support team — they'll reply here."
    harness.stub.wait_for(lambda: len(harness.replies(ticket)) == 3)
    assert harness.replies(ticket) == ["Customer: are you there?",
                                       "Customer: my invoice is wrong &lt;!channel&gt;",
                                       "Customer: hello??"]


def test_a_reply_through_the_api_is_mirrored_into_the_thread(harness: Harness) -> None:
    ticket, _ = start(harness)
    response = harness.client.post(f"/api/tickets/{ticket.number}/reply", headers=ADMIN,
                                   json={"text": "Checking your account now.",
                                         "author": "Maria"})
    assert response.status_code == 200
    harness.stub.wait_for(lambda: harness.replies(ticket))
    assert harness.replies(ticket) == [
        "Maria replied through the tickets API: Checking your account now."]


# -- the rep's side reaches the customer --------------------------------------------------------


def test_a_reps_reply_in_the_thread_reaches_the_customer_once(harness: Harness) -> None:
    ticket, ts = start(harness)
    event = rep_event(ts, "Hi, I'm on it &amp; <https://status.example.com|here> is our "
                          "status page")
    event_id = deliver(harness, event)
    harness.stub.wait_for(lambda: rep_replies(harness))
    expected = [("Hi, I'm on it & [here](https://status.example.com) is our status page",
                 "Ada")]
    assert rep_replies(harness) == expected

    deliver(harness, event, event_id=event_id, retry=1)  # Slack's retry of the same event
    deliver(harness, event)  # the same message under another event id
    time.sleep(0.5)
    assert rep_replies(harness) == expected
    harness.idle()
    assert harness.replies(ticket) == []  # typed in the thread: not echoed back into it


def test_only_a_persons_reply_in_a_ticket_thread_reaches_the_customer(harness: Harness) -> None:
    ticket, ts = start(harness)
    other, other_ts = start(harness, "session-live-2")
    for event in (
        rep_event(ts, "a bot speaking", bot_id="B0OTHER"),
        rep_event(ts, "edited", subtype="message_changed"),
        rep_event(ts, "<@U0BOT> how do refunds work?"),  # a question for the app
        rep_event("1700000000.999999", "a thread that is no ticket's"),
        rep_event(ts, "the same ts in another channel", channel="C0ELSEWHERE"),
        rep_event(other_ts, "for the other customer"),
    ):
        deliver(harness, event)
    deliver(harness, rep_event(ts, "the real reply"))
    harness.stub.wait_for(lambda: rep_replies(harness))
    time.sleep(0.5)
    assert rep_replies(harness) == [("the real reply", "Ada")]
    assert rep_replies(harness, "session-live-2") == [("for the other customer", "Ada")]
    assert ticket_for_thread(harness.services.db, TICKETS, ts) == ticket.number
    assert ticket_for_thread(harness.services.db, TICKETS, other_ts) == other.number
    assert ticket_for_thread(harness.services.db, "C0ELSEWHERE", ts) is None
    assert ticket_for_thread(harness.services.db, TICKETS, "1700000000.999999") is None


def test_a_reply_after_the_conversation_ended_is_not_sent(harness: Harness) -> None:
    ticket, ts = start(harness)
    harness.services.handoff.end(ticket.number, by="U0OTHER")
    deliver(harness, rep_event(ts, "are you still there?"))
    said = harness.stub.wait_for(harness.ephemeral)
    assert said == [f"⚠️ Not sent: the live conversation on ticket #{ticket.number} has ended, "
                    "so the customer did not get this reply. They can ask for a person again "
                    "in the chat."]
    assert rep_replies(harness) == []


# -- the buttons -----------------------------------------------------------------------------------


def test_end_conversation_gives_the_chat_back_to_the_assistant(harness: Harness) -> None:
    ticket, ts = start(harness)
    customer_says(harness, "still waiting")
    harness.click(ids.HANDOFF_END, {"ticket": ticket.number}, message_ts=ts)
    card = harness.wait_card(ticket, lambda m: ids.HANDOFF_END not in action_ids(m))
    assert "Ended" in block_text(card, ids.TICKET_FIELDS_BLOCK)
    harness.stub.wait_for(lambda: len(harness.replies(ticket)) == 2)
    assert harness.replies(ticket) == ["Customer: still waiting",
                                       "🔚 <@U0REP> ended the live conversation."]
    assert "ended this conversation" in history(harness)[-1][1]  # the customer is told
    assert not harness.services.handoff.active(harness.services.tickets.get(ticket.number))

    # The assistant has the chat again (unreachable in this test: it says so), and the
    # customer's words no longer go to the thread.
    answer = customer_says(harness, "how do I reset my password?")
    assert "Sent to our support team" not in answer[0]["text"]
    harness.click(ids.HANDOFF_END, {"ticket": ticket.number}, message_ts=ts)
    said = harness.stub.wait_for(harness.ephemeral)
    assert said == [f"The live conversation on ticket #{ticket.number} had already ended."]
    harness.idle()
    assert len(harness.replies(ticket)) == 2


def test_send_to_customer_sends_a_public_article_and_never_an_internal_one(
    harness: Harness,
) -> None:
    ticket, ts = start(harness)
    send = {"ticket": ticket.number, "article_id": "reset-password", "heading": ""}
    harness.click(ids.SEND_TO_CUSTOMER, send, message_ts="1700000001.000100", thread_ts=ts)
    harness.stub.wait_for(lambda: rep_replies(harness))
    [(text, _)] = rep_replies(harness)
    assert text.startswith("**Reset or change your password**")
    assert "[Read the whole article: Reset or change your password]" \
           "(https://help.tasklane.example/articles/reset-password)" in text
    harness.stub.wait_for(lambda: harness.replies(ticket))
    assert harness.replies(ticket)[0].startswith("Ada sent from the suggestions:")
    assert harness.ephemeral() == [
        f"📨 Sent “Reset or change your password” to the customer on ticket #{ticket.number}."]

    forged = {"ticket": ticket.number, "article_id": "refund-exceptions", "heading": ""}
    harness.click(ids.SEND_TO_CUSTOMER, forged, message_ts="1700000001.000200", thread_ts=ts)
    harness.stub.wait_for(lambda: len(harness.ephemeral()) == 2)
    assert "internal articles are never sent to customers" in harness.ephemeral()[1]
    assert len(rep_replies(harness)) == 1
    assert all("Backstage" not in t and "refund" not in t.lower() for t, _ in rep_replies(harness))

    harness.services.handoff.end(ticket.number, by="U0OTHER")
    harness.click(ids.SEND_TO_CUSTOMER, send, message_ts="1700000001.000300", thread_ts=ts)
    harness.stub.wait_for(lambda: len(harness.ephemeral()) == 3)
    assert "has no live conversation any more" in harness.ephemeral()[2]
    assert len(rep_replies(harness)) == 1


# -- pure parts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("slack", "customer"), [
    ("plain words", "plain words"),
    ("a &lt;b&gt; &amp; c", "a <b> & c"),
    ("see <https://x.example/a?b=1|the guide>", "see [the guide](https://x.example/a?b=1)"),
    ("see <https://x.example/>", "see https://x.example/"),
    ("mail <mailto:help@x.example|help@x.example>", "mail [help@x.example](mailto:help@x.example)"),
    ("<!here> heads up", "heads up"),
    ("ask <@U0LEAD|lee> or <@U0OTHER>", "ask @lee or"),
    ("in <#C0CHAN|billing>", "in #billing"),
])
def test_slack_text_becomes_the_widgets_markdown(slack: str, customer: str) -> None:
    assert customer_text(slack) == customer


def test_mirrored_rep_reply_and_note_builders_stay_within_limits() -> None:
    evil = "<!channel> pay <https://evil.example|here> <@U0CEO>"
    for payload in (blocks.handoff_rep_message("U0REP", evil * 200, via="suggestion"),
                    blocks.handoff_rep_message(evil, evil, via="api"),
                    blocks.note_message(evil * 200)):
        assert violations(payload) == []
        joined = "\n".join(rendered_texts(payload))
        assert "<!channel>" not in joined and "<https://evil" not in joined
        assert "<@U0CEO>" not in joined
    mention = blocks.handoff_rep_message("U0REP", "hi", via="suggestion")
    assert mention["text"] == "<@U0REP> sent from the suggestions: hi"
    assert "> hi" in mention["blocks"][0]["text"]["text"]
