"""Hostile and unusual chat input through the real HTTP API, on SQLite and PostgreSQL.

Control characters, NUL, 10,000 emoji, right-to-left text, invalid UTF-8, HTML/JS and a 1 MB
body: each is either refused with a clear 4xx ``{"error", "detail"}`` or accepted, stored and
given back exactly as typed (JSON-escaped; the widget renders it as text, checked in Chromium
by tests/e2e/test_widget.py). Nothing crashes, and the conversation's history holds exactly
what was accepted, in order. Rasa is unreachable here: accepted messages get the honest
"can't reach our assistant" reply, which is what matters for storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.db import Database
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from tests.conftest import make_settings

SESSION = "session-input-0001"
ACCEPTED = {
    "control characters": "export failed:\x1b[31m ERROR\x1b[0m\x07 code\x08 7\tsee\r\nabove\x7f",
    "10,000 emoji": "😀" * 9_990 + "👩‍💻🇫🇷" * 2,
    "right-to-left text": "\u202eمرحبا، لا أستطيع تسجيل الدخول\u202c שלום \u200f(اختبار)",
    "HTML and JS": '<img src=x onerror="alert(1)"><script>alert(document.cookie)</script>'
                   '"><svg onload=alert(2)> javascript:alert(3) {{7*7}} ${7*7}',
    "zero-width and combining": "he\u200bllo \u0301\u0301 Z\u0351\u0352\u0353 \ufeffBOM",
}


@pytest.fixture
def client(database: Database, sample_index: Path, real_embedder,  # type: ignore[no-untyped-def]
           tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(sample_index, sample_index / "kb", admin_token="admin-secret-0123",
                             rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2,
                             database_url=database.url)
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder),
                     database=database)
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, message: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/chat", json={"session_id": SESSION, "message": message, **extra})


def history(client: TestClient) -> list[tuple[str, str]]:
    response = client.get("/chat/history", params={"session_id": SESSION})
    assert response.status_code == 200, response.text
    return [(m["sender"], m["text"]) for m in response.json()["messages"]]


def assert_error(response, status: int, code: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == code, body
    for word in words:
        assert word in body["detail"], body


def test_unusual_text_is_accepted_and_kept_exactly(client: TestClient) -> None:
    customer_said = []
    for kind, text in ACCEPTED.items():
        response = post(client, text)
        assert response.status_code == 200, (kind, response.text)
        replies = response.json()["messages"]
        assert replies and "can't reach our assistant" in replies[0]["text"], kind
        customer_said.append(text.strip())
    said = [text for sender, text in history(client) if sender == "customer"]
    assert said == customer_said
    # The raw HTTP body is JSON: markup arrives as a string, never as markup.
    raw = client.get("/chat/history", params={"session_id": SESSION})
    assert raw.headers["content-type"].startswith("application/json")
    assert json.loads(raw.content)["messages"][6]["text"].startswith("<img src=x")


def test_bad_input_is_refused_clearly_and_nothing_is_lost(client: TestClient) -> None:
    assert post(client, "first message").status_code == 200
    before = history(client)

    assert_error(post(client, "hello\x00world"), 422, "invalid_message", "NUL")
    assert_error(post(client, "pick", title="A\x00B"), 422, "invalid_message", "title", "NUL")
    lone_surrogate = b'{"session_id": "' + SESSION.encode() + b'", "message": "half \\ud83d"}'
    assert_error(client.post("/chat", content=lone_surrogate,
                             headers={"Content-Type": "application/json"}),
                 422, "invalid_message", "surrogate", "U+D83D")

    invalid_utf8 = (b'{"session_id": "' + SESSION.encode() + b'", "message": "caf\xe9 \xff"}')
    refused = client.post("/chat", content=invalid_utf8,
                          headers={"Content-Type": "application/json"})
    assert_error(refused, 400, "invalid_request", "UTF-8")

    megabyte = json.dumps({"session_id": SESSION, "message": "a" * 1024 * 1024})
    assert_error(client.post("/chat", content=megabyte,
                             headers={"Content-Type": "application/json"}),
                 413, "request_too_large", "bytes")
    assert_error(post(client, "x" * 50_001), 413, "message_too_long", "50001", "50000")
    assert_error(post(client, " \t\n "), 422, "empty_message")
    assert_error(client.post("/chat", content=b"not json",
                             headers={"Content-Type": "application/json"}),
                 422, "invalid_request")

    assert history(client) == before  # nothing refused was stored, nothing earlier was lost
    assert post(client, "second message").status_code == 200
    said = [text for sender, text in history(client) if sender == "customer"]
    assert said == ["first message", "second message"]
