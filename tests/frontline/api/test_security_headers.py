"""Security headers that fit each page, and the admin token the service refuses to start with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from frontline.api.app import create_app
from frontline.api.security import EXAMPLE_TOKENS, InsecureSettings, check_secrets
from frontline.knowledge import KnowledgeBase
from frontline.rasa import free_port
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[3]
LONG_TOKEN = "k3J9vQ2xT7mL0pR4sW8yZ1bN6cF5hD"


@pytest.fixture
def client(sample_index: Path, real_embedder, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = make_settings(
        sample_index, sample_index / "kb", admin_token=LONG_TOKEN,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    app = create_app(settings, knowledge=KnowledgeBase(settings, real_embedder))
    with TestClient(app) as test_client:
        yield test_client


def directives(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_demo_page_allows_only_its_own_inline_code_by_hash(client: TestClient) -> None:
    page = client.get("/")
    csp = directives(page)
    assert page.headers["x-content-type-options"] == "nosniff"
    assert csp["frame-ancestors"] == "frame-ancestors 'self'"
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    # One hash for the page's one inline script; style hashes for the page's style sheet and
    # the widget's (for browsers without constructed style sheets). Chromium running the page
    # under this policy is tests/e2e/test_csp.py.
    assert len(re.findall(r"'sha256-", csp["script-src"])) == 1
    assert len(re.findall(r"'sha256-", csp["style-src"])) >= 1
    assert csp["object-src"] == "object-src 'none'" and csp["base-uri"] == "base-uri 'none'"


def test_widget_script_can_be_embedded_on_customer_sites(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"


@pytest.mark.parametrize("path", ["/dashboard/sign-in", "/help", "/help/reset-password",
                                  "/dashboard/static/dashboard.css"])
def test_dashboard_and_help_pages_must_not_be_framed(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200, path
    csp = directives(page)
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_json_answers_load_nothing(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/api/search", params={"q": "x"}),
                     client.get("/nowhere")):
        assert directives(response)["default-src"] == "default-src 'none'"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_production_refuses_short_or_example_admin_tokens(tmp_path: Path) -> None:
    def settings(token: str, environment: str = "production"):  # type: ignore[no-untyped-def]
        return make_settings(tmp_path, tmp_path, admin_token=token, environment=environment)

    with pytest.raises(InsecureSettings, match="is 12 characters; outside development it "
                                               "must be at least 24"):
        check_secrets(settings("short-secret"))
    with pytest.raises(InsecureSettings, match="example value"):
        check_secrets(settings("Replace-me-with-a-long-random-token"))
    with pytest.raises(InsecureSettings):
        create_app(settings("admin-secret"))
    check_secrets(settings(LONG_TOKEN))  # long and random: fine
    check_secrets(settings(""))  # no token: the admin endpoints are off
    check_secrets(settings("admin-secret", "development"))  # make run and the tests


def test_serve_says_why_it_refuses_to_start(tmp_path: Path) -> None:
    from frontline.cli import app
    from frontline.settings import get_settings

    get_settings.cache_clear()  # the settings are built once per process: build them anew
    try:
        result = CliRunner().invoke(app, ["serve"], env={
            "FRONTLINE_ENVIRONMENT": "production", "FRONTLINE_ADMIN_TOKEN": "admin-secret",
            "FRONTLINE_DATA_DIR": str(tmp_path)})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "FRONTLINE_ADMIN_TOKEN is an example value" in result.output


def test_every_admin_token_in_the_docs_is_a_known_example() -> None:
    texts = [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "deploy").glob("*"),
             *REPO.glob(".env*")]
    found = set()
    for path in texts:
        if path.is_file():
            found |= set(re.findall(r"FRONTLINE_ADMIN_TOKEN[=:]\s*[\"']?([\w.-]+)",
                                    path.read_text(encoding="utf-8", errors="replace")))
    assert {t.lower() for t in found} <= EXAMPLE_TOKENS, found - EXAMPLE_TOKENS
