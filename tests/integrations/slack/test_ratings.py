"""Rating suggestions (👍 / 👎 with a reason) and flagging a KB gap, from the buttons of a real
answer; ratings readable from ``GET /api/kb/feedback``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from frontline.db import Event, Rating
from integrations.slack import blocks, ids
from tests.integrations.slack.rep_harness import ADMIN, RepApp, buttons, rep_app
from tests.support.slack_signing import (
    CHANNEL_ID,
    REP_USER_ID,
    block_actions_payload,
    new_trigger_id,
    view_submission_payload,
)

QUESTION = "customer wants a refund after 14 days"


@pytest.fixture
def slack(sample_index: Path, real_embedder: Any, tmp_path: Path) -> Iterator[RepApp]:
    with rep_app(sample_index, real_embedder, tmp_path) as running:
        yield running


def ask(slack: RepApp, question: str = QUESTION) -> dict[str, Any]:
    _, url = slack.command("/ask", question)
    return slack.answer_at(url)


def click(slack: RepApp, button: dict[str, Any], *, ephemeral: bool = True,
          message: dict[str, Any] | None = None,
          channel: str = CHANNEL_ID) -> tuple[str, str]:
    """Click ``button``; returns (the click's response_url, its trigger_id)."""
    trigger = new_trigger_id()
    payload = block_actions_payload(button["action_id"], button["value"],
                                    block_id="suggestion_actions:0", channel_id=channel,
                                    message=message, trigger=trigger)
    payload["response_url"] = url = slack.urls.new("actions")
    if ephemeral:  # an /ask answer: Slack sends no message with the click
        payload["container"]["is_ephemeral"] = True
        payload.pop("message")
    assert slack.interact(payload).status_code == 200
    return url, trigger


def button(message: dict[str, Any], action_id: str, n: int = 0) -> dict[str, Any]:
    return [b for b in buttons(message) if b["action_id"] == action_id][n]


def ratings(slack: RepApp) -> list[Rating]:
    with slack.services.db.session() as session:
        return list(session.scalars(select(Rating).order_by(Rating.id)).all())


def test_helpful_stores_the_rating_and_thanks_the_rep(slack: RepApp) -> None:
    answer = ask(slack)
    url, _ = click(slack, button(answer, ids.RATE_HELPFUL))
    thanks = slack.answer_at(url)
    assert thanks["text"].startswith("👍 Thanks") and thanks["response_type"] == "ephemeral"
    assert thanks["replace_original"] is False  # the suggestions stay
    [rating] = ratings(slack)
    assert (rating.rep, rating.query, rating.article_id, rating.helpful, rating.reason) == (
        REP_USER_ID, QUESTION, "refund-exceptions", True, None)


def test_not_helpful_asks_why_and_stores_the_reason_and_comment(slack: RepApp) -> None:
    answer = ask(slack)
    url, trigger = click(slack, button(answer, ids.RATE_NOT_HELPFUL, 1))  # the 2nd article
    [opened] = slack.stub.wait_for(lambda: slack.stub.calls_to("views.open"))
    assert opened["trigger_id"] == trigger
    view = opened["view"]
    assert view["callback_id"] == ids.RATING_MODAL
    [rating] = ratings(slack)  # stored at the click, before any reason
    assert rating.helpful is False and rating.reason is None
    metadata = blocks.decode_value(view["private_metadata"])
    assert metadata["rating"] == rating.id and metadata["article_id"] == rating.article_id
    assert "Refund policy" in view["blocks"][0]["text"]["text"]  # the title, looked up

    values = {
        ids.RATING_REASON_BLOCK: {ids.RATING_REASON_ACTION: {
            "type": "radio_buttons", "selected_option": {"value": "outdated"}}},
        ids.RATING_COMMENT_BLOCK: {ids.RATING_COMMENT_ACTION: {
            "type": "plain_text_input", "value": "The window is 30 days now, mail me at "
                                                 "lee@example.com"}},
    }
    submitted = slack.interact(view_submission_payload(view, values))
    assert submitted.status_code == 200 and submitted.text == ""  # the modal closes
    thanks = slack.answer_at(url)
    assert "not helpful (Outdated)" in thanks["text"]
    [rating] = ratings(slack)
    assert rating.reason == "outdated"
    assert "30 days" in rating.comment and "lee@example.com" not in rating.comment  # masked


def test_a_reason_is_required_and_asked_for_inside_the_modal(slack: RepApp) -> None:
    answer = ask(slack)
    click(slack, button(answer, ids.RATE_NOT_HELPFUL))
    [opened] = slack.stub.wait_for(lambda: slack.stub.calls_to("views.open"))
    response = slack.interact(view_submission_payload(opened["view"], {}))
    assert response.json() == {"response_action": "errors",
                               "errors": {ids.RATING_REASON_BLOCK: "Choose what was wrong."}}
    assert ratings(slack)[0].reason is None


def test_a_rating_from_a_message_in_a_thread_is_stored_the_same_way(slack: RepApp) -> None:
    slack.event({"type": "app_mention", "user": REP_USER_ID, "text": f"<@U0BOT> {QUESTION}",
                 "ts": "1700000100.000100", "channel": CHANNEL_ID})
    [posted] = slack.stub.wait_for(lambda: slack.stub.messages(CHANNEL_ID))
    click(slack, button(posted, ids.RATE_HELPFUL), ephemeral=False, message=posted)
    slack.stub.wait_for(lambda: ratings(slack))
    assert ratings(slack)[0].article_id == "refund-exceptions"


def test_kb_feedback_api_lists_ratings_with_filters_and_pages(slack: RepApp) -> None:
    services = slack.services
    for n, (article, helpful) in enumerate([("refund-policy", True), ("refund-policy", False),
                                            ("reset-password", True)]):
        services.ratings.record(rep=f"U0REP{n}", query=f"question {n}", article_id=article,
                                helpful=helpful, reason=None if helpful else "incomplete")
    http = slack.http
    assert http.get("/api/kb/feedback").status_code == 401
    everything = http.get("/api/kb/feedback", headers=ADMIN).json()
    assert everything["total"] == 3
    assert [r["article_id"] for r in everything["ratings"]] == [
        "reset-password", "refund-policy", "refund-policy"]  # newest first
    unhelpful = http.get("/api/kb/feedback", headers=ADMIN,
                         params={"article_id": "refund-policy", "helpful": "false"}).json()
    assert unhelpful["total"] == 1 and unhelpful["ratings"][0]["reason"] == "incomplete"
    page = http.get("/api/kb/feedback", headers=ADMIN, params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 3 and [r["query"] for r in page["ratings"]] == ["question 1"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert http.get("/api/kb/feedback", headers=ADMIN,
                    params={"since": later}).json()["total"] == 0
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert http.get("/api/kb/feedback", headers=ADMIN,
                    params={"since": earlier}).json()["total"] == 3
    assert http.get("/api/kb/feedback", headers=ADMIN,
                    params={"limit": 0}).status_code == 422


# -- Flag a KB gap ----------------------------------------------------------------------------


def gap_flags(slack: RepApp) -> list[Event]:
    with slack.services.db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == "gap_flag")).all())


def test_flag_a_kb_gap_records_the_question_and_confirms_once(slack: RepApp) -> None:
    answer = ask(slack, "how do I bake sourdough bread")
    flag = button(answer, ids.FLAG_GAP)
    url, _ = click(slack, flag)
    confirmed = slack.answer_at(url)
    assert "Flagged as a knowledge-base gap" in confirmed["text"]
    assert confirmed["response_type"] == "ephemeral"
    [event] = gap_flags(slack)
    assert (event.query, event.channel, event.audience, event.session_id) == (
        "how do I bake sourdough bread", "slack", "internal",
        f"slack:{CHANNEL_ID}:ask-{REP_USER_ID}")
    # the same session and decision share the session id: the gap report can join them
    assert slack.decisions()[0].session_id == event.session_id

    again, _ = click(slack, flag)
    assert "Flagged" in slack.answer_at(again)["text"]
    time.sleep(0.2)
    assert len(gap_flags(slack)) == 1  # a double click is not two gaps


def test_a_gap_flagged_in_a_shared_channel_is_recorded_as_public(slack: RepApp) -> None:
    slack.stub.channels["C0SHARED"] = {"is_ext_shared": True}
    _, url = slack.command("/ask", "how do I bake sourdough bread", channel="C0SHARED")
    answer = slack.answer_at(url)
    click(slack, button(answer, ids.FLAG_GAP), channel="C0SHARED")
    [event] = slack.stub.wait_for(lambda: gap_flags(slack))
    assert event.audience == "public"
