"""The pages under their Content-Security-Policy in a real Chromium: nothing they need is
blocked (no CSP report in the console), and what an attacker would inject is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Error, Page, expect

from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.test_widget import ANSWER, DESKTOP, browser  # noqa: F401  (the fixture)
from tests.support.stack import Stack


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:  # noqa: F811
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    yield page, console
    context.close()


def csp_reports(console: list[str]) -> list[str]:
    return [line for line in console if "Content Security Policy" in line
            or "Content-Security-Policy" in line]


def test_demo_page_and_widget_work_under_their_policy(page: Any, stack: Stack) -> None:
    tab, console = page
    response = tab.goto(stack.url + "/")
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    launcher = tab.get_by_role("button", name=re.compile(r"^Chat: Tasklane help"))
    expect(launcher).to_be_visible(timeout=10_000)
    launcher.click()
    panel = tab.get_by_role("dialog", name="Tasklane help")
    box = panel.get_by_role("textbox", name="Message")
    box.fill("How do I reset my password?")
    box.press("Enter")
    # A reply arrived (fetched from the service: connect-src) and was drawn: the welcome and
    # one more bot bubble. (Its words are the assistant's business, tested elsewhere.)
    expect(tab.locator("frontline-chat .msg.bot:not(.typing-row)").nth(1)).to_be_visible(
        timeout=ANSWER)
    # The demo page's own inline script ran (it is allowed by its hash).
    tab.goto(stack.url + "/?page=pricing")
    assert tab.title().startswith("Pricing")
    assert not csp_reports(console), console
    # An injected inline script is refused.
    with pytest.raises(Error):
        tab.add_script_tag(content="window.__injected = 1")
    assert tab.evaluate("window.__injected") is None
    assert csp_reports(console)


def test_dashboard_and_help_centre_work_under_their_policy(page: Any, stack: Stack) -> None:
    tab, console = page
    tab.goto(stack.url + "/help")
    expect(tab.get_by_role("searchbox").first).to_be_visible()
    tab.goto(stack.url + "/dashboard/sign-in")
    tab.get_by_label(re.compile("token", re.I)).fill(ADMIN_TOKEN)
    tab.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(tab.locator("canvas").first).to_be_visible(timeout=20_000)  # Chart.js drew
    assert not csp_reports(console), console
