"""The ops dashboard in a real Chromium, against the real service and a real Rasa server, with
demo data made by `frontline simulate` (simulated customers through POST /chat).

A manager signs in, switches the period, opens a drill-down and a transcript, asks why a
figure changed, downloads a CSV; the charts are drawn, nothing logs an error, and the page
works on a phone. The screenshot in docs/ is written by this test (`make screenshots`).
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.test_widget import DESKTOP, DOCS, PHONE, browser  # noqa: F401 - the fixture
from tests.support.stack import Stack

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def demo(stack: Stack) -> str:
    """`frontline simulate` against the running stack, as `make demo` runs it."""
    settings = stack.settings
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "FRONTLINE_DATABASE_URL": settings.sqlalchemy_url,
           "FRONTLINE_DATA_DIR": str(settings.data_dir),
           "FRONTLINE_KB_DIR": str(settings.kb_dir),
           "FRONTLINE_ADMIN_TOKEN": ADMIN_TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "frontline.cli", "simulate", "--customers", "14", "--url",
         stack.url, "--seed", "7", "--weeks", "3"],
        capture_output=True, text=True, env=env, timeout=300, cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14 simulated customers" in result.stdout, result.stdout
    return result.stdout


@pytest.fixture
def page(browser: Browser, stack: Stack, demo: str) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    problems: list[Any] = []
    page.on("pageerror", lambda error: problems.append(error))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not problems, f"errors in the browser console: {problems}"


def sign_in(page: Page, stack: Stack, path: str = "/dashboard?days=30") -> None:
    page.goto(stack.url + path)
    expect(page.get_by_role("heading", name="Sign in to the ops dashboard")).to_be_visible()
    assert ADMIN_TOKEN not in page.url
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    assert ADMIN_TOKEN not in page.url


def charts_drawn(page: Page) -> int:
    return int(page.evaluate("""() => {
        const canvases = [...document.querySelectorAll('canvas[data-chart]')];
        const drawn = canvases.filter((c) => window.Chart && window.Chart.getChart(c)
            && c.width > 0 && c.height > 0);
        return drawn.length === canvases.length ? drawn.length : -1;
    }"""))


def test_a_manager_signs_in_drills_down_and_exports(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "frontline_dashboard")
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    expect(page.locator("html")).to_have_attribute("data-charts", re.compile(r"^[1-9]\d+$"))
    assert charts_drawn(page) >= 20
    conversations = page.locator('[data-figure="kb_conversations"] .value a')
    expect(conversations).to_have_text(re.compile(r"\d"))
    page.screenshot(path=DOCS / "dashboard.png", full_page=False)

    # Switch the period: the last 90 days, compared with the 90 before.
    page.get_by_label("Last 90 days").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#compare")).to_contain_text("(90 days")
    assert "days=90" in page.url and charts_drawn(page) >= 20

    # Every number leads to the records behind it, and to the masked transcript.
    page.locator('[data-figure="kb_conversations"] .value a').click()
    expect(page.get_by_role("heading", name="Conversations that asked the KB")).to_be_visible()
    rows = page.locator("#drill-table tbody tr")
    assert rows.count() >= 5
    expect(rows.first).to_contain_text("sim-")
    rows.first.get_by_role("link", name=re.compile("^Transcript")).click()
    expect(page.locator("#transcript .msg.customer").first).to_be_visible()
    expect(page.get_by_text("simulated", exact=True).first).to_be_visible()

    # A CSV of the drill-down's table.
    page.go_back()
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Download CSV")).first.click()
    path = download_info.value.path()
    with open(path, newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0][:3] == ["started", "session", "first question"] and len(table) >= 6

    # Why did it change?
    page.goto(stack.url + "/dashboard?days=90")
    page.locator('[data-figure="csat_mean"]').get_by_role(
        "link", name="Why did it change?").click()
    expect(page.locator("#why-headline")).to_contain_text("CSAT")
    expect(page.get_by_role("heading", name="By decision outcome")).to_be_visible()

    # Hiding simulated records leaves the real ones (the widget tests' conversations).
    page.goto(stack.url + "/dashboard/drill/conversations?days=90&real=1")
    expect(page.get_by_role("heading", name="Conversations that asked the KB")).to_be_visible()
    assert "sim-" not in page.locator("#drill-table").inner_text()


def test_keyboard_and_phone(page: Page, stack: Stack) -> None:
    sign_in(page, stack)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > limit + 1).slice(0, 5)
        .map((e) => e.tagName + '.' + e.className)""", PHONE["width"])
    assert width <= PHONE["width"] + 1, f"the page scrolls sideways ({width} px): {wide}"
    assert charts_drawn(page) >= 20
    page.get_by_role("link", name="KB gaps").click()
    expect(page.get_by_role("heading", name="KB gaps", exact=True)).to_be_visible()
