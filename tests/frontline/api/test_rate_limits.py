"""Rate limits per client address and per session, through the real app (Rasa unreachable, so
a chat turn is the service's own honest answer), with the real redis-server for shared and
failing counters."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from tests.conftest import make_settings


@pytest.fixture
def make_client(sample_index: Path, real_embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``make_client(peer=..., **settings)``: a TestClient of a fresh app whose requests come
    from the address ``peer``."""

    @contextmanager
    def make(peer: str = "203.0.113.7", db: str = "db.sqlite",
             **overrides: Any) -> Iterator[TestClient]:
        settings = make_settings(
            sample_index, sample_index / "kb", rasa_url=f"http://127.0.0.1:{free_port()}",
            database_url=f"sqlite:///{tmp_path / db}", admin_token="admin-secret",
            action_token="action-secret", **overrides)
        app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
        with TestClient(app, client=(peer, 40000)) as client:
            yield client

    return make


def chat(client: TestClient, session: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post("/chat", json={"session_id": session, "message": "hello"},
                       headers=headers)


def test_rotating_session_ids_from_one_address_is_limited(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(chat_address_rate_limit="5/minute") as client:
        codes = [chat(client, f"rotating-{i:04}").status_code for i in range(5)]
        limited = chat(client, "rotating-9999")
    assert codes == [200] * 5
    assert limited.status_code == 429
    body = limited.json()
    assert body["error"] == "rate_limited"
    assert "network address" in body["detail"] and "at most 5 a minute" in body["detail"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_the_session_limit_is_separate_and_far_below_the_address_limit(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(chat_rate_limit=2) as client:
        assert [chat(client, "one-session").status_code for _ in range(3)] == [200, 200, 429]
        limited = chat(client, "one-session")
        assert "this conversation" in limited.json()["detail"]
        assert chat(client, "another-session").status_code == 200
        # History polls have their own per-session limit, keyed by the query's session_id.
    with make_client(history_rate_limit="3/minute", db="history.sqlite") as client:
        polls = [client.get("/chat/history", params={"session_id": "poll-session"}).status_code
                 for _ in range(4)]
        other = client.get("/chat/history", params={"session_id": "poll-other"})
    assert polls == [200, 200, 200, 429] and other.status_code == 200


def test_two_addresses_are_independent(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(peer="198.51.100.1", search_rate_limit="2/minute") as first:
        app = first.app
        assert [first.get("/api/search", params={"q": "password"}).status_code
                for _ in range(3)] == [200, 200, 429]
        second = TestClient(app, client=("198.51.100.2", 40000))
        assert second.get("/api/search", params={"q": "password"}).status_code == 200
        assert first.get("/api/search", params={"q": "password"}).status_code == 429


def test_forwarded_for_is_ignored_from_an_untrusted_peer(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(peer="192.0.2.10", chat_address_rate_limit="3/minute") as client:
        codes = [chat(client, f"spoof-{i:04}", {"X-Forwarded-For": f"10.9.9.{i}"}).status_code
                 for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_forwarded_for_is_honoured_from_a_trusted_proxy(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(peer="10.0.0.5", trusted_proxies=["10.0.0.0/24"],
                     chat_address_rate_limit="2/minute") as client:
        alice = [chat(client, f"alice-{i:04}", {"X-Forwarded-For": "203.0.113.50"}).status_code
                 for i in range(3)]
        bob = chat(client, "bob-0000", {"X-Forwarded-For": "203.0.113.51"}).status_code
        # A client's own X-Forwarded-For in front of the proxy's entry is not believed.
        forged = chat(client, "mallory-0", {"X-Forwarded-For": "1.2.3.4, 203.0.113.50"})
    assert alice == [200, 200, 429] and bob == 200
    assert forged.status_code == 429


def test_sign_in_attempts_are_limited_per_address_and_webhook_is_exempt(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(sign_in_rate_limit="3/minute", page_rate_limit="5/minute") as client:
        codes = [client.post("/dashboard/sign-in", data={"token": f"guess-{i}"}).status_code
                 for i in range(4)]
        assert codes[:3] == [401] * 3 and codes[3] == 429
        assert client.post("/dashboard/sign-in", data={"token": "admin-secret"}).status_code \
            == 429  # even the right token waits: a guesser cannot tell
        # /webhook authenticates with its secret, so it is not counted.
        hooks = [client.post("/webhook", json={}, headers={"X-Frontline-Token": "no"})
                 .status_code for _ in range(8)]
        assert 429 not in hooks


def flush(url: str) -> None:
    with redis.Redis.from_url(url) as conn:
        conn.flushdb()


def test_two_instances_sharing_redis_share_the_counter(make_client, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    flush(redis_url)
    with make_client(redis_url=redis_url, chat_address_rate_limit="4/minute") as one, \
            make_client(redis_url=redis_url, chat_address_rate_limit="4/minute",
                        db="other.sqlite") as two:
        codes = [chat(one, "shared-0001").status_code, chat(two, "shared-0002").status_code,
                 chat(one, "shared-0003").status_code, chat(two, "shared-0004").status_code,
                 chat(one, "shared-0005").status_code, chat(two, "shared-0006").status_code]
        assert one.get("/healthz").json()["rate_limits"] == "redis"
    assert codes == [200, 200, 200, 200, 429, 429]


def test_without_redis_counters_stay_in_the_process(make_client) -> None:  # type: ignore[no-untyped-def]
    with make_client(chat_address_rate_limit="2/minute") as one, \
            make_client(chat_address_rate_limit="2/minute", db="other.sqlite") as two:
        assert one.get("/healthz").json()["rate_limits"] == "memory"
        assert [chat(one, f"local-{i:04}").status_code for i in range(3)] == [200, 200, 429]
        assert chat(two, "local-9999").status_code == 200


@pytest.fixture
def own_redis(redis_url: str) -> Iterator[Any]:
    """A private redis-server this test may stop and start (the session one stays up)."""
    from tests.support.redis import redis_server

    with redis_server() as server:
        yield server


def test_redis_down_degrades_to_process_counters_and_recovers(
        make_client, own_redis, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, logger="frontline.api.limits")
    with make_client(redis_url=own_redis.url, chat_address_rate_limit="6/minute") as client:
        assert chat(client, "outage-0001").status_code == 200
        assert client.get("/healthz").json()["rate_limits"] == "redis"
        own_redis.stop()
        during = [chat(client, f"outage-{i:04}").status_code for i in range(2, 9)]
        health = client.get("/healthz")
        # Chat keeps working, still limited (in this process: 6 a minute from here on).
        assert during == [200] * 6 + [429]
        assert health.status_code == 200 and health.json()["rate_limits"] == "degraded"
        unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(unreachable) == 1  # said once, not per request
        own_redis.start()
        assert client.get("/healthz").json()["rate_limits"] == "redis"
        assert any("answers again" in r.getMessage() for r in caplog.records)
        # Back on Redis (restarted empty: the test server keeps nothing on disk), not on the
        # process counter, which is full.
        after = [chat(client, f"after-{i:04}").status_code for i in range(7)]
    assert after == [200] * 6 + [429]
