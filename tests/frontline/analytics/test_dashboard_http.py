"""/dashboard through the real app: sign-in with an HttpOnly cookie session, CSRF on every
change, the pages on the seeded example, drill-downs, CSV exports, drafts and triage."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from frontline.api.app import create_app
from frontline.db import Database, ProcessFeedback
from frontline.knowledge import KnowledgeBase
from tests.conftest import make_settings
from tests.frontline.analytics.seed import seed

TOKEN = "dash-s3cret"
WEEK = {"days": "custom", "from": "2026-03-09", "to": "2026-03-15"}


class FeedbackSeen:
    def __init__(self) -> None:
        self.changed: list[tuple[int, str]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None

    def feedback_changed(self, item: ProcessFeedback) -> None:
        self.changed.append((item.id, item.status))


@pytest.fixture
def app_client(sample_index: Path, tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'frontline.db'}"
    database = Database(url)
    database.migrate()
    seed(database, simulated=frozenset({"s1"}))
    settings = make_settings(sample_index, tmp_path / "kb", admin_token=TOKEN,
                             database_url=url, article_review_min_votes=3)
    knowledge = KnowledgeBase(settings)
    with TestClient(create_app(settings, knowledge=knowledge, database=database)) as client:
        yield client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: TestClient) -> str:
    page = client.get("/dashboard/sign-in")
    response = client.post("/dashboard/sign-in", data={
        "token": TOKEN, "csrf": csrf_of(page.text), "next": "/dashboard"},
        follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    return response.headers["set-cookie"]


def test_sign_in_sets_an_httponly_cookie_session(app_client: TestClient) -> None:
    away = app_client.get("/dashboard?days=7", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/dashboard/sign-in?next=%2Fdashboard%3Fdays%3D7"
    page = app_client.get("/dashboard/sign-in")
    assert 'type="password"' in page.text and TOKEN not in page.text
    wrong = app_client.post("/dashboard/sign-in", data={
        "token": "nope", "csrf": csrf_of(page.text), "next": "/dashboard"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    forged = app_client.post("/dashboard/sign-in", data={"token": TOKEN, "csrf": "x"})
    assert forged.status_code == 401 and "expired" in forged.text
    cookie = sign_in(app_client)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    assert TOKEN not in cookie
    home = app_client.get("/dashboard")
    assert home.status_code == 200 and "Overview" in home.text
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert home.headers["cache-control"] == "no-store"
    # An open redirect is not possible through "next".
    page = app_client.get("/dashboard/sign-in")
    evil = app_client.post("/dashboard/sign-in", data={
        "token": TOKEN, "csrf": csrf_of(page.text), "next": "//evil.example/x"},
        follow_redirects=False)
    assert evil.headers["location"] == "/dashboard"
    # Sign-out is a POST with the session's CSRF token.
    assert app_client.post("/dashboard/sign-out", data={"csrf": "x"}).status_code == 403
    assert app_client.post("/dashboard/sign-out", data={"csrf": csrf_of(home.text)}
                           ).status_code == 403  # a sign-in since made a new session
    fresh = app_client.get("/dashboard").text
    out = app_client.post("/dashboard/sign-out", data={"csrf": csrf_of(fresh)},
                          follow_redirects=False)
    assert out.status_code == 303
    assert app_client.get("/dashboard", follow_redirects=False).status_code == 303


def test_overview_why_and_drill_down_on_the_seeded_week(app_client: TestClient) -> None:
    sign_in(app_client)
    page = app_client.get("/dashboard", params=WEEK).text
    assert "2026-03-09 – 2026-03-15" in page and "2026-03-02 – 2026-03-08" in page
    card = page.split('data-figure="deflection_confirmed"')[1].split("</article>")[0]
    assert "22.2 %" in card and "-11.1 pts" in card and "worse" in card
    assert "Why did it change?" in card
    assert page.count("<canvas") >= 20 and page.count('<table class="mini">') >= 20
    why = app_client.get("/dashboard/why/csat", params=WEEK).text
    assert "72 % of the fall is decision outcome abstain" in why
    drill = app_client.get("/dashboard/drill/conversations",
                           params={**WEEK, "filter": "confirmed"}).text
    assert ">s1<" in drill and ">s2<" in drill and ">s3<" not in drill
    transcript = app_client.get("/dashboard/conversations/s1", params=WEEK).text
    assert "I forgot my password, I&#39;m [email]" in transcript and "simulated" in transcript
    ticket_page = app_client.get("/dashboard/tickets/10006", follow_redirects=False)
    assert ticket_page.status_code in (303, 404)
    assert app_client.get("/dashboard/why/nonsense").status_code == 404
    assert app_client.get("/dashboard/drill/nonsense").status_code == 404
    assert 'data-figure="assistant_failures"' in page
    failures = app_client.get("/dashboard/drill/failures", params=WEEK)
    assert failures.status_code == 200 and "Chat turns the assistant failed" in failures.text
    assert "Deflection" in app_client.get("/dashboard/metrics").text
    bad = app_client.get("/dashboard", params={"days": "custom", "from": "2026-03-15",
                                               "to": "2026-03-01"})
    assert bad.status_code == 200 and "before it starts" in bad.text


def test_simulated_records_can_be_hidden(app_client: TestClient) -> None:
    sign_in(app_client)
    everything = app_client.get("/dashboard/drill/conversations", params=WEEK).text
    real = app_client.get("/dashboard/drill/conversations", params={**WEEK, "real": "1"}).text
    assert ">s1<" in everything and ">s1<" not in real
    assert "9 records" in everything and "8 records" in real


def rows_of(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


def test_every_table_exports_to_csv(app_client: TestClient) -> None:
    sign_in(app_client)
    figures = rows_of(app_client.get("/dashboard/export.csv", params={**WEEK,
                                                                      "table": "figures"}))
    assert figures[0] == ["figure", "value", "previous", "change", "unit", "detail"]
    opened = figures[[r[0] for r in figures].index("Tickets opened")]
    assert opened[:5] == ["Tickets opened", "4", "3", "1", "count"]
    for table in ("daily", "csat_distribution", "answer_mix", "tickets_by_priority",
                  "tickets_by_channel", "nps", "articles", "gaps", "feedback",
                  "feedback_by_area", "feedback_by_impact", "feedback_by_status",
                  "why-csat-outcome", "why-resolution-channel"):
        assert len(rows_of(app_client.get("/dashboard/export.csv",
                                          params={**WEEK, "table": table}))) >= 2, table
    backlog = rows_of(app_client.get("/dashboard/export.csv", params={
        **WEEK, "table": "drill", "drill": "tickets", "filter": "backlog"}))
    assert sorted(r[6] for r in backlog[1:]) == ["ticket T4", "ticket T8"]
    assert app_client.get("/dashboard/export.csv", params={"table": "nope"}).status_code == 404


def test_draft_an_article_from_a_gap(app_client: TestClient, tmp_path: Path) -> None:
    sign_in(app_client)
    page = app_client.get("/dashboard/gaps", params=WEEK).text
    assert "do you integrate with SAP" in page and "+200 %" in page
    assert "clarified, said none of these: 1" in page and "abstained: 2" in page
    form = page.split('<form method="post" action="/dashboard/gaps/draft')[1].split("</form>")[0]
    questions = re.findall(r'name="question" value="([^"]+)"', form)
    assert len(questions) == 3
    data = {"csrf": csrf_of(form), "title": "Integrate with SAP", "question": questions}
    assert app_client.post("/dashboard/gaps/draft", data={**data, "csrf": "x"}).status_code \
        == 403
    done = app_client.post("/dashboard/gaps/draft", params=WEEK, data=data)
    assert done.status_code == 200 and "integrate-with-sap.md" in done.text
    draft = tmp_path / "kb" / "_drafts" / "integrate-with-sap.md"
    assert "questions:" in draft.read_text() and "SAP integration?" in draft.read_text()


def test_feedback_triage_uses_the_state_machine_and_tells_the_rep(
        app_client: TestClient) -> None:
    seen = FeedbackSeen()
    app_client.app.state.services.notifier.subscribe(seen)  # type: ignore[attr-defined]
    sign_in(app_client)
    page = app_client.get("/dashboard/feedback", params=WEEK).text
    assert "Backstage times out" in page
    item = int(re.search(r'id="feedback-(\d+)"', page).group(1))  # type: ignore[union-attr]
    saved = app_client.post(f"/dashboard/feedback/{item}", params=WEEK, data={
        "csrf": csrf_of(page), "status": "done", "reply": "Fixed in 2.3"})
    assert saved.status_code == 200 and f"Feedback #{item} saved" in saved.text
    assert seen.changed[-1][0] == item
    services = app_client.app.state.services  # type: ignore[attr-defined]
    assert services.feedback.get(item).reply == "Fixed in 2.3"
    refused = app_client.post(f"/dashboard/feedback/{item}", params=WEEK, data={
        "csrf": csrf_of(page), "status": "new"})
    assert "can move to planned" in refused.text
    assert app_client.post(f"/dashboard/feedback/{item}", data={"status": "done"}
                           ).status_code == 403


def test_without_an_admin_token_the_dashboard_is_off(tmp_path: Path, sample_index: Path) -> None:
    settings = make_settings(sample_index, tmp_path / "kb",
                             database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with TestClient(create_app(settings, knowledge=KnowledgeBase(settings))) as client:
        page = client.get("/dashboard", follow_redirects=True)
        assert page.status_code == 403 and "FRONTLINE_ADMIN_TOKEN" in page.text
        static = client.get("/dashboard/static/vendor/chart.js/LICENSE.md")
        assert static.status_code == 200 and "MIT" in static.text
        assert client.get("/dashboard/static/../../app.py").status_code == 404


def test_cookies_are_secure_when_the_public_url_is_https(tmp_path: Path,
                                                         sample_index: Path) -> None:
    """Behind a proxy that ends TLS the request reaching the service is plain http; the
    public address says the browser is on https, so the session cookie must be Secure."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    for public_url, secure in (("https://support.example.com", True),
                               ("http://127.0.0.1:8000", False)):
        settings = make_settings(sample_index, tmp_path / "kb", admin_token=TOKEN,
                                 database_url=url, public_url=public_url)
        with TestClient(create_app(settings, knowledge=KnowledgeBase(settings))) as client:
            page = client.get("/dashboard/sign-in")
            pre = page.headers["set-cookie"]
            assert ("; Secure" in pre) is secure
            # The browser (on https) sends the Secure cookie back; the test client on plain
            # http would not, so it is sent as the browser would.
            response = client.post("/dashboard/sign-in", data={
                "token": TOKEN, "csrf": csrf_of(page.text), "next": "/dashboard"},
                headers={"cookie": pre.split(";")[0]}, follow_redirects=False)
            session = [c for c in response.headers.get_list("set-cookie")
                       if c.startswith("frontline_dashboard=")]
            assert response.status_code == 303 and session, response.headers
            assert ("; Secure" in session[0]) is secure and "HttpOnly" in session[0]
