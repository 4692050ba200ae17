"""The digest schedule end to end: with ``FRONTLINE_DIGEST_CRON`` set to a cron that fires
every two seconds, the running service (its lifespan, its Slack app and retry queue) posts the
weekly digest to the feedback channel of a local Slack Web API — the posted Block Kit is the
builder's message for the same report."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from slack_sdk.web.async_client import AsyncWebClient

from frontline.analytics import Analytics
from frontline.api.app import create_app
from frontline.db import Database, Event, ProcessFeedback
from frontline.knowledge import KnowledgeBase
from integrations.slack.digest import TOP_GAPS, dashboard_link, digest_message
from tests.conftest import make_settings
from tests.support.slack_api import SlackStub

TOKEN = "xoxb-digest"
FEEDBACK = "C0FEEDBACK"


def test_the_cron_posts_the_digest_from_the_running_service(
        sample_index: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'frontline.db'}"
    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:  # this week: one answered "yes", one abstain, one item
        session.add_all([
            Event(kind="decision", session_id="d1", query="how do I reset my password",
                  decision="answer", ambiguous=False, article_id="reset-password",
                  created_at=now),
            Event(kind="feedback", session_id="d1", article_id="reset-password",
                  deflected=True, created_at=now),
            Event(kind="decision", session_id="d2", query="do you integrate with SAP",
                  decision="abstain", ambiguous=False, created_at=now),
            ProcessFeedback(rep="U0REP", rep_name="Ada", area="tooling", impact="high",
                            what_happened="Backstage times out on refunds", created_at=now),
        ])
    settings = make_settings(sample_index, tmp_path / "kb", database_url=url,
                             slack_bot_token=TOKEN, slack_signing_secret="s" * 32,
                             slack_feedback_channel=FEEDBACK, digest_cron="* * * * * */2",
                             public_url="https://support.example.com")
    knowledge = KnowledgeBase(settings)
    with SlackStub(token=TOKEN) as stub:
        client = AsyncWebClient(token=TOKEN, base_url=stub.url)
        with TestClient(create_app(settings, knowledge=knowledge, database=db,
                                   slack_client=client)) as service:
            assert service.get("/healthz").status_code == 200
            deadline = time.monotonic() + 60
            while not stub.messages(FEEDBACK) and time.monotonic() < deadline:
                time.sleep(0.25)
            posted = stub.messages(FEEDBACK)
            assert posted, stub.calls()
            analytics = Analytics(db, settings, knowledge)
            report = analytics.report(analytics.period(days=7), top_gaps=TOP_GAPS)
    expected = digest_message(report, dashboard_link(settings.public_url, report))
    first = posted[0]
    assert first["text"] == expected["text"]
    assert first["blocks"] == expected["blocks"]
    blocks = str(first["blocks"])
    assert "Frontline weekly digest" in blocks
    assert "Conversations that asked the KB" in blocks and "Backstage times out" in blocks
    assert "do you integrate with SAP" in blocks  # the top KB gap
    assert "https://support.example.com/dashboard?days=custom" in blocks
