"""The ops API for process feedback (``/api/feedback``): list with filters and pages, triage
and answer, with the admin token; wrong moves and unknown ids answered plainly. Slack off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from tests.conftest import make_settings

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def client(sample_index: Path, real_embedder, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = make_settings(
        sample_index, sample_index / "kb", admin_token="admin-secret",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as test_client:
        services = app.state.services
        ticket = services.tickets.create(email="lee@example.com", summary="x", session_id="s")
        for rep, area, impact, text in [
            ("U0ANA", "process", "high", "Escalations take two days to get a reply"),
            ("U0BEN", "tooling", "low", "Backstage search is slow"),
            ("U0ANA", "tooling", "high", "Refund tool times out, customer lee@example.com"),
        ]:
            services.feedback.submit(rep=rep, rep_name=rep.lower(), area=area, impact=impact,
                                     what_happened=text, ticket=str(ticket.number)
                                     if area == "process" else None)
        yield test_client


def test_feedback_api_needs_the_admin_token(client: TestClient) -> None:
    assert client.get("/api/feedback").status_code == 401
    wrong = client.get("/api/feedback", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    assert client.patch("/api/feedback/1", json={"status": "planned"}).status_code == 401


def test_list_filters_and_pages_newest_first(client: TestClient) -> None:
    everything = client.get("/api/feedback", headers=ADMIN).json()
    assert everything["total"] == 3
    assert [i["id"] for i in everything["items"]] == [3, 2, 1]
    first = everything["items"][2]
    assert first["ticket_number"] == 10001 and first["rep"] == "U0ANA"
    assert first["status"] == "new" and first["reply"] == ""
    assert "lee@example.com" not in everything["items"][0]["what_happened"]  # masked

    tooling = client.get("/api/feedback", headers=ADMIN, params={"area": "tooling"}).json()
    assert tooling["total"] == 2
    high_tooling = client.get("/api/feedback", headers=ADMIN,
                              params={"area": "tooling", "impact": "high"}).json()
    assert [i["id"] for i in high_tooling["items"]] == [3]
    page = client.get("/api/feedback", headers=ADMIN, params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [2]
    bad = client.get("/api/feedback", headers=ADMIN, params={"status": "closed"})
    assert bad.status_code == 422 and "status" in bad.json()["detail"]


def test_triage_and_answer_then_list_by_status(client: TestClient) -> None:
    planned = client.patch("/api/feedback/2", headers=ADMIN,
                           json={"status": "planned", "reply": "  On the roadmap for May.  "})
    assert planned.status_code == 200
    assert planned.json()["status"] == "planned"
    assert planned.json()["reply"] == "On the roadmap for May."
    assert client.patch("/api/feedback/2", headers=ADMIN,
                        json={"status": "done"}).json()["status"] == "done"
    listed = client.get("/api/feedback", headers=ADMIN, params={"status": "done"}).json()
    assert [i["id"] for i in listed["items"]] == [2]
    assert client.get("/api/feedback/2", headers=ADMIN).json()["reply"] == (
        "On the roadmap for May.")


def test_a_move_the_workflow_forbids_is_422_with_the_reason(client: TestClient) -> None:
    client.patch("/api/feedback/1", headers=ADMIN, json={"status": "wont_do"})
    wrong = client.patch("/api/feedback/1", headers=ADMIN, json={"status": "done"})
    assert wrong.status_code == 422
    assert wrong.json() == {"error": "invalid_feedback", "detail":
                            "feedback 1 is 'wont_do'; it can move to planned, not 'done'"}
    assert client.get("/api/feedback/1", headers=ADMIN).json()["status"] == "wont_do"
    unknown_status = client.patch("/api/feedback/1", headers=ADMIN, json={"status": "closed"})
    assert unknown_status.status_code == 422
    extra = client.patch("/api/feedback/1", headers=ADMIN, json={"state": "done"})
    assert extra.status_code == 422


def test_an_unknown_item_is_404(client: TestClient) -> None:
    missing = client.patch("/api/feedback/999", headers=ADMIN, json={"status": "planned"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "feedback_not_found", "detail": "no feedback item 999"}
    assert client.get("/api/feedback/999", headers=ADMIN).status_code == 404
