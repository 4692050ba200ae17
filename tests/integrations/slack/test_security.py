"""Retries never post twice; unsigned, wrongly signed and stale requests are refused (401)
and logged without their body; Slack off or with a wrong token says so plainly."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from tests.conftest import make_settings
from tests.integrations.slack.rep_harness import SECRET, TOKEN, RepApp, rep_app
from tests.support.slack_signing import (
    BOT_USER_ID,
    CHANNEL_ID,
    REP_USER_ID,
    command_body,
    event_body,
    signature,
)

SECRET_WORDS = "tangerine-zebra-4417 refund after 14 days"


@pytest.fixture
def slack(sample_index: Path, real_embedder: Any, tmp_path: Path) -> Iterator[RepApp]:
    with rep_app(sample_index, real_embedder, tmp_path) as running:
        yield running


def mention_event(ts: str = "1700000100.000100") -> dict[str, Any]:
    return {"type": "app_mention", "user": REP_USER_ID, "channel": CHANNEL_ID, "ts": ts,
            "text": f"<@{BOT_USER_ID}> how do I reset my password"}


# -- Slack's retries ----------------------------------------------------------------------------


def test_a_retried_event_is_acknowledged_and_posts_once(slack: RepApp) -> None:
    body = event_body(mention_event(), event_id="Ev0RETRIED01")
    assert slack.send(body).status_code == 200
    slack.stub.wait_for(lambda: slack.stub.messages(CHANNEL_ID))
    retried = slack.send(body, headers={"X-Slack-Retry-Num": "1",
                                        "X-Slack-Retry-Reason": "http_timeout"})
    assert retried.status_code == 200
    again = slack.send(body)  # the same event id without the header: still a repeat
    assert again.status_code == 200
    time.sleep(1.0)  # long enough for a second answer to have been posted
    assert len(slack.stub.calls_to("chat.postMessage")) == 1
    assert len(slack.decisions()) == 1


def test_a_retry_of_an_event_never_handled_is_handled(slack: RepApp) -> None:
    body = event_body(mention_event(), event_id="Ev0FIRSTSEEN")
    slack.send(body, headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"})
    slack.stub.wait_for(lambda: slack.stub.messages(CHANNEL_ID))
    assert len(slack.decisions()) == 1


def test_a_retried_request_without_an_event_id_is_acknowledged_and_dropped(
        slack: RepApp) -> None:
    url = slack.urls.new()
    body = command_body("/ask", "how do I reset my password", response_url=url)
    assert slack.send(body, headers={"X-Slack-Retry-Num": "1"}).status_code == 200
    time.sleep(0.5)
    assert slack.urls.posts(url) == [] and slack.decisions() == []


# -- signatures ---------------------------------------------------------------------------------


def test_unsigned_wrongly_signed_and_stale_requests_get_401_and_no_body_in_the_log(
        slack: RepApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = command_body("/ask", SECRET_WORDS, response_url=slack.urls.new())
    now = int(time.time())
    attempts = {
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong signature": {"Content-Type": "application/x-www-form-urlencoded",
                            "X-Slack-Request-Timestamp": str(now),
                            "X-Slack-Signature": signature("another-secret", body, now)},
        "stale": {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Slack-Request-Timestamp": str(now - 301),
                  "X-Slack-Signature": signature(SECRET, body, now - 301)},
    }
    for name, headers in attempts.items():
        response = slack.http.post("/slack/events", content=body, headers=headers)
        assert response.status_code == 401, name
    time.sleep(0.3)
    assert slack.decisions() == []  # nothing ran
    rejected = [r for r in caplog.records if "rejected a Slack request (401)" in r.getMessage()]
    assert len(rejected) == 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "tangerine" not in logged and "refund" not in logged
    assert TOKEN not in logged and SECRET not in logged
    # the same request signed correctly is accepted
    assert slack.send(body).status_code == 200


def test_channel_chatter_the_app_receives_is_acknowledged_quietly(
        slack: RepApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="integrations")
    for n in range(3):  # message.channels events for every message where the bot is a member
        response = slack.event({"type": "message", "user": REP_USER_ID, "text": SECRET_WORDS,
                                "ts": f"170000010{n}.000100", "channel": "C0RANDOM",
                                "channel_type": "channel"})
        assert response.status_code == 200
    time.sleep(0.3)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "tangerine" not in "\n".join(r.getMessage() for r in caplog.records)
    assert slack.stub.calls == [c for c in slack.stub.calls if c[0] == "auth.test"]


# -- Slack off, or a wrong token ----------------------------------------------------------------


def test_without_slack_tokens_the_endpoint_says_disabled_and_health_says_off(
        sample_index: Path, real_embedder: Any, tmp_path: Path) -> None:
    settings = make_settings(sample_index, sample_index / "kb",
                             rasa_url=f"http://127.0.0.1:{free_port()}",
                             database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as http:
        response = http.post("/slack/events", content="{}")
        assert response.status_code == 404
        assert response.json()["error"] == "slack_disabled"
        assert "FRONTLINE_SLACK_BOT_TOKEN" in response.json()["detail"]
        assert http.get("/healthz").json()["slack"] == "off"


def test_a_wrong_token_is_said_once_at_startup_and_requests_get_503(
        sample_index: Path, real_embedder: Any, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with rep_app(sample_index, real_embedder, tmp_path, token="xoxb-revoked-token") as slack:
        assert slack.http.get("/healthz").json()["slack"] == "invalid_token"
        for _ in range(3):
            response = slack.send(event_body(mention_event()))
            assert response.status_code == 503
            assert response.json()["error"] == "slack_unavailable"
        assert slack.http.get("/healthz").json()["slack"] == "invalid_token"
        assert len(slack.stub.calls_to("auth.test")) == 1  # not re-checked per request
        assert slack.stub.calls_to("chat.postMessage") == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "Slack rejected FRONTLINE_SLACK_BOT_TOKEN (invalid_auth)" in errors[0].getMessage()
    assert "xoxb-revoked-token" not in caplog.text
