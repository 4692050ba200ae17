"""KB gaps clustered with the real embedding model, drafts, drill-downs, transcripts and the
report, on the seeded example."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from frontline.analytics import Analytics, Scope
from frontline.analytics.drilldown import DrillDown, UnknownDrill
from frontline.analytics.gaps import GapFinder, InvalidDraft, write_draft
from frontline.analytics.metrics import Metrics
from frontline.analytics.periods import Period
from frontline.db import Database
from frontline.knowledge import KnowledgeBase
from indexer import load_articles
from tests.conftest import make_settings
from tests.frontline.analytics.seed import CATALOG, FIRST, LAST, seed

WEEK = Period(FIRST, LAST, ZoneInfo("UTC"))


@pytest.fixture
def seeded(database: Database) -> Database:
    seed(database)
    return database


def finder(db: Database, real_embedder) -> GapFinder:  # type: ignore[no-untyped-def]
    return GapFinder(Metrics(db, catalog=lambda: CATALOG), real_embedder.embed,
                     lambda text: ("closest-article", "Closest", 0.4))


def test_gap_questions_from_every_source(seeded: Database, real_embedder) -> None:  # type: ignore[no-untyped-def]
    questions = finder(seeded, real_embedder).questions(WEEK)
    assert sorted((q.source, q.text) for q in questions) == [
        ("abstain", "can we connect Tasklane to SAP"),  # a rep's /ask in Slack
        ("abstain", "do you integrate with SAP"),
        ("flagged", "SAP integration?"),
        ("no", "can I get a refund after 30 days"),  # s2's "no" was made good by a "yes"
        ("none_of_these", "billing question"),  # s7 picked an article: not a gap
    ]


def test_gaps_are_clustered_by_meaning(seeded: Database, real_embedder) -> None:  # type: ignore[no-untyped-def]
    clusters = finder(seeded, real_embedder).clusters(WEEK)
    assert [c.count for c in clusters] == [3, 1, 1]
    sap = clusters[0]
    assert {q for q, _ in sap.examples} == {"do you integrate with SAP", "SAP integration?",
                                            "can we connect Tasklane to SAP"}
    assert sap.sources == Counter(abstain=2, flagged=1)
    assert sap.channels == Counter(slack=2, webchat=1)
    assert sap.previous == 1 and sap.trend == "+200 %"  # last week's "is there an SAP …"
    assert sap.closest == ("closest-article", "Closest", 0.4)
    assert sum(sap.daily.values()) == 3
    others = {c.examples[0][0]: c.trend for c in clusters[1:]}
    assert others == {"billing question": "new", "can I get a refund after 30 days": "new"}
    assert finder(seeded, real_embedder).clusters(WEEK, Scope(hide_simulated=True))


def test_draft_article_has_the_cluster_questions(tmp_path: Path) -> None:
    drafts = tmp_path / "kb" / "_drafts"
    path = write_draft(drafts, "Do you integrate with SAP", ["do you integrate with SAP",
                                                             "SAP integration?", "  "],
                       closest="zapier-integration")
    assert path == drafts / "do-you-integrate-with-sap.md"
    text = path.read_text()
    front = yaml.safe_load(text.split("---")[1])
    assert front == {"id": "do-you-integrate-with-sap", "title": "Do you integrate with SAP",
                     "audience": "public", "tags": [],
                     "questions": ["do you integrate with SAP", "SAP integration?"]}
    assert "zapier-integration" in text
    again = write_draft(drafts, "Do you integrate with SAP", ["x"])
    assert again.name == "do-you-integrate-with-sap-2.md"  # never overwritten
    evil = write_draft(drafts, "../../etc/passwd", ["x"])
    assert evil.parent == drafts and evil.name == "etc-passwd.md"
    with pytest.raises(InvalidDraft):
        write_draft(drafts, "Title", [" "])
    # A finished draft is a valid article once moved out of _drafts/.
    (tmp_path / "kb" / "ok.md").write_text(text.replace("TODO", "Yes, through Zapier."))
    loaded = load_articles(tmp_path / "kb")
    assert loaded.errors == [] and [a.id for a in loaded.articles] == [
        "do-you-integrate-with-sap"]


def test_drill_downs_list_the_records_behind_each_number(seeded: Database) -> None:
    drill = DrillDown(Metrics(seeded, catalog=lambda: CATALOG))
    confirmed = drill.table("conversations", WEEK, filter="confirmed")
    assert [r[1] for r in confirmed.rows] == ["s1", "s2"]
    assert confirmed.refs[0] == ("conversation", "s1")
    assumed = drill.table("conversations", WEEK, filter="assumed")
    assert [r[1] for r in assumed.rows] == ["s1", "s3", "s7", "s9"]
    abstained = drill.table("decisions", WEEK, outcome="abstain")
    assert [r[2] for r in abstained.rows] == ["do you integrate with SAP"]
    noes = drill.table("decisions", WEEK, outcome="no")
    assert sorted(r[3] for r in noes.rows) == ["can I get a refund after 30 days",
                                               "how do refunds work"]
    assert sorted(r[2] for r in drill.table("csat", WEEK).rows) == [2, 4, 5]
    backlog = drill.table("tickets", WEEK, filter="backlog")
    assert {r[6] for r in backlog.rows} == {"ticket T4", "ticket T8"}
    assert backlog.refs[0] is not None and backlog.refs[0][0] == "ticket"
    replied = drill.table("tickets", WEEK, filter="first_response")
    assert sorted(r[7] for r in replied.rows) == [0.5, 1.0]
    assert len(drill.table("tickets", WEEK, filter="reopened").rows) == 1
    segment = drill.table("segment", WEEK, metric="csat", dim="outcome", value="abstain")
    assert [r[1] for r in segment.rows] == ["s5"]
    before = drill.table("segment", WEEK, metric="csat", dim="priority", value="high",
                         when="before")
    assert [r[1] for r in before.rows] == ["p5"]
    with pytest.raises(UnknownDrill):
        drill.table("nonsense", WEEK)


def test_transcript_is_masked(seeded: Database) -> None:
    transcript = DrillDown(Metrics(seeded)).transcript("s1")
    texts = [m["text"] for m in transcript.messages]
    assert texts[0] == "I forgot my password, I'm [email]"
    assert [e["kind"] for e in transcript.events] == ["decision", "feedback", "csat", "nps"]
    assert not transcript.simulated


def test_report_with_the_real_knowledge_base(seeded: Database, sample_index: Path) -> None:
    settings = make_settings(sample_index, sample_index / "kb", article_review_min_votes=3)
    knowledge = KnowledgeBase(settings)
    analytics = Analytics(seeded, settings, knowledge)
    report = analytics.report(WEEK, top_gaps=2)
    data = json.loads(json.dumps(report.to_dict()))
    figures = {f["key"]: f for f in data["figures"]}
    assert figures["deflection_confirmed"]["value"] == pytest.approx(2 / 9)
    assert figures["csat_mean"]["change"] == pytest.approx(-1.0)
    assert [g["count"] for g in data["kb_gaps"]] == [3, 1]
    closest = data["kb_gaps"][0]["closest_article"]
    assert closest is not None and closest["id"] in {a["id"] for a in knowledge.articles(
        "internal")}
    assert [a["id"] for a in data["articles_needing_review"]] == ["refund-policy"]
    assert data["process_feedback"]["count"] == 2
    text = report.to_text()
    assert "Deflection, confirmed" in text and "22.2 %" in text and "-11.1 pts" in text
    assert "Top KB gaps (2)" in text
    assert " — 3 questions (" in text and " — 1 question (" in text  # counted in words
    csv_text = report.to_csv()
    assert csv_text.splitlines()[0] == "section,name,value,previous,change,unit,detail"
    assert any(line.startswith("kb_gap,") for line in csv_text.splitlines())
    # The topics come from the real articles' tags.
    assert analytics.metrics.catalog()["refund-policy"].tags
