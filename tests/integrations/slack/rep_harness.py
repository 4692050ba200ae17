"""The real Frontline service with its Slack app on, for tests of what reps do in Slack.

``rep_app(...)`` runs ``create_app`` (lifespan included) with Slack tokens, its Web API pointed at
a ``SlackStub`` on 127.0.0.1, and the real sample knowledge base. Requests are signed exactly as
Slack signs them and go through the Bolt FastAPI adapter at ``/slack/events``.

Replies sent through an interaction's ``response_url`` (``/ask`` answers, thanks for a rating)
reach ``ResponseUrls``, a second local HTTP server that records what was posted to each url —
Slack's real response urls live on hooks.slack.com, which a test cannot reach.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from frontline.services import Services
from frontline.settings import Settings
from integrations.slack.app import SlackIntegration
from tests.conftest import make_settings
from tests.support.slack_api import SlackStub
from tests.support.slack_signing import (
    CHANNEL_ID,
    REP_USER_ID,
    command_body,
    event_body,
    interaction_body,
    signed_headers,
)

TOKEN = "xoxb-frontline-test"
SECRET = "0123456789abcdef0123456789abcdef"
ADMIN_TOKEN = "admin-secret"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class ResponseUrls:
    """A stand-in for Slack's response urls: records the JSON posted to each one."""

    def __init__(self) -> None:
        self._posts: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.status = 200  # what every url answers (404: an expired url)
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with catcher._lock:
                    catcher._posts.setdefault(self.path, []).append(json.loads(raw or b"{}"))
                body = b"ok" if catcher.status == 200 else b"expired_url"
                self.send_response(catcher.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)
        self._thread.start()

    def new(self, kind: str = "commands") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{kind}/{next(self._ids)}"

    def posts(self, url: str) -> list[dict[str, Any]]:
        path = "/" + url.split("/", 3)[3]
        with self._lock:
            return list(self._posts.get(path, []))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class RepApp:
    http: TestClient
    stub: SlackStub
    urls: ResponseUrls
    services: Services
    settings: Settings
    integration: SlackIntegration

    # -- sending signed requests -------------------------------------------------------------
    def send(self, body: str, *, headers: dict[str, str] | None = None,
             timestamp: int | None = None) -> Any:
        signed = signed_headers(SECRET, body, timestamp)
        return self.http.post("/slack/events", content=body, headers={**signed,
                                                                       **(headers or {})})

    def event(self, event: dict[str, Any], **envelope: Any) -> Any:
        return self.send(event_body(event, **envelope))

    def command(self, name: str, text: str = "", *, channel: str = CHANNEL_ID,
                user: str = REP_USER_ID) -> tuple[Any, str]:
        """Run a slash command; returns the response and the command's response_url."""
        url = self.urls.new()
        body = command_body(name, text, user_id=user, channel_id=channel, response_url=url)
        return self.send(body), url

    def interact(self, payload: dict[str, Any]) -> Any:
        return self.send(interaction_body(payload))

    # -- waiting for what the lazy listeners do ----------------------------------------------
    def answer_at(self, url: str, timeout: float = 10.0) -> dict[str, Any]:
        """The (first) message posted to ``url``."""
        return self.stub.wait_for(lambda: self.urls.posts(url), timeout=timeout)[0]

    def decisions(self) -> list[Any]:
        from sqlalchemy import select

        from frontline.db import Event

        with self.services.db.session() as session:
            return list(session.scalars(select(Event).where(Event.kind == "decision")
                                        .order_by(Event.id)).all())


@contextmanager
def rep_app(data_dir: Path, embedder: Any, tmp_path: Path, *, token: str = TOKEN,
            **overrides: Any) -> Iterator[RepApp]:
    """The running service with Slack on (stub Web API, real KB in ``data_dir``)."""
    with SlackStub(token=TOKEN) as stub:
        settings = make_settings(
            data_dir, data_dir / "kb", admin_token=ADMIN_TOKEN,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            database_url=f"sqlite:///{tmp_path / 'slack.sqlite'}",
            slack_bot_token=token, slack_signing_secret=SECRET, slack_api_url=stub.url,
            public_url="https://support.example.com/", **overrides,
        )
        app = create_app(settings, knowledge=KnowledgeBase(settings, embedder))
        urls = ResponseUrls()
        try:
            with TestClient(app) as http:
                yield RepApp(http, stub, urls, app.state.services, settings, app.state.slack)
        finally:
            urls.close()


def block_ids(message: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in message.get("blocks", [])]


def texts(message: dict[str, Any]) -> str:
    """Every text of a message's blocks, joined (to search what the rep sees)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks", []))
    return "\n".join(found)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b.get("type") == "actions"
            for e in b.get("elements", [])]
