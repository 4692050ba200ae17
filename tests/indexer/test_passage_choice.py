"""The passage an answer shows: the article's body section best by cosine plus
``PASSAGE_TERM_WEIGHT`` × its share of the question's words. The sample KB's refund policy is
the case a customer met: asked about a refund on an annual plan, MiniLM's best section is
"Monthly plans" ("Monthly payments are non-refundable"), which answers the wrong question.
Real model, real FAISS, real SQLite; full versions and delta versions alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer import Retriever, build_index
from indexer import retriever as retriever_module
from indexer.retriever import DeltaVersion
from tests.conftest import SAMPLE_KB, write_article

QUESTION = "can I get a refund on my annual plan?"
ANNUAL = "Annual plans: 14-day money-back guarantee"
OTHERS = ("reset-password", "cancel-subscription", "invoices-and-receipts", "payment-methods",
          "upgrade-or-downgrade-plan", "free-trial", "manage-seats")
DELTA = {"delta_above": 5, "delta_share": 0.9}


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ("refund-policy", *OTHERS):
        shutil.copy(SAMPLE_KB / f"{name}.md", folder / f"{name}.md")
    return folder


def _top(retriever: Retriever, query: str = QUESTION):  # type: ignore[no-untyped-def]
    hits = retriever.search(query, "public", 3)
    assert hits and hits[0].article_id == "refund-policy"
    return hits[0]


def test_the_passage_is_the_section_the_question_names(kb: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      real_embedder, monkeypatch) -> None:
    build_index(kb, tmp_path / "index", real_embedder)
    retriever = Retriever(tmp_path / "index", real_embedder)
    hit = _top(retriever)
    assert hit.heading == ANNUAL and "**14 days of the first paid charge**" in hit.passage
    # The snippet is the passage's start as plain text (shown as text, not Markdown).
    assert hit.snippet.startswith("If you cancel within 14 days of the first paid charge of")
    assert "**" not in hit.snippet
    # The cosine alone shows the monthly section: what the weight is there to fix.
    monkeypatch.setattr(retriever_module, "PASSAGE_TERM_WEIGHT", 0.0)
    alone = _top(retriever)
    assert alone.heading == "Monthly plans"
    # The section score stays the best section's cosine, whichever passage is shown.
    assert alone.section_score == hit.section_score
    monkeypatch.undo()
    renewal = _top(retriever, "our annual plan auto-renewed last week, can we get that "
                              "renewal refunded?")
    assert renewal.heading == "Renewals"


def test_a_question_without_topic_words_keeps_the_cosines_choice(kb: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 real_embedder) -> None:
    build_index(kb, tmp_path / "index", real_embedder)
    version = Retriever(tmp_path / "index", real_embedder).current()
    vector = real_embedder.embed([QUESTION])[0]
    assert version.term_weights("how do I?", "public") == {}
    assert (version.best_section("refund-policy", vector, {}) ==
            version.best_section("refund-policy", vector))
    weights = version.term_weights(QUESTION, "public")
    assert {"refund", "annual", "plan"} <= weights.keys()
    assert all(w > 0 for w in weights.values())


def test_a_delta_chooses_the_same_passage(kb: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                          real_embedder) -> None:
    build_index(kb, tmp_path / "index", real_embedder, **DELTA)
    write_article(kb, "reset-password", "Reset your password", "Choose **Forgot password**.")
    build_index(kb, tmp_path / "index", real_embedder, **DELTA)
    retriever = Retriever(tmp_path / "index", real_embedder)
    assert isinstance(retriever.current(), DeltaVersion)
    assert _top(retriever).heading == ANNUAL  # the article is the base's
    path = kb / "refund-policy.md"
    path.write_text(path.read_text().replace("Billing errors on our side",
                                             "Billing errors made by us"))
    build_index(kb, tmp_path / "index", real_embedder, **DELTA)
    retriever = Retriever(tmp_path / "index", real_embedder)
    version = retriever.current()
    assert isinstance(version, DeltaVersion) and "refund-policy" in version.own.articles
    assert _top(retriever).heading == ANNUAL  # the article is the delta's own


@pytest.mark.parametrize("delta", [False, True])
def test_coverage_from_the_looked_up_weights_equals_coverage(kb: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             real_embedder, delta: bool) -> None:
    """The search looks the question's term weights up once, for coverage and the passage;
    coverage from them is the coverage it always computed."""
    build_index(kb, tmp_path / "index", real_embedder, **DELTA)
    if delta:
        write_article(kb, "reset-password", "Reset your password", "Choose **Forgot password**.")
        build_index(kb, tmp_path / "index", real_embedder, **DELTA)
    version = Retriever(tmp_path / "index", real_embedder).current()
    assert isinstance(version, DeltaVersion) == delta
    ids = list(version.articles)
    for question in (QUESTION, "forgot password", "how do I?", "charged twice for seats"):
        for audience in ("public", "internal"):
            weights = version.term_weights(question, audience)
            assert version.coverage(question, ids, audience, corrected=True,
                                    weights=weights) == pytest.approx(
                version.coverage(question, ids, audience, corrected=True))
