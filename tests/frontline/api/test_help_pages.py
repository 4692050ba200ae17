"""The help centre's look and feel through the real app: revalidation (ETag, 304, a reindex
shows the new text), the brand colour on the pages and the demo page, no inline scripts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from frontline.api.routes.help import _contrast, theme
from frontline.knowledge.pages import render_markdown
from indexer import build_index
from tests.conftest import make_settings, write_article
from tests.frontline.api.test_help import _client, events


@pytest.fixture
def small(tmp_path: Path, real_embedder) -> Iterator[tuple[TestClient, Path]]:  # type: ignore[no-untyped-def]
    """A two-article KB of its own (the test edits and reindexes it)."""
    data = tmp_path / "data"
    kb = data / "kb"
    kb.mkdir(parents=True)
    write_article(kb, "export", "Export your projects", "## To CSV\nUse the export menu.",
                  questions=("how do I export",))
    write_article(kb, "import", "Import your projects", "Use the importer.")
    build_index(kb, data / "index", real_embedder)
    for client in _client(data, kb, real_embedder, tmp_path):
        yield client, kb


def test_an_article_is_revalidated_and_a_reindex_shows_the_new_text(
        small: tuple[TestClient, Path], real_embedder) -> None:  # type: ignore[no-untyped-def]
    client, kb = small
    first = client.get("/help/export")
    assert first.status_code == 200 and "Use the export menu." in first.text
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["last-modified"].endswith("GMT")
    assert "no-cache" in first.headers["cache-control"]
    again = client.get("/help/export", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert len(events(client, "help_view")) == 2  # a revalidated page is still a view
    other = client.get("/help/import", headers={"If-None-Match": tag})
    assert other.status_code == 200  # another article's tag does not match

    related = client.get("/help/import").text.split('id="related-title"', 1)[1]
    assert "/help/export-pdf" not in related
    write_article(kb, "export", "Export your projects", "## To CSV\nUse the new Export button.",
                  questions=("how do I export",))
    write_article(kb, "export-pdf", "Export your projects as PDF", "Print to PDF.")
    build_index(kb, kb.parent / "index", real_embedder)
    after = client.get("/help/export", headers={"If-None-Match": tag})
    assert after.status_code == 200 and "Use the new Export button." in after.text
    assert 'href="/help/export-pdf"' in client.get("/help").text  # the list is the new one
    related = client.get("/help/import").text.split('id="related-title"', 1)[1]
    assert "/help/export-pdf" in related  # and so are related articles
    assert after.headers["etag"] != tag
    assert client.get("/help/export", headers={
        "If-None-Match": after.headers["etag"]}).status_code == 304


def test_a_new_visitor_gets_the_page_and_a_tag_for_next_time(
        small: tuple[TestClient, Path]) -> None:
    client, _ = small
    tag = client.get("/help/export").headers["etag"]
    client.cookies.clear()  # another visitor (no vote-form nonce) holding the same tag
    fresh = client.get("/help/export", headers={"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != tag
    assert 'name="token"' in fresh.text


def test_home_and_search_are_revalidated_until_what_they_show_changes(
        small: tuple[TestClient, Path]) -> None:
    client, _ = small
    home = client.get("/help")
    assert client.get("/help", headers={"If-None-Match": home.headers["etag"]}).status_code == 304
    client.get("/help/import")  # now "Most viewed" lists it
    changed = client.get("/help", headers={"If-None-Match": home.headers["etag"]})
    assert changed.status_code == 200 and "Most viewed" in changed.text
    found = client.get("/help/search", params={"q": "how do I export"})
    assert found.status_code == 200 and "/help/export" in found.text
    assert client.get("/help/search", params={"q": "how do I export"},
                      headers={"If-None-Match": found.headers["etag"]}).status_code == 304
    assert client.get("/help/search", params={"q": "importer"},
                      headers={"If-None-Match": found.headers["etag"]}).status_code == 200


def test_pages_load_scripts_from_files_only_and_carry_the_widget(
        small: tuple[TestClient, Path]) -> None:
    client, _ = small
    for path in ("/help", "/help/export", "/help/search?q=export", "/help/nothing"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path  # no inline script
        assert not re.search(r"\sstyle=", html), path  # no inline style attribute
        assert 'src="/help/static/help.js' in html and 'src="/widget.js"' in html
        assert re.search(r'<main id="main"', html) and 'href="#main"' in html  # skip link
    script = client.get("/help/static/help.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    chat = client.get("/help/search", params={"q": "export to csv"}).text
    assert 'data-frontline-ask="export to csv"' in chat


def test_table_alignment_is_a_class_not_a_style() -> None:
    html, _ = render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |\n")
    assert 'class="align-left"' in html and 'class="align-right"' in html
    assert "style=" not in html


@pytest.mark.parametrize("brand", ["#1f5fbf", "#ffd400", "#00ff00", "#000000", "#ffffff"])
def test_any_brand_colour_gives_readable_links_and_buttons(brand: str) -> None:
    colors = theme(brand)

    def rgb(value: str) -> tuple[int, ...]:
        return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))

    assert _contrast(rgb(colors["accent"]), (255, 255, 255)) >= 4.5  # links on the page
    assert _contrast(rgb(colors["on_accent"]), rgb(colors["accent"])) >= 4.5  # button text


def test_the_brand_colour_themes_the_help_pages_and_the_demo_widget(
        tmp_path: Path, sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    from frontline.api.app import create_app
    from frontline.knowledge import KnowledgeBase

    settings = make_settings(sample_index, sample_index / "kb", brand_color="#FFD400",
                             database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    with TestClient(create_app(settings, knowledge=KnowledgeBase(
            settings, real_embedder))) as client:
        page = client.get("/help")
        assert 'data-color="#FFD400"' in page.text
        href = re.search(r'href="(/help/theme\.css[^"]*)"', page.text)
        assert href
        css = client.get(href.group(1))
        assert css.headers["content-type"].startswith("text/css")
        assert f"--accent: {theme('#FFD400')['accent']}" in css.text
        assert "--brand: #ffd400" in css.text
        assert 'data-color="#FFD400"' in client.get("/").text
    with pytest.raises(ValidationError, match="brand_color"):
        make_settings(sample_index, sample_index / "kb", brand_color="red; }")


def test_a_suggestion_opens_the_help_page_even_when_the_article_has_its_own_url(
        sample_index: Path, real_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for client in _client(sample_index, sample_index / "kb", real_embedder, tmp_path):
        suggested = client.get("/api/suggest", params={"q": "I forgot my password"})
    (first, *_) = suggested.json()["suggestions"]
    assert first["id"] == "reset-password"  # its front matter has url: help.example.com/…
    assert re.fullmatch(r"https://support\.example\.com/help/reset-password\?from=suggest"
                        r"(#[a-z0-9-]+)?", first["url"]), first["url"]


def test_suggestion_opens_are_counted_apart_from_other_views(database) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from frontline.analytics.events import EventLog

    log = EventLog(database)
    for decision in (None, "suggest", None, "suggest", "suggest"):
        log.record("help_view", channel="help", article_id="reset-password", decision=decision)
    log.record("help_vote", channel="help", article_id="reset-password", decision="yes")
    now = datetime.now(UTC)
    assert log.help_views(now - timedelta(hours=1), now + timedelta(minutes=1)) == {
        "page": 2, "suggest": 3}
    assert log.help_views(now + timedelta(minutes=1), now + timedelta(hours=1)) == {
        "page": 0, "suggest": 0}
