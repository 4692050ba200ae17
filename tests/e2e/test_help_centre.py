"""The public help centre in a real Chromium, against the real service (and, for the widget, a
real Rasa server): what a customer notices when they look for help before chatting.

Browse, search (as you type, and the full results), open an article, vote; the widget offers
articles while the first message is typed, and one can be opened before anything is sent
(counted as a suggestion opened); "Still stuck? Chat with us" opens the widget with the query
typed in; an internal article is the same 404 as an unknown id; a ``<script>`` in an article's
Markdown is shown as text; the pages work without JavaScript and on a phone; nothing logs an
error (a Content-Security-Policy violation is a console error). The screenshot in docs/ is
written by this test (``make screenshots``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from frontline.db import Event
from indexer import build_index
from tests.conftest import make_settings, write_article
from tests.e2e.test_widget import DESKTOP, DOCS, PHONE, Widget, browser  # noqa: F401 - fixture
from tests.support.stack import Stack

SUGGEST = 10_000  # ms: debounce, the query embedding and the search


def views(stack: Stack, article_id: str) -> list[Event]:
    db = stack.app.state.services.db
    with db.session() as session:
        return list(session.scalars(select(Event).where(
            Event.kind == "help_view", Event.article_id == article_id).order_by(Event.id)))


@pytest.fixture
def context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:  # noqa: F811
    """Fresh browser contexts (empty storage); any page error or console error fails the test."""
    made: list[BrowserContext] = []
    problems: list[Any] = []

    def watch(page: Page) -> None:
        page.on("pageerror", lambda error: problems.append(error))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        new = browser.new_context(**options)
        new.on("page", watch)
        made.append(new)
        return new

    yield make
    for each in made:
        each.close()
    assert not problems, f"errors in the browser console: {problems}"


@pytest.fixture
def page(context: Callable[..., BrowserContext]) -> Page:
    return context().new_page()


def test_browse_search_read_and_vote(page: Page, stack: Stack) -> None:
    page.goto(stack.url + "/help")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
    expect(page.get_by_role("heading", name="Categories")).to_be_visible()
    categories = page.locator(".category")
    assert categories.count() >= 3
    assert page.get_by_role("link", name=re.compile(r"\(internal\)")).count() == 0

    # Search as you type: suggestions under the box, reachable with the Down arrow.
    box = page.get_by_role("searchbox", name="Search the help centre")
    box.click()
    box.press_sequentially("forgot my password", delay=20)
    suggestion = page.locator("#q-suggestions").get_by_role("link").first
    expect(suggestion).to_be_visible(timeout=SUGGEST)
    expect(suggestion).to_contain_text("password")
    expect(page.locator("#q-status")).to_contain_text("suggested article")
    box.press("ArrowDown")
    expect(suggestion).to_be_focused()
    box.focus()

    # The full results page.
    box.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()
    results = page.locator(".results li")
    assert results.count() >= 1
    expect(page.get_by_role("link", name="Chat with us").first).to_be_visible()
    before = len(views(stack, "reset-password"))
    page.locator(".results").get_by_role("link", name=re.compile("password", re.I)).first.click()
    expect(page).to_have_url(re.compile(r"/help/reset-password"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("password")
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_be_visible()
    assert len(views(stack, "reset-password")) == before + 1

    # "Was this article helpful?" — No, with what was missing.
    page.get_by_text("If not, tell us what was missing").click()
    page.get_by_label("What was missing?").select_option("steps")
    page.get_by_label("Comment").fill("The reset email never came")
    page.get_by_role("button", name="No", exact=True).click()
    expect(page.get_by_role("heading", name="Thanks for your feedback")).to_be_visible()
    db = stack.app.state.services.db
    with db.session() as session:
        vote = session.scalars(select(Event).where(Event.kind == "help_vote").order_by(
            Event.id.desc())).first()
    assert vote is not None and (vote.article_id, vote.decision) == ("reset-password", "no")
    page.set_viewport_size(DESKTOP)
    page.goto(stack.url + "/help/reset-password")
    page.screenshot(path=str(DOCS / "help-centre.png"))


def test_a_suggestion_appears_while_typing_and_opens_before_anything_is_sent(
        context: Callable[..., BrowserContext], stack: Stack) -> None:
    browsing = context()
    widget = Widget(browsing.new_page(), stack).visit().open()
    widget.input.press_sequentially("I forgot my password", delay=20)
    suggestions = widget.panel.locator(".suggest")
    link = suggestions.get_by_role("link").first
    expect(link).to_be_visible(timeout=SUGGEST)
    expect(link).to_contain_text("password")
    expect(widget.panel.get_by_role("status")).to_contain_text("suggested article")
    expect(link).to_have_attribute("href", re.compile(r"/help/reset-password\?from=suggest"))
    widget.input.press("ArrowDown")
    expect(link).to_be_focused()
    before = [v.decision for v in views(stack, "reset-password")]
    with browsing.expect_page() as opened:
        link.press("Enter")
    article = opened.value
    article.wait_for_load_state()
    expect(article.get_by_role("heading", level=1)).to_contain_text("password")
    after = [v.decision for v in views(stack, "reset-password")]
    assert after == [*before, "suggest"]  # counted as a suggestion opened
    # Nothing was sent: no conversation exists, the typed text is still in the box.
    assert widget.page.evaluate("k => localStorage.getItem(k)",
                                f"frontline:session:{stack.url}") is None
    expect(widget.input).to_have_value("I forgot my password")
    assert widget.page.locator("frontline-chat .msg.customer").count() == 0
    # Escape from the list goes back to the box; the panel stays open.
    link.focus()
    link.press("Escape")
    expect(widget.input).to_be_focused()
    expect(widget.panel).to_be_visible()
    # Once the first message is sent, suggestions are gone for good.
    widget.input.press("Enter")
    expect(suggestions).to_be_hidden()
    widget.input.press_sequentially("how do I export my data", delay=10)
    widget.page.wait_for_timeout(1500)
    expect(suggestions).to_be_hidden()


def test_still_stuck_opens_the_widget_with_the_query_typed(
        page: Page, stack: Stack) -> None:
    page.goto(stack.url + "/help/search?q=" + "can I pay by bank transfer")
    launcher = page.get_by_role("button", name=re.compile(r"^Chat: Help$"))
    expect(launcher).to_be_visible(timeout=10_000)
    page.locator(".stuck").get_by_role("link", name="Chat with us").click()
    panel = page.get_by_role("dialog", name="Help", exact=True)
    expect(panel).to_be_visible()
    message = panel.get_by_role("textbox", name="Message")
    expect(message).to_have_value("can I pay by bank transfer")
    expect(message).to_be_focused()
    assert page.locator("frontline-chat .msg.customer").count() == 0  # typed, not sent
    assert "/help/search" in page.url  # the page stayed

    # The link's own address (without JavaScript, or from another site): ?ask= on the demo.
    page.goto(stack.url + "/?ask=where%20is%20my%20invoice")
    demo = page.get_by_role("dialog", name="Tasklane help")
    expect(demo.get_by_role("textbox", name="Message")).to_have_value("where is my invoice")
    assert "ask=" not in page.url  # a reload does not type it again
    assert page.locator("frontline-chat .msg.customer").count() == 0


def test_an_internal_article_is_the_same_404_as_an_unknown_one(
        browser: Browser, stack: Stack) -> None:  # noqa: F811 - the fixture
    context = browser.new_context(viewport=DESKTOP)  # Chromium logs each 404 page as an error
    page = context.new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    internal = page.goto(stack.url + "/help/refund-exceptions")
    assert internal is not None and internal.status == 404
    shown = page.locator("main").inner_text()
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    unknown = page.goto(stack.url + "/help/no-such-article")
    assert unknown is not None and unknown.status == 404
    assert page.locator("main").inner_text() == shown
    assert "Refund exceptions" not in page.content()
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_works_without_javascript_and_on_a_phone(
        context: Callable[..., BrowserContext], stack: Stack) -> None:
    plain = context(java_script_enabled=False).new_page()
    plain.goto(stack.url + "/help")
    plain.get_by_role("searchbox", name="Search the help centre").fill("export my data")
    plain.get_by_role("button", name="Search").click()
    expect(plain.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()
    plain.locator(".results a").first.click()
    expect(plain.get_by_role("heading", name="Was this article helpful?")).to_be_visible()
    plain.get_by_role("button", name="Yes", exact=True).click()
    expect(plain.get_by_role("heading", name="Thanks for your feedback")).to_be_visible()

    phone = context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(stack.url + "/help/reset-password")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    size = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('.body p'))"
                          ".fontSize)")
    assert size >= 16
    # Keyboard: the first Tab reaches the skip link, which moves to the content.
    desk = context().new_page()
    desk.goto(stack.url + "/help/reset-password")
    desk.keyboard.press("Tab")
    skip = desk.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    desk.keyboard.press("Enter")
    expect(desk.locator("main")).to_be_focused()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, real_embedder,  # type: ignore[no-untyped-def]
            stack: Stack) -> Iterator[Stack]:
    """The service alone (no Rasa) over a KB whose article holds a script."""
    data = tmp_path_factory.mktemp("help-hostile")
    kb = data / "kb"
    kb.mkdir()
    write_article(kb, "evil", "Export your projects", """
        Intro <script>window.__xss = 1</script> text.

        ## Export to CSV
        <img src=x onerror="window.__xss = 2"> Click [here](javascript:window.__xss=3).
        """)
    write_article(kb, "import", "Import your projects", "Use the importer.")
    build_index(kb, data / "index", real_embedder)
    settings = make_settings(data, kb, database_url=f"sqlite:///{data / 'db.sqlite'}",
                             models_dir=stack.settings.models_dir)
    service = Stack(settings)
    from frontline.api.app import create_app

    service.app = create_app(service.settings)
    service.start_service()
    try:
        yield service
    finally:
        service.stop_service()
        shutil.rmtree(Path(data), ignore_errors=True)


def test_a_script_in_an_article_is_shown_as_text(page: Page, hostile: Stack) -> None:
    page.goto(hostile.url + "/help/evil")
    body = page.locator(".body")
    expect(body).to_contain_text("<script>window.__xss = 1</script>")
    expect(body).to_contain_text('<img src=x onerror="window.__xss = 2">')
    assert page.evaluate("window.__xss") is None
    assert body.locator("script, img").count() == 0
    assert body.locator("a[href^='javascript']").count() == 0
