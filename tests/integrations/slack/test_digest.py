"""The weekly digest: a pure Block Kit builder tested as data, posted through a stub of Slack's
Web API, and `frontline report --post-to-slack` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from frontline.analytics import Analytics, Period
from frontline.analytics.report import Report
from frontline.db import Database, ProcessFeedback
from integrations.slack import blocks
from integrations.slack.digest import dashboard_link, digest_message, post_digest
from tests.conftest import make_settings
from tests.frontline.analytics.seed import CATALOG, FIRST, LAST, seed
from tests.support.slack_api import SlackStub

WEEK = Period(FIRST, LAST, ZoneInfo("UTC"))
EVIL = "<!channel> pay <https://evil.example|here> & more"


def fake_embed(texts: list[str]) -> np.ndarray:
    """Questions sharing a word cluster together: enough for a builder test."""
    return np.asarray([[1.0, 0, 0] if "sap" in t.lower() else [0, 1.0, 0]
                       if "refund" in t.lower() else [0, 0, 1.0] for t in texts])


@pytest.fixture
def report(tmp_path: Path) -> Report:
    db = Database(f"sqlite:///{tmp_path / 'f.db'}")
    db.migrate()
    seed(db)
    with db.session() as session:
        session.add(ProcessFeedback(rep="U9", area="policy", what_happened=EVIL, impact="low",
                                    created_at=WEEK.start, updated_at=WEEK.start))
    settings = make_settings(tmp_path, tmp_path / "kb", article_review_min_votes=3)
    analytics = Analytics(db, settings, catalog=lambda: CATALOG, embed=fake_embed,
                          closest=lambda q: ("zapier-integration", "Zapier", 0.3))
    return analytics.report(WEEK)


def texts(message: dict) -> str:  # type: ignore[type-arg]
    return json.dumps(message["blocks"], ensure_ascii=False)


def test_the_digest_has_figures_changes_gaps_and_feedback(report: Report) -> None:
    message = digest_message(report, "https://support.example.com/dashboard?days=7")
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds[:3] == ["header", "context", "section"] and len(kinds) <= 50
    assert message["blocks"][0]["text"]["text"] == (
        "Frontline weekly digest · 2026-03-09 – 2026-03-15")
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert len(fields) == 10
    assert "*Deflection, confirmed*\n22.2 %  🔴 -11.1 pts vs 33.3 %" in fields
    assert "*CSAT, mean (1–5)*\n3.67  🔴 -1.00 vs 4.67" in fields
    gaps = next(b for b in message["blocks"] if b["block_id"] == "digest_gaps")["text"]["text"]
    assert gaps.count("\n1. ") + gaps.count("\n2. ") + gaps.count("\n3. ") == 3
    assert "closest: `zapier-integration`" in gaps
    feedback = next(b for b in message["blocks"] if b["block_id"] == "digest_feedback")
    assert "*New process feedback: 3*" in feedback["text"]["text"]
    body = texts(message)
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body  # escaped
    assert "<https://evil.example|here>" not in body
    assert "`refund-policy`" in body  # needs review
    assert "<https://support.example.com/dashboard?days=7|ops dashboard>" in body
    assert message["text"].startswith("Frontline weekly digest") and "22.2 %" in message["text"]
    for block in message["blocks"]:
        for field in block.get("fields", []):
            assert len(field["text"]) <= blocks.MAX_FIELD_TEXT
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= blocks.MAX_SECTION_TEXT


def test_post_digest_posts_to_the_channel(report: Report) -> None:
    with SlackStub(token="xoxb-digest") as stub:
        ts = post_digest(report, token="xoxb-digest", channel="C0FEEDBACK", api_url=stub.url,
                         public_url="https://support.example.com")
        [posted] = stub.messages(channel="C0FEEDBACK")
        assert posted["ts"] == ts and posted["blocks"][0]["type"] == "header"
        assert "from=2026-03-09&to=2026-03-15" in json.dumps(posted["blocks"])
    assert dashboard_link("https://x.example/", report) == (
        "https://x.example/dashboard?days=custom&from=2026-03-09&to=2026-03-15")


def test_report_cli_prints_and_posts(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'frontline.db'}")
    db.migrate()
    seed(db)
    db.dispose()
    with SlackStub(token="xoxb-cli") as stub:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "FRONTLINE_DATA_DIR": str(tmp_path),
               "FRONTLINE_SLACK_BOT_TOKEN": "xoxb-cli", "FRONTLINE_SLACK_API_URL": stub.url,
               "FRONTLINE_SLACK_FEEDBACK_CHANNEL": "C0FEEDBACK"}

        def report(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "frontline.cli", "report", *args],
                                  capture_output=True, text=True, env=env, timeout=300,
                                  check=False)

        as_json = report("--from", "2026-03-09", "--to", "2026-03-15", "--format", "json")
        assert as_json.returncode == 0, as_json.stderr
        data = json.loads(as_json.stdout)
        assert data["period"] == {"first": "2026-03-09", "last": "2026-03-15",
                                  "timezone": "UTC"}
        figures = {f["key"]: f["value"] for f in data["figures"]}
        assert figures["tickets_opened"] == 4 and figures["backlog"] == 2
        assert [g["count"] for g in data["kb_gaps"]] == [3, 1, 1]  # the real model
        text = report("--from", "2026-03-09", "--to", "2026-03-15", "--post-to-slack")
        assert text.returncode == 0, text.stderr
        assert "Deflection, confirmed" in text.stdout and "Digest posted to C0FEEDBACK" in \
            text.stderr
        assert len(stub.messages(channel="C0FEEDBACK")) == 1
        as_csv = report("--since", "400d", "--format", "csv")
        assert as_csv.returncode == 2 and "1 to 366 days" in as_csv.stderr
        both = report("--since", "7d", "--from", "2026-03-01")
        assert both.returncode == 2
