"""The HTTP service: routes, the admin token, and one error shape for every failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from tests.conftest import make_settings, write_article

TOKEN = "s3cret-admin"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(small_kb: Path, tmp_path: Path, embedder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "data", small_kb, admin_token=TOKEN)
    knowledge = KnowledgeBase(settings, embedder=embedder)
    knowledge.reindex()
    with TestClient(create_app(settings, knowledge=knowledge)) as test_client:
        yield test_client


def assert_error(response, status: int, code: str, text: str = "") -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == code, body
    assert text in body["detail"], body


def test_healthz_reports_the_served_version(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["index_version"].startswith("v")
    assert body["articles"] == 4 and body["chunks"] > 4


def test_healthz_is_503_without_an_index(tmp_path: Path, small_kb: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "empty", small_kb)
    with TestClient(create_app(settings, knowledge=KnowledgeBase(settings, embedder))) as c:
        response = c.get("/healthz")
        assert response.status_code == 503 and response.json()["status"] == "unavailable"
        assert_error(c.get("/api/search", params={"q": "password"}), 503, "index_unavailable",
                     "frontline index")


def test_search_finds_the_article_with_link(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "I can't remember my password"}).json()
    top = body["hits"][0]
    assert top["article_id"] == "reset-password"
    assert top["url"] == "https://help.example.com/reset-password"
    assert {"title", "heading", "snippet", "score", "certainty"} <= set(top)
    assert [h["certainty"] for h in body["hits"]] == sorted(
        (h["certainty"] for h in body["hits"]), reverse=True)  # the classifier's order


def test_internal_search_needs_the_admin_token(client: TestClient) -> None:
    query = {"q": "customer wants refund after 14 days", "audience": "internal"}
    assert_error(client.get("/api/search", params=query), 401, "unauthorized", "admin token")
    assert_error(client.get("/api/search", params=query,
                            headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    hits = client.get("/api/search", params=query, headers=ADMIN).json()["hits"]
    assert hits[0]["article_id"] == "refund-exceptions"
    public = client.get("/api/search", params={**query, "audience": "public"}).json()["hits"]
    assert "refund-exceptions" not in [h["article_id"] for h in public]


def test_bad_requests_get_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/api/search"), 422, "invalid_request", "q")
    assert_error(client.get("/api/search", params={"q": "x", "audience": "everyone"}), 422,
                 "invalid_request", "audience")
    assert_error(client.get("/api/search", params={"q": "x", "k": 0}), 422, "invalid_request")
    assert_error(client.get("/api/search", params={"q": "   "}), 422, "invalid_query", "empty")
    assert_error(client.get("/api/search", params={"q": "a" * 1001}), 422, "invalid_query",
                 "limit is 1000")
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.post("/api/kb/reindex", json={"fulll": True}, headers=ADMIN), 422,
                 "invalid_request", "fulll")


def test_reindex_needs_the_token_and_reports_the_summary(client: TestClient,
                                                         small_kb: Path) -> None:
    assert_error(client.post("/api/kb/reindex"), 401, "unauthorized")
    body = client.post("/api/kb/reindex", headers=ADMIN).json()
    assert body["changed"] is False and body["reembedded"] == 0
    write_article(small_kb, "api-tokens", "Create an API token",
                  "Open Settings → API and choose Create token. Tokens never expire.",
                  questions=("where do I get an api key",))
    body = client.post("/api/kb/reindex", headers=ADMIN).json()
    assert (body["articles"], body["reembedded"], body["removed"]) == (5, 1, 0)
    hits = client.get("/api/search", params={"q": "where can I get an API key"}).json()["hits"]
    assert hits[0]["article_id"] == "api-tokens"
    assert client.get("/healthz").json()["index_version"] == body["version"]


def test_reindex_reports_a_broken_article_by_file_and_line(client: TestClient,
                                                           small_kb: Path) -> None:
    (small_kb / "oops.md").write_text("---\ntitle: Oops\naudience: staff\n---\nBody\n")
    assert_error(client.post("/api/kb/reindex", headers=ADMIN), 422, "invalid_article",
                 "oops.md:3: unknown audience 'staff'")
    body = client.post("/api/kb/reindex", json={"skip_invalid": True}, headers=ADMIN).json()
    assert body["articles"] == 4 and "oops.md:3" in body["skipped"][0]


def test_admin_endpoints_are_off_without_a_configured_token(tmp_path: Path, small_kb: Path,
                                                            embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path / "d", small_kb)
    with TestClient(create_app(settings, knowledge=KnowledgeBase(settings, embedder))) as c:
        assert_error(c.post("/api/kb/reindex", headers=ADMIN), 403, "admin_disabled",
                     "FRONTLINE_ADMIN_TOKEN")


def test_article_list_shows_audience_and_indexed_time(client: TestClient) -> None:
    public = client.get("/api/kb/articles").json()["articles"]
    assert {a["id"] for a in public} == {"reset-password", "refund-policy", "mobile-offline"}
    everything = client.get("/api/kb/articles", params={"audience": "internal"},
                            headers=ADMIN).json()["articles"]
    internal = [a for a in everything if a["audience"] == "internal"]
    assert [a["id"] for a in internal] == ["refund-exceptions"]
    assert all(a["indexed_at"].startswith("20") for a in everything)
    assert_error(client.get("/api/kb/articles", params={"audience": "internal"}), 401,
                 "unauthorized")


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/api/search", "/api/kb/reindex", "/api/kb/articles"} <= set(paths)
