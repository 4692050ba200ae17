"""/chat, /chat/history, /webhook and the ticket API through the real app (Rasa unreachable)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from frontline.support.chat import UNAVAILABLE
from tests.conftest import make_settings

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def client(sample_index: Path, real_embedder, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = make_settings(
        sample_index, sample_index / "kb", admin_token="admin-secret",
        action_token="action-secret", rasa_url=f"http://127.0.0.1:{free_port()}",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", chat_max_chars=200,
    )
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as test_client:
        yield test_client


def say(client: TestClient, text: str, session: str = "session-0001"):  # type: ignore[no-untyped-def]
    return client.post("/chat", json={"session_id": session, "message": text})


def test_bad_chat_requests_name_the_problem(client: TestClient) -> None:
    too_long = say(client, "x" * 201)
    assert too_long.status_code == 413
    assert too_long.json() == {"error": "message_too_long",
                               "detail": "the message is 201 characters; the limit is 200"}
    assert say(client, "   ").json()["error"] == "empty_message"
    extra = client.post("/chat", json={"session_id": "session-0001", "message": "hi", "x": 1})
    assert extra.status_code == 422 and "x" in extra.json()["detail"]
    bad_session = client.post("/chat", json={"session_id": "a b", "message": "hi"})
    assert bad_session.status_code == 422 and "session_id" in bad_session.json()["detail"]


def test_assistant_down_is_honest_keeps_words_and_files_a_ticket(client: TestClient) -> None:
    first = say(client, "my export has been stuck for two days").json()["messages"]
    assert "can't reach our assistant" in first[0]["text"]
    assert client.get("/healthz").json()["rasa"] == "down"
    filed = say(client, "I'm at lee@example.com").json()["messages"][0]["text"]
    assert "#10001" in filed and "lee@example.com" in filed
    ticket = client.get("/api/tickets/10001", headers=ADMIN).json()
    assert ticket["summary"] == "My export has been stuck for two days"
    assert ticket["email"] == "lee@example.com"
    assert [t["sender"] for t in ticket["transcript"]][:2] == ["customer", "bot"]
    history = client.get("/chat/history", params={"session_id": "session-0001"}).json()
    assert [m["sender"] for m in history["messages"]] == ["customer", "bot", "customer", "bot"]
    # A second email later does not file the same words again.
    say(client, "still waiting")
    again = say(client, "or write to lee@example.com").json()["messages"][0]["text"]
    details = client.get("/api/tickets/10002", headers=ADMIN).json()["details"]
    assert "#10002" in again and "stuck" not in details and "still waiting" in details


def test_handoff_messages_go_to_the_ticket_and_rep_replies_show_up(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    ticket = services.tickets.create(email="", summary="wants a person",
                                     session_id="session-hand", handoff=True)
    services.conversations.start_handoff("session-hand", ticket.id)
    ack = say(client, "are you there?", "session-hand").json()["messages"]
    assert ack == [{"text": "Sent to our support team — they'll reply here.", "buttons": [],
                    "links": []}]
    reply = client.post(f"/api/tickets/{ticket.number}/reply", headers=ADMIN,
                        json={"text": "Yes, Maria here.", "author": "Maria"})
    assert reply.status_code == 200
    history = client.get("/chat/history", params={"session_id": "session-hand",
                                                  "after": 0}).json()["messages"]
    assert [(m["sender"], m["text"]) for m in history] == [
        ("customer", "are you there?"), ("rep", "Yes, Maria here.")]
    later = client.get("/chat/history", params={"session_id": "session-hand",
                                                "after": history[-1]["id"]}).json()
    assert later["messages"] == []
    detail = client.get(f"/api/tickets/{ticket.number}", headers=ADMIN).json()
    assert detail["handoff_active"] is True
    client.patch(f"/api/tickets/{ticket.number}", headers=ADMIN, json={"status": "resolved"})
    back = say(client, "hello again", "session-hand").json()["messages"][0]["text"]
    assert "can't reach our assistant" in back  # the bot (down here) has the chat again


def test_ticket_api_needs_the_admin_token_and_validates(client: TestClient) -> None:
    assert client.get("/api/tickets").status_code == 401
    assert client.get("/api/tickets/123", headers=ADMIN).json()["error"] == "ticket_not_found"
    services = client.app.state.services  # type: ignore[attr-defined]
    services.tickets.create(email="a@example.com", summary="One")
    listed = client.get("/api/tickets", headers=ADMIN).json()
    assert listed["total"] == 1 and listed["tickets"][0]["number"] == 10001
    bad = client.patch("/api/tickets/10001", headers=ADMIN, json={"status": "closed"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    ok = client.patch("/api/tickets/10001", headers=ADMIN,
                      json={"status": "pending", "assignee": "sam", "note": "called back"})
    assert ok.json()["status"] == "pending" and ok.json()["assignee"] == "sam"
    notes = client.get("/api/tickets/10001", headers=ADMIN).json()["notes"]
    assert [n["text"] for n in notes] == ["called back"]
    no_chat = client.post("/api/tickets/10001/reply", headers=ADMIN, json={"text": "hi"})
    assert no_chat.status_code == 409 and no_chat.json()["error"] == "not_a_handoff"


ACTION_CALL = {
    "next_action": "action_record_csat",
    "sender_id": "session-webhook",
    "version": "3.6.21",
    "domain": {"intents": [], "slots": {}, "responses": {}, "actions": []},
    "tracker": {
        "sender_id": "session-webhook", "slots": {"csat_score": "5"},
        "latest_message": {"text": "/csat", "intent": {"name": "csat"}, "entities": []},
        "events": [], "paused": False, "followup_action": None,
        "active_loop": {}, "latest_action_name": None,
    },
}


def test_webhook_runs_actions_for_rasa_with_the_token(client: TestClient) -> None:
    token = {"X-Frontline-Action-Token": "action-secret"}
    assert client.post("/webhook", json=ACTION_CALL).status_code == 401
    wrong = client.post("/webhook", json=ACTION_CALL, headers={"X-Frontline-Action-Token": "x"})
    assert wrong.status_code == 401
    # In the URL it does not count: access logs record URLs verbatim.
    assert client.post("/webhook?token=action-secret", json=ACTION_CALL).status_code == 401
    response = client.post("/webhook", json=ACTION_CALL, headers=token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["responses"][0]["text"] == "Thank you for the feedback!"
    assert {"event": "slot", "name": "csat_score", "value": None} in [
        {k: e[k] for k in ("event", "name", "value")} for e in body["events"]]
    unknown = client.post("/webhook", headers=token,
                          json={**ACTION_CALL, "next_action": "action_nope"})
    assert unknown.status_code == 404 and unknown.json()["action_name"] == "action_nope"
    names = {a["name"] for a in client.get("/actions").json()}
    assert "action_answer_from_kb" in names


def test_webhook_without_a_configured_secret_refuses_every_call(  # type: ignore[no-untyped-def]
        sample_index: Path, real_embedder, tmp_path: Path) -> None:
    settings = make_settings(sample_index, sample_index / "kb",
                             database_url=f"sqlite:///{tmp_path / 'open.sqlite'}")
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as open_client:
        for headers in ({}, {"X-Frontline-Action-Token": ""}):
            refused = open_client.post("/webhook", json=ACTION_CALL, headers=headers)
            assert refused.status_code == 401 and "FRONTLINE_ACTION_TOKEN" in refused.text


def test_rate_limit_per_session_says_the_limit(sample_index: Path, real_embedder,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    settings = make_settings(
        sample_index, sample_index / "kb", rasa_url=f"http://127.0.0.1:{free_port()}",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", chat_rate_limit=3,
    )
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as client:
        for _ in range(3):
            assert say(client, "hello", "session-rate").status_code == 200
        limited = say(client, "hello", "session-rate")
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert "at most 3 a minute" in limited.json()["detail"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 61
        assert say(client, "hello", "session-other").status_code == 200


def test_button_titles_are_what_the_conversation_records(client: TestClient) -> None:
    client.post("/chat", json={"session_id": "session-title", "message": "/request_ticket",
                               "title": "File a ticket"})
    history = client.get("/chat/history", params={"session_id": "session-title"}).json()
    assert history["messages"][0]["text"] == "File a ticket"


def test_cors_allows_only_configured_origins(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/chat", headers={"Origin": "http://localhost:8000", **preflight})
    assert ok.headers.get("access-control-allow-origin") == "http://localhost:8000"
    evil = client.options("/chat", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers


def test_widget_script_and_demo_page_are_served(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    page = client.get("/")
    assert page.status_code == 200 and 'src="/widget.js"' in page.text


def test_a_retried_send_is_answered_again_not_stored_twice(client: TestClient) -> None:
    body = {"session_id": "session-retry", "message": "my export is stuck",
            "client_id": "web-msg-1"}
    first = client.post("/chat", json=body).json()["messages"]
    again = client.post("/chat", json=body).json()["messages"]
    assert again == first
    history = client.get("/chat/history", params={"session_id": "session-retry"}).json()
    assert [m["sender"] for m in history["messages"]] == ["customer", "bot"]


def test_history_names_the_rep(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.conversations.add("session-author", "rep", "Hi", data={"author": "Maria"})
    (message,) = client.get("/chat/history",
                            params={"session_id": "session-author"}).json()["messages"]
    assert (message["sender"], message["author"]) == ("rep", "Maria")


def test_widget_script_is_compressed(client: TestClient) -> None:
    script = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers.get("content-encoding") == "gzip"


def test_an_oversized_body_is_refused_before_it_is_read(client: TestClient) -> None:
    huge = "x" * (300 * 1024)
    refused = client.post("/chat", content=f'{{"session_id": "session-0001", "message": "{huge}"}}',
                          headers={"content-type": "application/json"})
    assert refused.status_code == 413
    assert refused.json() == {"error": "request_too_large",
                              "detail": "the request body is over the limit of 262144 bytes"}

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(300):  # streamed, no Content-Length: cut off as it passes the limit
            yield b"x" * 1024

    streamed = client.post("/api/kb/reindex", content=chunks(), headers=ADMIN)
    assert streamed.status_code == 413
    assert say(client, "a normal message").status_code == 200


def test_a_turn_cut_off_after_the_message_was_stored_is_finished_by_the_retry(
        client: TestClient) -> None:
    """The database (or the replica) went away after the customer's words were kept and
    before a reply was: the widget's retry with the same client_id gets the turn finished
    once — the words are not stored twice and the assistant (down here) answers honestly."""
    services = client.app.state.services  # type: ignore[attr-defined]
    services.conversations.add_customer("session-cut", "my export is stuck",
                                        {"client_id": "web-msg-9"})
    body = {"session_id": "session-cut", "message": "my export is stuck",
            "client_id": "web-msg-9"}
    replies = client.post("/chat", json=body).json()["messages"]
    assert [r["text"] for r in replies] == [UNAVAILABLE]
    assert client.post("/chat", json=body).json()["messages"] == replies
    history = client.get("/chat/history", params={"session_id": "session-cut"}).json()
    assert [m["sender"] for m in history["messages"]] == ["customer", "bot"]
