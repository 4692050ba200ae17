"""Public scores depend on public articles only: adding or editing an internal article leaves
every public search — BM25, the article classifier's probability, coverage, cosine — as it
was, while reps' searches see the change."""

from __future__ import annotations

from pathlib import Path

from indexer import Retriever, build_index
from tests.conftest import write_article

QUERIES = ("refund after 14 days", "I forgot my password", "does the app work offline",
           "refund my annual plan")


def _public(index: Path, embedder) -> list[list[tuple]]:  # type: ignore[no-untyped-def]
    retriever = Retriever(index, embedder, mode="hybrid", ranking="fused")
    return [[(h.article_id, h.score, h.lexical_score, h.confidence, h.coverage)
             for h in retriever.search(q, "public", 5)] for q in QUERIES]


def test_internal_articles_never_change_public_scores(small_kb: Path, tmp_path: Path,
                                                      real_embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    build_index(small_kb, index, real_embedder)
    before = _public(index, real_embedder)
    assert all(before) and all(h[3] is not None for hits in before for h in hits)

    # A new internal article made of the public queries' own words, and an edited one.
    write_article(small_kb, "refund-runbook",
                  "Refund runbook for annual plan refunds after 14 days",
                  "## Refund after 14 days\nRefund the annual plan after 14 days; password "
                  "resets and the offline app are handled by tier 2.\n",
                  audience="internal",
                  questions=("refund after 14 days", "annual plan refund", "forgot password"))
    exceptions = small_kb / "refund-exceptions.md"
    exceptions.write_text(exceptions.read_text().replace(
        "questions:\n", "questions:\n  - refund my annual plan after 14 days\n", 1)
        + "\nRefunds of annual plans after 14 days need a lead.\n")
    summary = build_index(small_kb, index, real_embedder)
    assert summary.reembedded == 2

    assert _public(index, real_embedder) == before
    reps = Retriever(index, real_embedder, mode="hybrid", ranking="fused")
    assert "refund-runbook" in [h.article_id for h in reps.search(QUERIES[0], "internal", 3)]
