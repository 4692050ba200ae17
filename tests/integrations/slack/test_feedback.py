"""Process feedback from Slack: the modal from /feedback and both shortcuts, errors inside the
modal, the post to the feedback channel, the rep's receipt, and ops' answer reaching the rep's
DM (opened with conversations.open) when the item changes through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from frontline.db import ProcessFeedback
from integrations.slack import blocks, ids
from tests.integrations.slack.rep_harness import ADMIN, RepApp, rep_app, texts
from tests.support.slack_signing import (
    REP_USER_ID,
    message_shortcut_payload,
    shortcut_payload,
    view_submission_payload,
)

FEEDBACK_CHANNEL = "C0OPSFEEDBACK"


@pytest.fixture
def slack(sample_index: Path, real_embedder: Any, tmp_path: Path) -> Iterator[RepApp]:
    with rep_app(sample_index, real_embedder, tmp_path,
                 slack_feedback_channel=FEEDBACK_CHANNEL) as running:
        yield running


def opened_views(slack: RepApp, n: int = 1) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]]:
        calls = slack.stub.calls_to("views.open")
        return calls if len(calls) >= n else []

    return [c["view"] for c in slack.stub.wait_for(enough)]


def values(*, area: str | None = "process", what: str = "", helps: str = "",
           impact: str | None = "medium", ticket: str = "") -> dict[str, Any]:
    def select_(value: str | None) -> dict[str, Any]:
        return {"selected_option": {"value": value} if value else None}

    return {
        ids.FEEDBACK_AREA_BLOCK: {ids.FEEDBACK_AREA_ACTION: {"type": "static_select",
                                                            **select_(area)}},
        ids.FEEDBACK_WHAT_HAPPENED_BLOCK: {ids.FEEDBACK_WHAT_HAPPENED_ACTION: {
            "type": "plain_text_input", "value": what or None}},
        ids.FEEDBACK_WHAT_WOULD_HELP_BLOCK: {ids.FEEDBACK_WHAT_WOULD_HELP_ACTION: {
            "type": "plain_text_input", "value": helps or None}},
        ids.FEEDBACK_IMPACT_BLOCK: {ids.FEEDBACK_IMPACT_ACTION: {"type": "radio_buttons",
                                                                **select_(impact)}},
        ids.FEEDBACK_TICKET_BLOCK: {ids.FEEDBACK_TICKET_ACTION: {
            "type": "plain_text_input", "value": ticket or None}},
    }


def items(slack: RepApp) -> list[ProcessFeedback]:
    with slack.services.db.session() as session:
        return list(session.scalars(select(ProcessFeedback)).all())


def test_feedback_command_opens_the_modal_prefilled(slack: RepApp) -> None:
    response, _ = slack.command("/feedback", "the refund macro is out of date")
    assert response.status_code == 200 and response.text == ""
    [view] = opened_views(slack)
    assert view["callback_id"] == ids.FEEDBACK_MODAL
    what = next(b for b in view["blocks"] if b["block_id"] == ids.FEEDBACK_WHAT_HAPPENED_BLOCK)
    assert what["element"]["initial_value"] == "the refund macro is out of date"


def test_shortcuts_open_the_modal_and_a_message_prefills_it(slack: RepApp) -> None:
    assert slack.interact(shortcut_payload(ids.FEEDBACK_SHORTCUT)).status_code == 200
    assert slack.interact(message_shortcut_payload(
        ids.FEEDBACK_MESSAGE_SHORTCUT,
        {"ts": "1700000000.000100", "text": "Customers keep asking about <https://x.example|"
                                             "the VAT page> &amp; nobody knows"},
    )).status_code == 200
    blank, prefilled = opened_views(slack, 2)
    what = ids.FEEDBACK_WHAT_HAPPENED_BLOCK

    def initial(view: dict[str, Any]) -> str | None:
        block = next(b for b in view["blocks"] if b["block_id"] == what)
        return block["element"].get("initial_value")

    assert initial(blank) is None
    assert initial(prefilled) == "Customers keep asking about the VAT page & nobody knows"


def test_bad_input_is_answered_inside_the_modal_and_nothing_is_stored(slack: RepApp) -> None:
    slack.command("/feedback")
    [view] = opened_views(slack)
    response = slack.interact(view_submission_payload(
        view, values(area=None, what="   ", impact=None, ticket="99999")))
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {
        ids.FEEDBACK_AREA_BLOCK: "Choose the area this is about.",
        ids.FEEDBACK_WHAT_HAPPENED_BLOCK: "Tell us what happened.",
        ids.FEEDBACK_IMPACT_BLOCK: "Choose the impact: low, medium or high.",
        ids.FEEDBACK_TICKET_BLOCK: "There is no ticket #99999.",
    }}
    assert items(slack) == []
    assert slack.stub.messages() == []


def test_feedback_is_stored_posted_to_ops_and_the_rep_gets_a_receipt(slack: RepApp) -> None:
    ticket = slack.services.tickets.create(email="lee@example.com", summary="refund",
                                           session_id="s-1")
    slack.command("/feedback")
    [view] = opened_views(slack)
    response = slack.interact(view_submission_payload(view, values(
        area="knowledge_base", what="The refund macro still says 14 days",
        helps="Update it to 30 days", impact="high", ticket=f"#{ticket.number}")))
    assert response.status_code == 200 and response.text == ""  # closes the modal
    [item] = items(slack)
    assert (item.rep, item.rep_name, item.area, item.impact, item.ticket_id) == (
        REP_USER_ID, f"user-{REP_USER_ID.lower()}", "knowledge_base", "high", ticket.id)

    [posted] = slack.stub.wait_for(lambda: slack.stub.messages(FEEDBACK_CHANNEL))
    assert f"Process feedback #{item.id}" in posted["text"]
    assert f"#{ticket.number}" in texts(posted) and f"<@{REP_USER_ID}>" in texts(posted)

    dm = slack.stub.wait_for(lambda: slack.stub.dm_channel(REP_USER_ID))
    [receipt] = slack.stub.wait_for(lambda: slack.stub.messages(dm))
    assert f"your process feedback #{item.id} is with the ops team" in receipt["text"]
    assert slack.stub.calls_to("conversations.open")[0]["users"] == REP_USER_ID
    # posted to the DM's own id (a user id as channel would land in the Slackbot DM)
    posts = slack.stub.calls_to("chat.postMessage")
    assert {p["channel"] for p in posts} == {FEEDBACK_CHANNEL, dm}


def test_ops_answer_through_the_api_reaches_the_reps_dm(slack: RepApp) -> None:
    item = slack.services.feedback.submit(rep=REP_USER_ID, rep_name="rep", area="tooling",
                                          what_happened="Backstage logs me out hourly",
                                          impact="medium")
    changed = slack.http.patch(f"/api/feedback/{item.id}", headers=ADMIN,
                               json={"status": "planned",
                                     "reply": "Fix ships next sprint — thanks!"})
    assert changed.status_code == 200 and changed.json()["status"] == "planned"
    dm = slack.stub.wait_for(lambda: slack.stub.dm_channel(REP_USER_ID))
    [update] = slack.stub.wait_for(lambda: slack.stub.messages(dm))
    assert f"Update on your process feedback #{item.id}" in update["text"]
    assert blocks.FEEDBACK_STATUSES["planned"] in texts(update)
    assert "Fix ships next sprint" in texts(update)

    # the same status and reply again is no change: no DM; the next real change is one
    same = slack.http.patch(f"/api/feedback/{item.id}", headers=ADMIN,
                            json={"status": "planned", "reply": "Fix ships next sprint — thanks!"})
    assert same.status_code == 200
    done = slack.http.patch(f"/api/feedback/{item.id}", headers=ADMIN, json={"status": "done"})
    assert done.status_code == 200
    dms = slack.stub.wait_for(lambda: slack.stub.messages(dm)[1:] and slack.stub.messages(dm))
    assert len(dms) == 2 and blocks.FEEDBACK_STATUSES["done"] in texts(dms[1])


def test_the_dm_waits_out_a_slack_outage(slack: RepApp) -> None:
    item = slack.services.feedback.submit(rep=REP_USER_ID, area="policy",
                                          what_happened="x", impact="low")
    slack.stub.fail("conversations.open", status=503, times=2)
    slack.stub.fail("chat.postMessage", status=429, retry_after=1, times=1)
    slack.http.patch(f"/api/feedback/{item.id}", headers=ADMIN, json={"status": "done"})
    dm = slack.stub.wait_for(lambda: slack.stub.dm_channel(REP_USER_ID), timeout=15)
    [update] = slack.stub.wait_for(lambda: slack.stub.messages(dm), timeout=15)
    assert blocks.FEEDBACK_STATUSES["done"] in texts(update)
    assert len(slack.stub.messages(dm)) == 1  # once


def test_without_a_feedback_channel_nothing_is_posted_for_ops(
        sample_index: Path, real_embedder: Any, tmp_path: Path) -> None:
    with rep_app(sample_index, real_embedder, tmp_path) as slack:
        slack.services.feedback.submit(rep=REP_USER_ID, area="other", what_happened="x",
                                       impact="low")
        slack.services.feedback.submit(rep=REP_USER_ID, area="other", what_happened="y",
                                       impact="low")
        assert slack.integration.outbox.pending() == 0  # nothing queued for Slack
        assert slack.stub.calls_to("chat.postMessage") == []
