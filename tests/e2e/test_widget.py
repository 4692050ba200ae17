"""The website chat widget in a real Chromium, against the real service and a real Rasa server.

Each test is what a customer (or a keyboard or phone user) would notice on the demo page. The
screenshots in ``docs/`` are written by these tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright

from tests.support.stack import Stack

REPO = Path(__file__).resolve().parents[2]
# Screenshots go to docs/ only when asked (`make screenshots`), so a test run leaves the
# tracked files alone; otherwise to a scratch folder, still taken (and so still exercised).
DOCS = Path(os.environ["FRONTLINE_SCREENSHOTS"]) if os.environ.get("FRONTLINE_SCREENSHOTS") \
    else Path(tempfile.gettempdir()) / "frontline-screenshots"
DOCS.mkdir(parents=True, exist_ok=True)
CHROMIUM = os.environ.get("FRONTLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking",
                 "--disable-component-update"]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
ANSWER = 30_000  # ms: a reply from Rasa, the actions and the retriever
NOTICE = ("Can't reach support right now — your message is saved and will be sent when the "
          "connection is back")
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"Chromium must be installed in CI ({CHROMIUM}; make test installs it)")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        # Debian's Chromium, never a browser downloaded by Playwright.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Widget:
    """The widget on one page of the demo site, found the way a user (or screen reader) finds it."""

    def __init__(self, page: Page, stack: Stack) -> None:
        self.page = page
        self.stack = stack
        self.launcher = page.get_by_role("button", name=re.compile(r"^Chat: Tasklane help"))
        self.panel = page.get_by_role("dialog", name="Tasklane help")
        self.input = self.panel.get_by_role("textbox", name="Message")
        self.log = self.panel.get_by_role("log")
        self.messages = page.locator("frontline-chat .msg:not(.typing-row)")
        self.notice = self.panel.get_by_role("alert")

    def visit(self, path: str = "/") -> Widget:
        self.page.goto(self.stack.url + path)
        expect(self.launcher).to_be_visible(timeout=10_000)
        return self

    def open(self) -> Widget:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        expect(self.input).to_be_focused()
        return self

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def reply_button(self, title: str) -> Locator:
        """A quick-reply button under the latest bot message."""
        return self.panel.locator(".replies").get_by_role("button", name=title, exact=True)

    def choose(self, title: str) -> None:
        button = self.reply_button(title)
        expect(button).to_be_visible(timeout=ANSWER)
        button.click()

    def bot_after(self, said: str) -> Locator:
        """Bot bubbles after the customer's bubble with exactly ``said``."""
        mine = self.page.locator("frontline-chat .msg.customer").filter(
            has=self.page.get_by_text(said, exact=True))
        return mine.last.locator("xpath=following-sibling::div[contains(@class, 'bot') "
                                 "and not(contains(@class, 'typing-row'))]")

    def session_id(self) -> str:
        value = self.page.evaluate("key => localStorage.getItem(key)",
                                   f"frontline:session:{self.stack.url}")
        assert value, "the widget has no session id in localStorage"
        return str(value)

    def texts(self) -> list[str]:
        return [" ".join(t.split()) for t in self.messages.all_inner_texts()]

    def focused(self) -> str:
        """Accessible name (or text) of the element that has the keyboard focus, through the
        shadow root."""
        return str(self.page.evaluate("""() => {
            let a = document.activeElement;
            while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
            return a ? (a.getAttribute('aria-label') || a.textContent || a.tagName).trim() : '';
        }"""))


@pytest.fixture
def open_widget(browser: Browser, stack: Stack) -> Iterator[Callable[..., Widget]]:
    """A fresh browser context (empty storage) per test; page errors fail the test."""
    contexts = []
    errors: list[Any] = []

    def make(viewport: ViewportSize = DESKTOP, **options: Any) -> Widget:
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(error))
        return Widget(page, stack).visit()

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def widget(open_widget: Callable[..., Widget]) -> Widget:
    return open_widget()


def services(stack: Stack) -> Any:
    return stack.app.state.services


def test_ask_a_question_and_get_the_article_link(widget: Widget) -> None:
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    widget.open()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.messages.first).to_contain_text("Ask me anything")  # the local welcome

    widget.say("I forgot my password and can't sign in")
    expect(widget.messages.filter(has_text="I forgot my password")).to_have_class(
        re.compile(r"\bcustomer\b"))
    link = widget.panel.get_by_role("link", name=re.compile("password", re.I)).first
    expect(link).to_be_visible(timeout=ANSWER)
    expect(link).to_have_attribute("href", re.compile(r"/articles/reset-password$"))
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(widget.reply_button("Yes, that helped")).to_be_visible()
    expect(widget.reply_button("No")).to_be_visible()
    widget.page.screenshot(path=DOCS / "widget-desktop.png")


def test_no_leads_to_a_ticket_with_its_number(widget: Widget, stack: Stack) -> None:
    widget.open()
    widget.say("I forgot my password and can't sign in")
    # The bot offers another article once, then a ticket.
    for _ in range(3):
        widget.choose("No")
        offered = widget.panel.locator(".replies button").filter(
            has_text=re.compile(r"^(No|File a ticket)$"))
        expect(offered.first).to_be_visible(timeout=ANSWER)
        if widget.reply_button("File a ticket").count():
            break
    widget.choose("File a ticket")
    expect(widget.messages.last).to_contain_text("email", timeout=ANSWER)
    widget.say("ann@example.com")
    widget.choose("I forgot my password and can't sign in")  # the proposed summary
    expect(widget.messages.last).to_contain_text("describe", timeout=ANSWER)
    widget.say("The reset email never arrives.\nI tried twice this morning.")

    filed = widget.messages.filter(has_text=re.compile(r"ticket #\d{5,}"))
    expect(filed).to_be_visible(timeout=ANSWER)
    expect(filed.locator("strong")).to_have_text(re.compile(r"^#1\d{4,}$"))  # **#10001**
    number = int(re.search(r"#(\d{5,})", filed.inner_text()).group(1))  # type: ignore[union-attr]
    ticket = services(stack).tickets.get(number)
    assert ticket.email == "ann@example.com"
    assert ticket.summary == "I forgot my password and can't sign in"
    assert "never arrives" in ticket.details
    assert ticket.session_id == widget.session_id()
    # The customer bubble for a clicked button shows its title, not the payload.
    assert "/deny" not in " ".join(widget.texts())


def test_reload_and_another_page_show_the_same_conversation(widget: Widget) -> None:
    widget.open()
    widget.say("How do I cancel my subscription?")
    expect(widget.reply_button("No")).to_be_visible(timeout=ANSWER)
    expect(widget.log.locator("ol > li").first).to_contain_text("Settings")  # "1. Go to …"
    widget.choose("Yes, that helped")
    expect(widget.reply_button("5")).to_be_visible(timeout=ANSWER)
    before = widget.texts()
    assert len(before) >= 5, before

    widget.page.reload()
    expect(widget.panel).to_be_visible()  # it was open: it reopens
    expect(widget.messages).to_have_count(len(before), timeout=10_000)
    assert widget.texts() == before
    expect(widget.reply_button("5")).to_be_visible()  # the pending CSAT question keeps its buttons

    widget.visit("/?page=pricing")
    expect(widget.page.get_by_role("heading", name="Plans for every team")).to_be_visible()
    expect(widget.messages).to_have_count(len(before), timeout=10_000)
    assert widget.texts() == before


def test_html_in_messages_is_shown_as_text(widget: Widget, stack: Stack) -> None:
    widget.open()
    widget.say(XSS)
    mine = widget.messages.filter(has_text="<script>")
    expect(mine.locator(".bubble")).to_have_text(XSS)
    expect(widget.bot_after(XSS).first).to_be_visible(timeout=ANSWER)

    # A bot message with HTML, a javascript: link and the Markdown subset, as the service
    # would deliver it (e.g. from an article).
    services(stack).conversations.add(
        widget.session_id(), "bot",
        "**Bold** <script>window.__xss=3</script> [bad](javascript:window.__xss=4) and "
        "[good](https://help.tasklane.example/articles/x)\n- one <b>two</b>\n- three",
        data={"links": [{"title": "evil", "url": "javascript:window.__xss=5"}]},
    )
    injected = widget.messages.filter(has_text="window.__xss=3")
    expect(injected).to_be_visible(timeout=10_000)
    expect(injected.locator("strong")).to_have_text("Bold")
    expect(injected.locator(".bubble li")).to_have_text(["one <b>two</b>", "three"])
    expect(injected).to_contain_text("<script>window.__xss=3</script>")
    expect(injected).to_contain_text("[bad](javascript:window.__xss=4)")
    expect(injected.get_by_role("link", name=re.compile("^good"))).to_have_attribute(
        "href", "https://help.tasklane.example/articles/x")
    expect(injected).to_contain_text("evil (javascript:window.__xss=5)")
    expect(injected.locator("a")).to_have_count(1)

    widget.page.reload()  # the same text from /chat/history
    expect(widget.messages.filter(has_text="window.__xss=3")).to_be_visible(timeout=10_000)
    expect(widget.messages.filter(has_text="<script>window.__xss=2</script>")).to_have_count(1)
    assert widget.page.locator("frontline-chat img, frontline-chat script, frontline-chat b"
                               ).count() == 0
    assert widget.page.evaluate("() => window.__xss") is None


def test_service_down_keeps_the_message_and_sends_it_when_back(
        widget: Widget, stack: Stack) -> None:
    widget.open()
    text = "How do I turn on two-factor authentication?"
    stack.stop_service()
    try:
        widget.say(text)
        expect(widget.notice).to_contain_text(NOTICE, timeout=10_000)
        expect(widget.notice.get_by_role("button", name="Retry now")).to_be_visible()
        kept = widget.messages.filter(has_text=text)
        expect(kept).to_contain_text("Not sent yet")
        outbox = widget.page.evaluate("key => localStorage.getItem(key)",
                                      f"frontline:outbox:{stack.url}")
        assert [item["message"] for item in json.loads(outbox)] == [text]
    finally:
        stack.start_service()
    # Sent by the automatic retry (back-off 2, 4, 8 … s), then answered.
    expect(kept).not_to_contain_text("Not sent yet", timeout=40_000)
    expect(widget.bot_after(text).first).to_be_visible(timeout=ANSWER)
    expect(widget.notice).to_be_hidden()
    expect(widget.panel.get_by_role("link", name=re.compile("two-factor", re.I)).first
           ).to_be_visible()
    said = [m.text for m in services(stack).conversations.messages(
        widget.session_id(), senders=("customer",))]
    assert said == [text]  # sent once, nothing lost
    assert widget.page.evaluate("key => localStorage.getItem(key)",
                                f"frontline:outbox:{stack.url}") is None


def test_keyboard_only(widget: Widget) -> None:
    page = widget.page
    for _ in range(40):
        page.keyboard.press("Tab")
        if widget.focused().startswith("Chat: Tasklane help"):
            break
    else:
        pytest.fail("Tab never reached the chat launcher")
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.input).to_be_focused()

    page.keyboard.type("I forgot my password")
    page.keyboard.press("Enter")
    expect(widget.messages.filter(has_text="I forgot my password")).to_be_visible()
    expect(widget.reply_button("No")).to_be_visible(timeout=ANSWER)
    # The quick replies sit just above the input: Shift+Tab walks back to them.
    walked = []
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        walked.append(widget.focused())
        if walked[-1] == "No":
            break
    else:
        pytest.fail(f"Shift+Tab from the input never reached the quick replies: {walked}")
    with page.expect_response(lambda r: "/chat/history" in r.url, timeout=10_000):
        pass  # the next live-update poll …
    assert widget.focused() == "No"  # … leaves the focus where it was
    page.keyboard.press("Enter")
    expect(widget.messages.filter(has_text=re.compile(r"^You:\s*No$"))).to_have_count(1)
    expect(widget.messages.filter(has_text="Sorry about that")).to_be_visible(timeout=ANSWER)
    expect(widget.input).to_be_focused()  # the chosen buttons are gone; the focus is not lost

    page.keyboard.press("Tab")
    assert widget.focused() == "Send"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(widget.input).to_be_focused()


def test_phone_viewport_is_full_screen(open_widget: Callable[..., Widget]) -> None:
    widget = open_widget(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    box = widget.launcher.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    widget.launcher.tap()
    expect(widget.panel).to_be_visible()
    widget.say("Does the mobile app work offline?")
    expect(widget.reply_button("No")).to_be_visible(timeout=ANSWER)
    assert widget.panel.bounding_box() == {"x": 0, "y": 0, **PHONE}
    expect(widget.panel).to_have_attribute("aria-modal", "true")
    expect(widget.launcher).to_be_hidden()  # covered: the header's close button closes
    close = widget.panel.get_by_role("button", name="Close chat")
    expect(close).to_be_in_viewport()
    expect(widget.input).to_be_in_viewport()
    widget.page.screenshot(path=DOCS / "widget-phone.png")
    close.tap()
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_visible()


def test_rep_reply_appears_without_any_action(widget: Widget, stack: Stack) -> None:
    widget.open()
    widget.panel.get_by_role("button", name="Talk to a person").click()
    handed = widget.bot_after("Talk to a person").filter(has_text=re.compile(r"ticket #\d+"))
    expect(handed).to_be_visible(timeout=ANSWER)
    number = int(re.search(r"#(\d+)", handed.inner_text()).group(1))  # type: ignore[union-attr]
    assert services(stack).tickets.get(number).handoff
    widget.say("Are you there?")
    expect(widget.bot_after("Are you there?")).to_contain_text("Sent to our support team",
                                                              timeout=ANSWER)
    session_id = widget.session_id()
    conversations = services(stack).conversations

    conversations.add(session_id, "rep", "Hi, Maria here", data={"author": "Maria"})
    rep = widget.messages.filter(has_text="Hi, Maria here")
    expect(rep).to_be_visible(timeout=10_000)  # polled every 3 s while open
    expect(rep).to_contain_text("Support team")
    expect(widget.messages.last).to_contain_text("Hi, Maria here")  # after what came before
    expect(rep).to_have_count(1)

    # Closed: a small unread badge on the launcher (polled every 15 s).
    widget.panel.get_by_role("button", name="Close chat").click()
    conversations.add(session_id, "rep", "I've reset the link for you.", data={"author": "Maria"})
    expect(widget.launcher).to_have_accessible_name(re.compile(r"\(1 unread\)"), timeout=25_000)
    expect(widget.page.locator("frontline-chat .badge")).to_have_text("1")
    widget.launcher.click()
    expect(widget.messages.filter(has_text="I've reset the link")).to_be_visible()
    expect(widget.page.locator("frontline-chat .badge")).to_be_hidden()


HOSTILE_PAGE = """<!doctype html><html><head><style>
  * { color: #f0f !important; background: #0f0 !important; font: 40px/3 serif !important; }
  button { display: none !important; }  div { padding: 60px !important; }
</style></head><body><h1>Another shop</h1>
<script src="%(url)s/widget.js" data-frontline-url="%(url)s" data-title="Shop help"
        data-color="%(color)s" defer></script></body></html>"""

CONTRASTS = r"""() => {
  const root = document.querySelector('frontline-chat').shadowRoot;
  const rgb = (s) => s.match(/[\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const a = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const style = (selector) => getComputedStyle(root.querySelector(selector));
  const header = style('.header'), bot = style('.msg.bot .bubble'), send = style('.send');
  const accent = style('.root').getPropertyValue('--accent');
  return {header: ratio(rgb(header.color), rgb(header.backgroundColor)),
          customer: ratio(rgb(send.color), rgb(send.backgroundColor)),
          bot: ratio(rgb(bot.color), rgb(bot.backgroundColor)),
          link: ratio(rgb(accent), rgb(bot.backgroundColor)), font: bot.fontSize};
}"""


@pytest.mark.parametrize("color", ["#1f5fbf", "#ffd400", "#808080", "hotpink"])
def test_any_brand_colour_stays_readable_on_a_hostile_page(
        browser: Browser, stack: Stack, color: str) -> None:
    """Text on the chosen colour is white or near-black (WCAG AA, 4.5:1), and the page's own
    aggressive styles neither hide nor restyle the widget."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        # Some other page of the site (Chromium's local-network protection would block a
        # public test origin from loading a script from 127.0.0.1).
        shop = f"{stack.url}/shop"
        page.route(shop, lambda route: route.fulfill(
            content_type="text/html", body=HOSTILE_PAGE % {"url": stack.url, "color": color}))
        page.goto(shop)
        launcher = page.get_by_role("button", name=re.compile("^Chat: Shop help"))
        expect(launcher).to_be_visible()
        launcher.click()
        expect(page.get_by_role("dialog", name="Shop help")).to_be_visible()
        measured = page.evaluate(CONTRASTS)
        assert measured.pop("font") == "15px", measured
        assert all(ratio >= 4.5 for ratio in measured.values()), (color, measured)
    finally:
        context.close()


def test_character_counter_and_too_long_message_kept(widget: Widget) -> None:
    widget.open()
    counter = widget.panel.locator(".counter")
    widget.input.fill("a" * 500)
    expect(counter).to_be_hidden()
    widget.input.fill("a" * 45_000)  # pasted logs are welcome: the default limit is 50,000
    expect(counter).to_have_text("45000 / 50000")
    widget.input.fill("a" * 50_005)
    expect(counter).to_contain_text("50005 / 50000")
    widget.input.press("Enter")
    expect(widget.notice).to_contain_text("the limit is 50000")
    expect(widget.input).to_have_value("a" * 50_005)  # kept for editing, nothing sent
    expect(widget.messages).to_have_count(1)  # only the welcome
