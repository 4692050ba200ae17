"""The deploy/ layout on loopback: nginx, two Frontline replicas, two Rasa replicas (Redis lock
store, PostgreSQL tracker store), one PostgreSQL, one shared folder of index versions.

Conversations whose turns alternate between the replicas lose nothing, answer nothing twice
and keep their order; one reindex reaches both replicas; Redis going away (fault 4) and a
replica dying behind the proxy (fault 5).
"""

from __future__ import annotations

import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from deploy.cluster import Cluster, ensure_database
from frontline.support.chat import UNAVAILABLE
from tests.conftest import make_settings
from tests.support.redis import RedisServer, redis_bin, redis_server

pytestmark = pytest.mark.skipif(not Path("/usr/sbin/nginx").exists() or redis_bin() is None,
                                reason="needs Debian's nginx and redis-server (make test-deps)")

ADMIN_TOKEN = secrets.token_urlsafe(24)
QUESTIONS = [
    "I forgot my password and can't sign in",
    "how do I cancel my subscription",
    "trying to attach a 400mb zip to a task and it keeps erroring",
    "does the ical feed work with apple calendar on my mac",
    "how do I invite teammates to my workspace",
]


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(sample_index: Path, postgres_url: str, redis: RedisServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    shared = root / "shared"  # the folder every replica watches (a network share in production)
    shutil.copytree(sample_index / "index", shared / "index")
    shutil.copytree(sample_index / "kb", root / "kb")
    settings = make_settings(shared, root / "kb", admin_token=ADMIN_TOKEN)
    base = make_url(postgres_url)
    database_url = base.set(database="frontline_cluster").render_as_string(hide_password=False)
    tracker_url = base.set(database="rasa_cluster").render_as_string(hide_password=False)
    ensure_database(database_url)
    # The bench and the test send more than a customer would: the limits stay, set higher.
    with Cluster(settings, root / "run", database_url, tracker_url, redis.url,
                 env={"FRONTLINE_CHAT_RATE_LIMIT": "1000"}) as running:
        yield running


class Customer:
    """One widget's conversation through nginx, with a client id per message as the widget."""

    def __init__(self, cluster: Cluster) -> None:
        self.session_id = f"cl-{uuid.uuid4().hex[:12]}"
        self.client = httpx.Client(base_url=cluster.url, timeout=60)
        self.sent: list[str] = []
        self.replies: list[list[str]] = []
        self.served_by: list[str] = []
        self.last_id = ""

    def say(self, message: str, client_id: str | None = None) -> list[dict[str, Any]]:
        repeat = client_id is not None
        client_id = client_id or uuid.uuid4().hex
        response = self.client.post("/chat", json={"session_id": self.session_id,
                                                   "message": message,
                                                   "client_id": client_id})
        assert response.status_code == 200, response.text
        messages = response.json()["messages"]
        assert messages, f"no reply to {message!r}"
        assert UNAVAILABLE not in [m["text"] for m in messages], f"Rasa missed {message!r}"
        self.served_by.append(response.headers["X-Frontline-Replica"])
        if not repeat:
            self.sent.append(message)
            self.replies.append([m["text"] for m in messages])
            self.last_id = client_id
        return messages

    def history(self) -> tuple[list[dict[str, Any]], str]:
        response = self.client.get("/chat/history", params={"session_id": self.session_id})
        assert response.status_code == 200, response.text
        return response.json()["messages"], response.headers["X-Frontline-Replica"]

    def check_history(self) -> None:
        """Every message once, in order, the same whichever replica is asked."""
        seen: dict[str, list[dict[str, Any]]] = {}
        for _ in range(4):
            messages, replica = self.history()
            seen[replica] = messages
        assert len(set(map(str, seen.values()))) == 1, "replicas disagree on the history"
        messages = next(iter(seen.values()))
        customer = [m["text"] for m in messages if m["sender"] == "customer"]
        assert customer == self.sent
        turns: list[list[str]] = []
        for m in messages:
            if m["sender"] == "customer":
                turns.append([])
            else:
                turns[-1].append(m["text"])
        assert turns == self.replies
        ids = [m["id"] for m in messages]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


def user_turns(cluster: Cluster, session_id: str) -> int:
    """User messages in Rasa's shared tracker store for one conversation."""
    engine = create_engine(cluster.tracker_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                {"s": session_id}).scalar_one())
    finally:
        engine.dispose()


def test_turns_alternate_between_replicas_nothing_lost_or_doubled(cluster: Cluster) -> None:
    # Three customers taking turns: nginx's round robin sends consecutive turns of each
    # conversation to alternate replicas (an odd number of them, one request at a time).
    customers = [Customer(cluster) for _ in range(3)]
    for question in QUESTIONS[:4]:
        for customer in customers:
            customer.say(question)
    # Rasa calls each replica's /webhook directly: the proxy does not publish it.
    hidden = customers[0].client.post("/webhook", json={"next_action": "action_listen"})
    assert hidden.status_code == 404 and hidden.json()["error"] == "not_found"
    for customer in customers:
        assert set(customer.served_by) == {"a", "b"}, customer.served_by
        # The widget resends a message whose reply it lost: the same id, the other replica.
        before = customer.served_by[-1]
        again = customer.say(customer.sent[-1], client_id=customer.last_id)
        assert customer.served_by[-1] != before
        assert [m["text"] for m in again] == customer.replies[-1]
        customer.check_history()
        assert user_turns(cluster, customer.session_id) == len(customer.sent)


def test_one_reindex_reaches_every_replica(cluster: Cluster) -> None:
    article = cluster.settings.kb_dir / "calendar-sync.md"
    marker = "Calendar feeds refresh every 7 minutes on the Zeppelin plan."
    article.write_text(article.read_text().rstrip() + f"\n\n## Refresh\n{marker}\n")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=cluster.url, timeout=120) as client:
        done = client.post("/api/kb/reindex", headers=admin, json={})
        assert done.status_code == 200, done.text
        assert done.json()["changed"] and done.json()["reembedded"] >= 1
        version = done.json()["version"]
        for node in cluster.nodes:  # each replica on its own port: both follow CURRENT
            health = httpx.get(f"{node.url}/healthz", timeout=30).json()
            assert health["index_version"] == version, node.name
        served = set()
        for _ in range(4):  # and through nginx, on both
            found = client.get("/api/search", params={"q": "how often do calendar feeds "
                                                       "refresh on the Zeppelin plan"})
            assert found.status_code == 200, found.text
            assert "Zeppelin" in found.json()["hits"][0]["snippet"]
            served.add(found.headers["X-Frontline-Replica"])
        assert served == {"a", "b"}


def test_redis_going_away_keeps_chat_working_degraded(cluster: Cluster,
                                                      redis: RedisServer) -> None:
    customer = Customer(cluster)
    customer.say(QUESTIONS[0])
    for node in cluster.nodes:
        assert httpx.get(f"{node.url}/healthz", timeout=30).json()["rate_limits"] == "redis"
    redis.stop()
    try:
        for question in QUESTIONS[1:4]:
            customer.say(question)
        for node in cluster.nodes:  # each replica says so (nginx would show either one)
            body = httpx.get(f"{node.url}/healthz", timeout=30).json()
            assert body["status"] == "ok" and body["rate_limits"] == "degraded", body
        # Rasa's own RedisLockStore would fail these turns (no reply at all); the deploy/ lock
        # store kept them going and says so in the replicas' logs.
        logs = "".join(n.rasa.log.read_text(errors="replace") for n in cluster.nodes
                       if n.rasa.log is not None)
        assert "Redis lock store unreachable" in logs
    finally:
        redis.start()
    customer.say(QUESTIONS[4])
    customer.check_history()
    assert user_turns(cluster, customer.session_id) == len(customer.sent)


def test_a_replica_dying_behind_the_proxy_is_invisible_to_the_customer(
        cluster: Cluster) -> None:
    customer = Customer(cluster)
    customer.say(QUESTIONS[0])
    customer.say(QUESTIONS[1])
    dead = cluster.replica(customer.served_by[-1])  # the next turn would go to the other one
    dead.kill()
    try:
        for question in QUESTIONS[2:]:
            customer.say(question)
        for _ in range(3):  # the widget's polling too
            customer.history()
        survivor = ({"a", "b"} - {dead.name}).pop()
        assert customer.served_by[2:] == [survivor] * len(QUESTIONS[2:])
        customer.check_history()
        assert user_turns(cluster, customer.session_id) == len(customer.sent)
    finally:
        dead.start()
        dead.wait_ready(cluster.startup_timeout)
    served: list[str] = []  # back in the rotation once nginx's fail_timeout (10 s) is over
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and set(served[-2:]) != {"a", "b"}:
        served.append(customer.history()[1])
        time.sleep(0.5)
    assert set(served[-2:]) == {"a", "b"}, served
