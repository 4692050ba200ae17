"""The public help centre (/help) through the real app: pages, search, votes, events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontline.api.app import create_app
from frontline.db import Event
from frontline.knowledge import KnowledgeBase
from frontline.knowledge.links import article_link, slugify
from frontline.knowledge.pages import render_markdown
from frontline.rasa import free_port
from indexer import build_index
from tests.conftest import make_settings, write_article

INTERNAL = "refund-exceptions"  # audience: internal in the sample KB


def _client(data_dir: Path, kb: Path, embedder, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = make_settings(
        data_dir, kb, rasa_url=f"http://127.0.0.1:{free_port()}",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        public_url="https://support.example.com",
    )
    app = create_app(settings, knowledge=KnowledgeBase(settings, embedder))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def client(sample_index: Path, real_embedder, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from _client(sample_index, sample_index / "kb", real_embedder, tmp_path)


@pytest.fixture
def hostile(tmp_path: Path, real_embedder) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A small KB whose article tries script injection."""
    data = tmp_path / "data"
    kb = data / "kb"
    kb.mkdir(parents=True)
    write_article(kb, "evil", "Export your projects", """
        Intro <script>alert("x")</script> text.

        ## Export to CSV
        Click [here](javascript:alert(1)) or <a href="javascript:alert(2)">there</a>.

        ## Export to CSV

        <img src=x onerror=alert(3)>
        """)
    write_article(kb, "import", "Import your projects", "Use the importer.")
    write_article(kb, "secret", "Reps only - export limits", "Internal notes.",
                  audience="internal")
    build_index(kb, data / "index", real_embedder)
    yield from _client(data, kb, real_embedder, tmp_path)


def events(client: TestClient, kind: str) -> list[Event]:
    db = client.app.state.services.db  # type: ignore[attr-defined]
    with db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def token_of(html: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_home_lists_categories_and_public_articles_only(client: TestClient) -> None:
    page = client.get("/help")
    assert page.status_code == 200
    assert "Categories" in page.text and 'action="/help/search"' in page.text
    assert 'href="/help/reset-password"' in page.text
    assert f'href="/help/{INTERNAL}"' not in page.text
    assert "Most viewed" not in page.text  # no views yet
    client.get("/help/reset-password")
    assert "Most viewed" in client.get("/help").text
    css = client.get("/help/static/help.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/help/static/../templates/base.html").status_code == 404


def test_article_page_has_anchors_related_feedback_and_counts_a_view(client: TestClient) -> None:
    page = client.get("/help/reset-password")
    assert page.status_code == 200
    assert re.search(r'<h[1-6] id="[a-z0-9-]+"', page.text)
    assert "Was this article helpful?" in page.text and "Related articles" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    (view,) = events(client, "help_view")
    assert (view.channel, view.article_id) == ("help", "reset-password")


def test_internal_article_is_the_same_404_as_an_unknown_id(client: TestClient) -> None:
    internal = client.get(f"/help/{INTERNAL}")
    unknown = client.get("/help/no-such-article")
    assert internal.status_code == unknown.status_code == 404
    assert internal.text == unknown.text
    assert client.post(f"/help/{INTERNAL}/feedback", data={"helpful": "yes"}).text == unknown.text
    assert events(client, "help_view") == []


def test_search_shows_results_and_the_chat_link(client: TestClient) -> None:
    page = client.get("/help/search", params={"q": "I forgot my password"})
    assert page.status_code == 200
    assert 'href="/help/reset-password' in page.text
    assert "Still stuck?" in page.text and 'href="/?ask=I+forgot+my+password"' in page.text
    assert events(client, "help_search") == []  # answered: not a gap


def test_search_without_a_good_result_is_a_gap_and_escapes_the_query(client: TestClient) -> None:
    q = "<b>quantum</b> teleportation of llamas"
    page = client.get("/help/search", params={"q": q})
    assert page.status_code == 200
    assert "<b>quantum</b>" not in page.text and "&lt;b&gt;quantum&lt;/b&gt;" in page.text
    (gap,) = events(client, "help_search")
    assert gap.channel == "help" and gap.decision == "abstain" and "llamas" in (gap.query or "")
    assert client.get("/help/search", params={"q": " "}).status_code == 200  # back home


def test_vote_is_recorded_once_with_a_valid_token(client: TestClient) -> None:
    token = token_of(client.get("/help/reset-password").text)
    forged = client.post("/help/reset-password/feedback",
                         data={"helpful": "yes", "token": "1.abc"})
    assert forged.status_code == 403
    voted = client.post("/help/reset-password/feedback", data={
        "helpful": "no", "token": token, "missing": "steps",
        "comment": "write to me at lee@example.com"}, follow_redirects=False)
    assert voted.status_code == 303
    assert voted.headers["location"] == "/help/reset-password?voted=no#feedback"
    thanks = client.get(voted.headers["location"])
    assert "Thanks for your feedback" in thanks.text
    (vote,) = events(client, "help_vote")
    assert (vote.channel, vote.article_id, vote.decision) == ("help", "reset-password", "no")
    assert vote.hits == [{"missing": "steps"}] and "lee@example.com" not in (vote.query or "")
    assert len(events(client, "help_view")) == 1  # the thank-you page is not another view
    other_site = client.post("/help/reset-password/feedback", headers={
        "Origin": "https://evil.example"}, data={"helpful": "yes", "token": token})
    assert other_site.status_code == 403


def test_votes_are_rate_limited_per_client(client: TestClient) -> None:
    from frontline.api.routes import help as help_route

    help_route.votes._times.clear()
    token = token_of(client.get("/help/reset-password").text)
    codes = [client.post("/help/reset-password/feedback", data={
        "helpful": "yes", "token": token}, follow_redirects=False).status_code
        for _ in range(help_route.VOTES_PER_MINUTE + 1)]
    assert codes[:-1] == [303] * help_route.VOTES_PER_MINUTE and codes[-1] == 429
    help_route.votes._times.clear()


def test_scripts_and_javascript_links_in_markdown_never_run(hostile: TestClient) -> None:
    page = hostile.get("/help/evil")
    assert page.status_code == 200
    body = page.text.split('<div class="body">', 1)[1].split("</article>", 1)[0]
    # Raw HTML is shown as text, never as markup; a javascript: link is not a link.
    assert "<script" not in body and "<img" not in body and "<a href=\"javascript" not in body
    assert not re.search(r"<a [^>]*javascript", body) and "&lt;script&gt;" in body
    assert '<h2 id="export-to-csv">' in body and '<h2 id="export-to-csv-2">' in body
    assert 'href="#export-to-csv"' in page.text  # the table of contents
    assert hostile.get("/help/secret").text == hostile.get("/help/nothing").text


def test_slugify_is_shared_by_the_renderer_and_the_links() -> None:
    assert slugify("Email link") == "email-link" and slugify("  ?! ") == "section"
    _html, headings = render_markdown("## Two-factor: *backup* codes\n\ntext")
    assert headings[0].anchor == slugify("Two-factor: *backup* codes") == "two-factor-backup-codes"

    class Hit:
        article_id, url, audience = "lost-2fa", None, "public"

    assert article_link(Hit(), "https://x.example/", section="Intro > Backup codes") == (
        "https://x.example/help/lost-2fa#backup-codes")
    assert article_link(Hit(), "https://x.example") == "https://x.example/help/lost-2fa"


def test_suggest_offers_up_to_three_public_articles_and_is_rate_limited(
        client: TestClient) -> None:
    from limits import parse

    found = client.get("/api/suggest", params={"q": "I forgot my password"})
    assert found.status_code == 200
    suggestions = found.json()["suggestions"]
    assert 1 <= len(suggestions) <= 3 and suggestions[0]["id"] == "reset-password"
    assert all(s["url"] for s in suggestions)
    assert INTERNAL not in {s["id"] for s in suggestions}
    assert client.get("/api/suggest", params={"q": "pa"}).json() == {"suggestions": []}
    per_minute = parse(client.app.state.services.settings.suggest_rate_limit).amount  # type: ignore[attr-defined]
    limited = [client.get("/api/suggest", params={"q": "pa"}).status_code
               for _ in range(per_minute - 1)]
    assert limited[-2] == 200 and limited[-1] == 429
    assert client.get("/api/suggest", params={"q": "pa"}).headers.get("retry-after")


def test_widget_answers_link_to_the_help_centre_section_unless_the_article_has_a_url() -> None:
    from rasa_sdk.executor import CollectingDispatcher

    from bot.actions.common import show_article
    from frontline.knowledge import ScoredHit

    hit = ScoredHit(article_id="lost-2fa", title="Lost 2FA device", url=None, audience="public",
                    heading="Recovery > Backup codes", snippet="", passage="Use a code.",
                    score=0.9, matched="section")
    dispatcher = CollectingDispatcher()
    show_article(dispatcher, hit, "https://support.example.com", ask_feedback=False)
    (link,) = dispatcher.messages[0]["custom"]["links"]
    assert link["url"] == "https://support.example.com/help/lost-2fa#backup-codes"
    dispatcher = CollectingDispatcher()
    show_article(dispatcher, replace(hit, url="https://kb.example/x"), "https://s.example")
    assert dispatcher.messages[0]["custom"]["links"][0]["url"] == "https://kb.example/x"



def test_a_suggestion_opened_counts_as_a_suggest_view(client: TestClient) -> None:
    assert client.get("/help/reset-password", params={"from": "suggest"}).status_code == 200
    (view,) = events(client, "help_view")
    assert view.decision == "suggest"
