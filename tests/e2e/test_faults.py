"""Faults, each asserting that nothing was lost (issue 14).

1. Rasa is killed (SIGKILL) in the middle of a conversation and started again: the customer
   is told honestly that the assistant is unavailable, their words are kept, and the
   conversation goes on after the restart.
3. An index build is killed (SIGKILL) halfway, or runs out of disk (a real, small tmpfs): the
   published version keeps serving, and the next build cleans up and publishes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from frontline.redaction import mask
from indexer import store
from tests.conftest import make_settings
from tests.e2e.conftest import ADMIN_TOKEN, Chat, text_of
from tests.support.stack import Stack

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

UNAVAILABLE = "can't reach our assistant"


def history(stack: Stack, session_id: str) -> list[tuple[str, str]]:
    response = httpx.get(f"{stack.url}/chat/history", params={"session_id": session_id},
                         timeout=30)
    assert response.status_code == 200, response.text
    return [(m["sender"], m["text"]) for m in response.json()["messages"]]


def test_rasa_killed_mid_conversation_and_restarted(chat: Chat, stack: Stack) -> None:
    chat.client.timeout = httpx.Timeout(180)  # a cold first turn on a busy machine
    assert "virtual assistant" in text_of(chat.say("hi there")).lower()
    answer = chat.say("I forgot my password and can't sign in")
    assert any(link["url"].endswith("/reset-password") for m in answer for link in m["links"])

    assert stack.rasa.process is not None
    os.killpg(stack.rasa.process.pid, signal.SIGKILL)
    stack.rasa.process.wait(timeout=30)
    try:
        down = chat.say("my CSV export has been stuck for two days")
        assert UNAVAILABLE in text_of(down), down
        assert stack.app.state.services.conversations.undelivered(chat.session_id)[0].text == (
            "my CSV export has been stuck for two days")
        health = httpx.get(f"{stack.url}/healthz", timeout=30).json()
        assert health["rasa"] == "down", health
    finally:
        stack.rasa.start()
        stack.rasa.wait_ready()

    after = chat.say("How do I cancel my subscription?")
    assert UNAVAILABLE not in text_of(after), after
    assert any("cancel" in link["url"] for m in after for link in m["links"]), after
    said = [text for sender, text in history(stack, chat.session_id) if sender == "customer"]
    assert said == ["hi there", "I forgot my password and can't sign in",
                    "my CSV export has been stuck for two days",
                    "How do I cancel my subscription?"]


# -- 3. an index build killed halfway, or out of disk ------------------------------------------
KILLED_BUILD = """
import sys
from pathlib import Path
from frontline.knowledge import default_embedding_model
from indexer import SentenceTransformerEmbedder, build_index
build_index(Path(sys.argv[1]), Path(sys.argv[2]),
            SentenceTransformerEmbedder(default_embedding_model()), full=True)
"""


def _search_titles(client: TestClient, query: str) -> list[str]:
    response = client.get("/api/search", params={"q": query})
    assert response.status_code == 200, response.text
    return [hit["title"] for hit in response.json()["hits"]]


@pytest.fixture
def kb_service(sample_index: Path, real_embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The service over a private copy of the indexed sample KB (index under ``tmp_path/data``)."""
    data = tmp_path / "data"
    shutil.copytree(sample_index / "index", data / "index")
    settings = make_settings(data, sample_index / "kb", admin_token=ADMIN_TOKEN,
                             rasa_url=f"http://127.0.0.1:{free_port()}",
                             database_url=f"sqlite:///{tmp_path / 'frontline.db'}")
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as client:
        yield client, settings


def test_index_build_killed_halfway_old_version_serves_next_build_cleans_up(
    kb_service,  # type: ignore[no-untyped-def]
) -> None:
    client, settings = kb_service
    index = settings.index_dir
    before = store.current_version(index)
    served = _search_titles(client, "reset my password")
    assert before and served
    build = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(settings.kb_dir),
                              str(index)], start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not list(store.versions_dir(index).glob(f"{store.TMP_PREFIX}*")):
            assert build.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.3)  # well into writing the new version
    finally:
        os.killpg(build.pid, signal.SIGKILL)
        build.wait(timeout=30)
    assert build.returncode == -signal.SIGKILL
    assert list(store.versions_dir(index).glob(f"{store.TMP_PREFIX}*")), "nothing half-written"
    assert store.current_version(index) == before
    client.app.state.services.knowledge.retriever.current()  # a reload keeps the old version
    assert _search_titles(client, "reset my password") == served

    done = client.post("/api/kb/reindex", json={"full": True}, headers=ADMIN)
    assert done.status_code == 200, done.text
    assert done.json()["version"] != before
    assert not list(store.versions_dir(index).glob(f"{store.TMP_PREFIX}*"))
    assert _search_titles(client, "reset my password") == served


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs mount (we run as root in CI); skipped where mounting is not allowed."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _resize(mount: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount)], check=True,
                   capture_output=True)


def test_index_build_out_of_disk_old_version_serves_next_build_cleans_up(
    sample_index: Path, real_embedder, small_disk: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    data = small_disk / "data"
    shutil.copytree(sample_index / "index", data / "index")
    settings = make_settings(data, sample_index / "kb", admin_token=ADMIN_TOKEN,
                             rasa_url=f"http://127.0.0.1:{free_port()}",
                             database_url=f"sqlite:///{tmp_path / 'frontline.db'}")
    index = settings.index_dir
    before = store.current_version(index)
    assert before is not None
    version_bytes = sum(f.stat().st_size for f in store.version_path(index, before).rglob("*")
                        if f.is_file())
    used = shutil.disk_usage(small_disk).used
    _resize(small_disk, used + version_bytes // 3)  # room for a third of a new version
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as client:
        served = _search_titles(client, "reset my password")
        assert served
        full = client.post("/api/kb/reindex", json={"full": True}, headers=ADMIN)
        assert full.status_code == 507, full.text
        assert full.json()["error"] == "index_write_failed"
        assert "previous version" in full.json()["detail"], full.json()
        assert store.current_version(index) == before
        assert not list(store.versions_dir(index).glob(f"{store.TMP_PREFIX}*"))
        assert _search_titles(client, "reset my password") == served

        _resize(small_disk, 64 * 1024 * 1024)  # the operator frees space
        again = client.post("/api/kb/reindex", json={"full": True}, headers=ADMIN)
        assert again.status_code == 200, again.text
        assert store.current_version(index) == again.json()["version"] != before
        assert _search_titles(client, "reset my password") == served


# -- 2. PostgreSQL stopped during traffic and started again ------------------------------------
class Widget:
    """What integrations/webchat/static/widget.js does with its outbox: send in order with a
    ``client_id`` per message; a 5xx or a lost connection keeps the message for a retry; a 200
    takes it out; a 4xx would give it back to the customer (none is expected here)."""

    def __init__(self, client: TestClient, session_id: str) -> None:
        self.client = client
        self.session_id = session_id
        self.outbox: list[tuple[str, str]] = []
        self.sent: list[str] = []  # every message the customer sent, in order
        self.refusals: list[tuple[int, dict]] = []

    def type(self, text: str) -> None:
        self.sent.append(text)
        self.outbox.append((f"m{len(self.sent)}", text))

    def pump(self) -> None:
        while self.outbox:
            client_id, text = self.outbox[0]
            response = self.client.post("/chat", json={"session_id": self.session_id,
                                                       "message": text, "client_id": client_id})
            if response.status_code != 200:
                assert response.status_code >= 500, response.text  # never refused for good
                self.refusals.append((response.status_code, response.json()))
                return
            assert response.json()["messages"], response.text  # the customer sees a reply
            self.outbox.pop(0)


def test_postgres_stopped_during_traffic_nothing_lost(sample_index: Path, real_embedder,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    from tests.support.postgres import pg_bin, postgres_cluster

    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed here (make test installs it)")
    with postgres_cluster() as pg:
        settings = make_settings(sample_index, sample_index / "kb", admin_token=ADMIN_TOKEN,
                                 rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2,
                                 database_url=pg.url)
        app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
        with TestClient(app, raise_server_exceptions=False) as client:
            widgets = [Widget(client, f"pg-fault-{i:04d}") for i in range(3)]
            for widget in widgets:
                widget.type("my invoice for March is missing")
                widget.pump()
            assert not any(w.outbox for w in widgets)

            pg.stop()
            for n, widget in enumerate(widgets):
                widget.type(f"still no invoice, widget {n}")
                widget.type(f"please write to me at customer{n}@example.com")
                widget.pump()
            refused = [r for w in widgets for r in w.refusals]
            assert refused and all(status == 503 for status, _ in refused), refused
            assert {body["error"] for _, body in refused} == {"database_unavailable"}
            assert all("unavailable" in body["detail"] for _, body in refused)
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["database"] == "down"

            pg.start()
            for widget in widgets:
                widget.type("thanks")
            for _ in range(5):  # the widget's retries with back-off, bounded
                for widget in widgets:
                    widget.pump()
                if not any(w.outbox for w in widgets):
                    break
                time.sleep(1)
            assert not any(w.outbox for w in widgets), [w.outbox for w in widgets]

            services = client.app.state.services  # type: ignore[attr-defined]
            tickets, _ = services.tickets.find(limit=500)
            for n, widget in enumerate(widgets):
                stored = [m.text for m in services.conversations.messages(widget.session_id)
                          if m.sender == "customer"]
                # Every message sent is stored (masked, as every store keeps them), once, in order.
                assert stored == [mask(text) for text in widget.sent]
                filed = [t for t in tickets if t.session_id == widget.session_id]
                assert len(filed) == 1 and filed[0].email == f"customer{n}@example.com"
                assert "still no invoice" in filed[0].details
