"""Asking in Slack: /ask (ephemeral), an @mention (in the thread), a DM — suggestions with
internal articles for reps, public only where internal must not go, follow-ups in context,
honest errors. Signed requests through the real Bolt adapter of the real service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from frontline.db import Event
from frontline.knowledge.links import article_link
from indexer import Hit
from integrations.slack import blocks, ids
from tests.integrations.slack.rep_harness import RepApp, buttons, rep_app, texts
from tests.support.slack_signing import BOT_USER_ID, CHANNEL_ID, REP_USER_ID

INTERNAL_QUESTION = "customer wants a refund after 14 days"


@pytest.fixture
def slack(sample_index: Path, real_embedder: Any, tmp_path: Path) -> Iterator[RepApp]:
    with rep_app(sample_index, real_embedder, tmp_path,
                 slack_public_only_channels=["C0PUBLIC"]) as running:
        yield running


def article_ids(message: dict[str, Any]) -> list[str]:
    """The articles a suggestions message offers, in order (from the rating buttons)."""
    return [blocks.decode_value(b["value"])["article_id"] for b in buttons(message)
            if b["action_id"] == ids.RATE_HELPFUL]


def mention(text: str, *, ts: str, thread_ts: str | None = None,
            channel: str = CHANNEL_ID) -> dict[str, Any]:
    event = {"type": "app_mention", "user": REP_USER_ID, "text": f"<@{BOT_USER_ID}> {text}",
             "ts": ts, "channel": channel, "channel_type": "channel"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(text: str, *, ts: str, channel: str = "D0REPDM", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": REP_USER_ID, "text": text, "ts": ts,
            "channel": channel, "channel_type": "im", **extra}


# -- /ask ---------------------------------------------------------------------------------


def test_ask_answers_the_rep_only_with_internal_articles_and_records_the_decision(
        slack: RepApp) -> None:
    started = time.perf_counter()
    response, url = slack.command("/ask", INTERNAL_QUESTION)
    acked = time.perf_counter() - started
    assert response.status_code == 200 and acked < 1.0
    answer = slack.answer_at(url)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    offered = article_ids(answer)
    assert offered[0] == "refund-exceptions" and len(offered) == 3
    seen = texts(answer)
    assert "Refund exceptions and approvals (internal)" in seen and blocks.INTERNAL_BADGE in seen
    assert "\n> " in seen  # the best-matching passage is quoted
    assert "Match: *🟢 High*" in seen
    assert len(buttons(answer)) == 6  # 👍 and 👎 on each of the three
    assert slack.stub.messages() == []  # nothing visible to anyone else
    [event] = slack.decisions()
    assert (event.channel, event.audience, event.query, event.decision) == (
        "slack", "internal", INTERNAL_QUESTION, "answer")
    assert event.session_id == f"slack:{CHANNEL_ID}:ask-{REP_USER_ID}"


def test_ask_without_a_question_says_how_to_use_it(slack: RepApp) -> None:
    response, url = slack.command("/ask", "   ")
    assert response.status_code == 200
    assert "after the command" in response.text  # the ack itself (shown to the rep only)
    time.sleep(0.3)
    assert slack.urls.posts(url) == [] and slack.decisions() == []


def test_public_only_and_slack_connect_channels_never_see_internal_articles(
        slack: RepApp) -> None:
    slack.stub.channels["C0SHARED"] = {"is_ext_shared": True}
    for channel in ("C0PUBLIC", "C0SHARED"):
        _, url = slack.command("/ask", INTERNAL_QUESTION, channel=channel)
        answer = slack.answer_at(url)
        assert "refund-exceptions" not in article_ids(answer)
        assert article_ids(answer)[0] == "refund-policy"
        assert blocks.INTERNAL_BADGE not in texts(answer)
        assert "Public articles only" in texts(answer)
    assert [e.audience for e in slack.decisions()] == ["public", "public"]
    # the listed channel needs no lookup; the shared one was looked up once
    assert [c["channel"] for c in slack.stub.calls_to("conversations.info")] == ["C0SHARED"]


def test_an_ordinary_channel_is_looked_up_once_and_cached(slack: RepApp) -> None:
    for _ in range(2):
        _, url = slack.command("/ask", INTERNAL_QUESTION)
        assert article_ids(slack.answer_at(url))[0] == "refund-exceptions"
    assert len(slack.stub.calls_to("conversations.info")) == 1


def test_when_slack_cannot_say_whether_a_channel_is_shared_the_answer_is_public(
        slack: RepApp) -> None:
    slack.stub.fail("conversations.info", status=500)
    _, url = slack.command("/ask", INTERNAL_QUESTION, channel="C0UNKNOWN")
    answer = slack.answer_at(url)
    assert "refund-exceptions" not in article_ids(answer)
    assert slack.decisions()[0].audience == "public"


def test_ask_in_a_dm_between_people_is_public_but_in_the_apps_dm_internal(
        slack: RepApp) -> None:
    _, url = slack.command("/ask", INTERNAL_QUESTION, channel="D0OTHERPERSON")
    assert "refund-exceptions" not in article_ids(slack.answer_at(url))
    own = slack.stub.dm_channel(REP_USER_ID)  # conversations.open told us the app's DM
    assert own and own != "D0OTHERPERSON"
    _, url = slack.command("/ask", INTERNAL_QUESTION, channel=own)
    assert article_ids(slack.answer_at(url))[0] == "refund-exceptions"


def test_ask_falls_back_to_an_ephemeral_post_when_the_response_url_fails(
        slack: RepApp) -> None:
    slack.urls.status = 404
    slack.command("/ask", INTERNAL_QUESTION)
    [shown] = slack.stub.wait_for(lambda: slack.stub.ephemeral_messages(user=REP_USER_ID))
    assert shown["channel"] == CHANNEL_ID and "Refund exceptions" in texts(shown)


def test_abstaining_says_so_and_offers_to_flag_a_gap(slack: RepApp) -> None:
    _, url = slack.command("/ask", "how do I bake sourdough bread")
    answer = slack.answer_at(url)
    assert "couldn't find a good match" in answer["text"]
    gap = [b for b in buttons(answer) if b["action_id"] == ids.FLAG_GAP]
    assert len(gap) == 1
    assert blocks.decode_value(gap[0]["value"])["query"] == "how do I bake sourdough bread"
    assert slack.decisions()[0].decision == "abstain"


# -- @mention -------------------------------------------------------------------------------


def test_a_mention_is_answered_in_its_thread_and_a_follow_up_reads_the_thread(
        slack: RepApp) -> None:
    assert slack.event(mention("how do I reset my password", ts="1700000100.000100")
                       ).status_code == 200
    [first] = slack.stub.wait_for(lambda: slack.stub.messages(CHANNEL_ID))
    assert first["thread_ts"] == "1700000100.000100"
    assert article_ids(first)[0] == "reset-password"
    assert "<@" not in slack.decisions()[0].query  # the mention itself is not searched

    slack.event(mention("and on mobile?", ts="1700000200.000100",
                        thread_ts="1700000100.000100"))
    replies = slack.stub.wait_for(lambda: slack.stub.messages(
        CHANNEL_ID, thread_ts="1700000100.000100")[1:])
    followup = replies[0]
    assert followup["thread_ts"] == "1700000100.000100"
    # read with the thread's question: the password article, and the mobile login one
    assert article_ids(followup)[0] == "reset-password"
    assert "mobile-login-issues" in article_ids(followup)
    assert "Read together with the earlier question" in texts(followup)
    second = slack.decisions()[1]
    assert second.query == "how do I reset my password and on mobile?"
    assert second.session_id == f"slack:{CHANNEL_ID}:1700000100.000100"


def test_a_mention_answer_slack_refuses_for_a_moment_is_posted_later_once(
        slack: RepApp) -> None:
    slack.stub.fail("chat.postMessage", status=503, times=2)  # the direct post, then a retry
    slack.event(mention("how do I reset my password", ts="1700000100.000100"))
    [answer] = slack.stub.wait_for(lambda: slack.stub.messages(CHANNEL_ID), timeout=15)
    assert answer["thread_ts"] == "1700000100.000100"
    assert article_ids(answer)[0] == "reset-password"
    time.sleep(0.5)
    assert len(slack.stub.messages(CHANNEL_ID)) == 1
    assert [c.status for c in slack.stub.log if c.method == "chat.postMessage"] == [
        503, 503, 200]


def test_the_same_words_in_a_new_thread_stand_alone(slack: RepApp) -> None:
    slack.event(mention("how do I reset my password", ts="1700000100.000100"))
    slack.stub.wait_for(lambda: slack.stub.messages(CHANNEL_ID))
    slack.event(mention("and on mobile?", ts="1700000300.000100"))  # top level: new thread
    slack.stub.wait_for(lambda: len(slack.stub.messages(CHANNEL_ID)) == 2)
    assert slack.decisions()[1].query == "and on mobile?"


def test_a_mention_in_a_slack_connect_channel_is_answered_from_public_articles(
        slack: RepApp) -> None:
    slack.event(mention(INTERNAL_QUESTION, ts="1700000100.000100", channel="C0CONNECT"),
                is_ext_shared_channel=True)
    [answer] = slack.stub.wait_for(lambda: slack.stub.messages("C0CONNECT"))
    assert "refund-exceptions" not in article_ids(answer)
    assert slack.decisions()[0].audience == "public"


# -- DM -------------------------------------------------------------------------------------


def test_a_dm_is_answered_in_the_dm_with_internal_articles_and_follow_ups_in_context(
        slack: RepApp) -> None:
    slack.event(dm(INTERNAL_QUESTION, ts="1700000100.000100"))
    [answer] = slack.stub.wait_for(lambda: slack.stub.messages("D0REPDM"))
    assert "thread_ts" not in answer  # a DM question is answered in the DM itself
    assert article_ids(answer)[0] == "refund-exceptions"
    assert slack.stub.calls_to("conversations.info") == []  # a DM needs no lookup

    slack.event(dm("who has to approve it?", ts="1700000200.000100"))
    slack.stub.wait_for(lambda: len(slack.stub.messages("D0REPDM")) == 2)
    # Alone it means nothing; with the earlier question it is the refund-exceptions article.
    assert slack.decisions()[1].query == (
        "customer wants a refund after 14 days who has to approve it?")
    assert article_ids(slack.stub.messages("D0REPDM")[1])[0] == "refund-exceptions"


def test_a_dm_follow_up_after_half_an_hour_stands_alone(slack: RepApp) -> None:
    slack.event(dm("how do I reset my password", ts="1700000100.000100"))
    slack.stub.wait_for(lambda: slack.stub.messages("D0REPDM"))
    with slack.services.db.session() as session:
        session.execute(update(Event).values(
            created_at=datetime.now(UTC) - timedelta(minutes=31)))
    slack.event(dm("and on mobile?", ts="1700000200.000100"))
    slack.stub.wait_for(lambda: len(slack.stub.messages("D0REPDM")) == 2)
    assert slack.decisions()[1].query == "and on mobile?"


def test_thanks_in_a_dm_gets_a_hint_not_a_search(slack: RepApp) -> None:
    slack.event(dm("thanks!", ts="1700000100.000100"))
    [answer] = slack.stub.wait_for(lambda: slack.stub.messages("D0REPDM"))
    assert "Ask me a customer's question" in answer["text"]
    assert slack.decisions() == []


def test_edits_and_bot_messages_in_a_dm_are_ignored(slack: RepApp) -> None:
    slack.event(dm("changed", ts="1700000100.000100", subtype="message_changed"))
    slack.event(dm("from a bot", ts="1700000200.000100", bot_id="B0OTHER"))
    slack.event({"type": "message", "user": REP_USER_ID, "text": "chatter in a channel",
                 "ts": "1700000300.000100", "channel": CHANNEL_ID,
                 "channel_type": "channel"})
    time.sleep(0.5)
    assert slack.stub.messages() == [] and slack.decisions() == []


# -- honest errors ----------------------------------------------------------------------------


@pytest.fixture
def slack_without_index(real_embedder: Any, tmp_path: Path) -> Iterator[RepApp]:
    data = tmp_path / "empty"
    (data / "kb").mkdir(parents=True)
    with rep_app(data, real_embedder, tmp_path) as running:
        yield running


def test_when_the_kb_cannot_be_searched_the_rep_is_told_never_silence(
        slack_without_index: RepApp) -> None:
    slack = slack_without_index
    _, url = slack.command("/ask", INTERNAL_QUESTION)
    answer = slack.answer_at(url)
    assert "couldn't search the knowledge base just now" in answer["text"]
    assert answer["response_type"] == "ephemeral"

    slack.event(mention(INTERNAL_QUESTION, ts="1700000100.000100"))
    [shown] = slack.stub.wait_for(lambda: slack.stub.ephemeral_messages(user=REP_USER_ID))
    assert "couldn't search the knowledge base just now" in shown["text"]
    assert shown["thread_ts"] == "1700000100.000100"
    assert slack.stub.messages() == []  # nothing posted for everyone


# -- the link rule ----------------------------------------------------------------------------


def hit(article_id: str, *, url: str | None, audience: str) -> Hit:
    return Hit(article_id=article_id, title="T", url=url, audience=audience, heading="",
               snippet="", passage="", score=0.5, matched="title")


def test_article_links_use_the_articles_url_else_the_help_centre_never_for_internal() -> None:
    base = "https://support.example.com/"
    assert article_link(hit("a", url="https://kb.example.com/a", audience="public"),
                        base) == "https://kb.example.com/a"
    assert article_link(hit("reset password", url=None, audience="public"),
                        base) == "https://support.example.com/help/reset%20password"
    assert article_link(hit("refund-exceptions", url=None, audience="internal"), base) is None
    assert article_link(hit("x", url="https://wiki.internal/x", audience="internal"),
                        base) == "https://wiki.internal/x"


def test_suggestions_link_to_the_help_centre_when_an_article_has_no_url(
        slack: RepApp) -> None:
    _, url = slack.command("/ask", "how do I reset my password")
    answer = slack.answer_at(url)
    knowledge = slack.services.knowledge
    best = knowledge.article("reset-password", "internal")
    expected = best.url or "https://support.example.com/help/reset-password"
    assert f"<{expected}|" in texts(answer)
