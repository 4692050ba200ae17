"""Incremental, atomic index builds with the real model and real FAISS."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import ArticleError, IndexLocked, Retriever, build_index, store
from tests.conftest import CountingEmbedder, write_article


def build(kb: Path, index: Path, embedder: CountingEmbedder, **kw):  # type: ignore[no-untyped-def]
    embedder.texts.clear()
    return build_index(kb, index, embedder, **kw)


def test_first_build_embeds_everything_and_publishes(small_kb: Path, tmp_path: Path,
                                                     embedder: CountingEmbedder) -> None:
    index = tmp_path / "index"
    summary = build(small_kb, index, embedder)
    assert (summary.articles, summary.reembedded, summary.removed) == (4, 4, 0)
    assert summary.chunks == len(embedder.texts) == summary.embedded_chunks
    assert summary.chunks_per_s > 0
    assert store.current_version(index) == summary.version
    manifest = store.Manifest.read(store.version_path(index, summary.version))
    assert manifest.chunks == summary.chunks and manifest.model == embedder.name


def test_unchanged_kb_is_a_no_op(small_kb: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    first = build(small_kb, index, embedder)
    again = build(small_kb, index, embedder)
    assert embedder.texts == []
    assert again.changed is False and again.version == first.version
    assert (again.reembedded, again.removed, again.chunks) == (0, 0, first.chunks)


def test_editing_one_article_reembeds_exactly_that_one(small_kb: Path, tmp_path: Path,
                                                       embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    build(small_kb, index, embedder)
    write_article(small_kb, "mobile-offline", "Use the mobile app offline", """
        The apps keep projects available offline for 30 days. Tap the cloud icon to force a sync.
        """, questions=("does the app work without internet",))
    summary = build(small_kb, index, embedder)
    assert summary.reembedded == 1 and summary.removed == 0
    assert all("mobile" in t.lower() or "offline" in t.lower() or "internet" in t.lower()
               or "cloud" in t.lower() for t in embedder.texts)
    retriever = Retriever(index, embedder)
    hit = retriever.search("how do I force a sync with the cloud icon", "public", 1)[0]
    assert hit.article_id == "mobile-offline" and "cloud icon" in hit.passage


def test_deleting_an_article_removes_it_from_results(small_kb: Path, tmp_path: Path,
                                                     embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    build(small_kb, index, embedder)
    retriever = Retriever(index, embedder)
    assert retriever.search("refund my annual plan", "public", 1)[0].article_id == "refund-policy"
    (small_kb / "refund-policy.md").unlink()
    summary = build(small_kb, index, embedder)
    assert (summary.removed, summary.reembedded, summary.articles) == (1, 0, 3)
    hits = retriever.search("refund my annual plan", "public", 10)
    assert "refund-policy" not in [h.article_id for h in hits]


def test_full_rebuild_and_model_change_reembed_everything(small_kb: Path, tmp_path: Path,
                                                          embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    build(small_kb, index, embedder)
    assert build(small_kb, index, embedder, full=True).reembedded == 4
    assert build(small_kb, index, embedder, chunk_max_chars=300).reembedded == 4


def test_interrupted_run_leaves_the_previous_version_serving(small_kb: Path, tmp_path: Path,
                                                             embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    first = build(small_kb, index, embedder)
    write_article(small_kb, "new-article", "Export your data", "Export projects as CSV or JSON.")
    embedder.fail_after = 0
    with pytest.raises(KeyboardInterrupt):
        build(small_kb, index, embedder)
    assert store.current_version(index) == first.version
    assert not list(store.versions_dir(index).glob(".tmp-*"))
    embedder.fail_after = None
    hits = Retriever(index, embedder).search("export data as CSV", "public", 5)
    assert "new-article" not in [h.article_id for h in hits]
    assert build(small_kb, index, embedder).reembedded == 1


def test_old_versions_are_pruned(small_kb: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    for i in range(4):
        write_article(small_kb, "counter", f"Counter {i}", f"Revision {i} of this article.")
        last = build(small_kb, index, embedder, keep_versions=2)
    names = sorted(p.name for p in store.versions_dir(index).iterdir())
    assert len(names) == 2 and last.version in names


def test_invalid_article_stops_the_run_and_publishes_nothing(small_kb: Path, tmp_path: Path,
                                                             embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    (small_kb / "broken.md").write_text("---\ntitle: Broken\naudience: everyone\n---\nBody\n")
    with pytest.raises(ArticleError, match=r"broken\.md:3: unknown audience"):
        build(small_kb, index, embedder)
    assert store.current_version(index) is None
    summary = build(small_kb, index, embedder, skip_invalid=True)
    assert summary.articles == 4
    assert len(summary.skipped) == 1 and "broken.md:3" in summary.skipped[0]


def test_one_writer_at_a_time(small_kb: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    with store.writer_lock(index), pytest.raises(IndexLocked, match="another reindex"):
        build(small_kb, index, embedder)


def test_an_article_classifier_is_trained_and_respects_the_audience(
    small_kb: Path, tmp_path: Path, embedder: CountingEmbedder
) -> None:
    from indexer.classifier import ArticleClassifier

    index = tmp_path / "index"
    summary = build(small_kb, index, embedder)
    model = ArticleClassifier.load(store.version_path(index, summary.version))
    assert model is not None and set(model.classes) == {
        "reset-password", "refund-policy", "mobile-offline", "refund-exceptions"}
    retriever = Retriever(index, embedder)
    public = retriever.search("customer wants refund after 14 days", "public", 10)
    assert "refund-exceptions" not in [h.article_id for h in public]
    assert all(h.confidence is not None and 0 <= h.confidence <= 1 for h in public)
    internal = retriever.search("customer wants refund after 14 days", "internal", 1)[0]
    assert internal.article_id == "refund-exceptions" and internal.confidence > 0.3
    baseline = Retriever(index, embedder, ranking="retrieval").search("refund", "public", 3)
    assert all(h.confidence is None for h in baseline)


def test_the_classifier_learns_the_words_an_article_is_asked_with() -> None:
    """TF-IDF features beside the embedding: a code word the embedding cannot tell apart
    (identical vectors here) still decides the article."""
    import numpy as np

    from indexer import classifier

    same = np.ones((6, 4), dtype=np.float32) / 2
    texts = ["error TL-423 shown", "got TL-423", "TL-423 again",
             "error TL-429 shown", "got TL-429", "TL-429 again"]
    labels = ["locked"] * 3 + ["rate-limit"] * 3
    model = classifier.train(same, texts, labels)
    assert model is not None and len(model.terms) > 0
    probs = model.probabilities(same[0], "what does 429 mean")
    assert model.classes[int(np.argmax(probs))] == "rate-limit" and probs.max() > 0.6
    assert classifier.train(same[:3], texts[:3], ["one"] * 3) is None  # nothing to learn


def test_an_index_with_an_older_classifier_is_rebuilt(small_kb: Path, tmp_path: Path,
                                                      embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from indexer import classifier

    index = tmp_path / "index"
    first = build(small_kb, index, embedder)
    assert build(small_kb, index, embedder).changed is False
    monkeypatch.setattr(classifier, "FORMAT", classifier.FORMAT + 1)
    again = build(small_kb, index, embedder)
    assert again.changed and again.version != first.version


def test_a_body_edit_reuses_the_classifier_and_a_question_edit_retrains_it(
    small_kb: Path, tmp_path: Path, embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from indexer import classifier

    index = tmp_path / "index"
    build(small_kb, index, embedder)
    trained: list[int] = []
    original = classifier.train
    monkeypatch.setattr(classifier, "train",
                        lambda *a, **kw: trained.append(1) or original(*a, **kw))
    article = small_kb / "reset-password.md"
    article.write_text(article.read_text() + "\n## Still stuck?\nWrite to support.\n")
    body_edit = build(small_kb, index, embedder)
    assert body_edit.changed and trained == []  # same titles and questions: reused
    loaded = classifier.ArticleClassifier.load(store.version_path(index, body_edit.version))
    assert loaded is not None and "reset-password" in loaded.classes
    article.write_text(article.read_text().replace(
        "questions:\n", "questions:\n  - my password stopped working\n", 1))
    build(small_kb, index, embedder)
    assert trained == [1, 1]  # the full classifier and the public one (the KB has internal)


def test_article_terms_follow_edits_and_are_rewritten_for_older_versions(  # type: ignore[no-untyped-def]
        small_kb: Path, tmp_path: Path, embedder) -> None:
    import sqlite3

    index = tmp_path / "index"
    first = build(small_kb, index, embedder)

    def terms_of(version: str | None) -> dict[str, set[str]]:
        conn = sqlite3.connect(store.version_path(index, version or "") / "meta.sqlite")
        try:
            out: dict[str, set[str]] = {}
            for term, article_id in conn.execute("SELECT term, article_id FROM article_terms"):
                out.setdefault(article_id, set()).add(term)
            return out
        finally:
            conn.close()

    before = terms_of(first.version)
    assert set(before) == {"reset-password", "refund-policy", "mobile-offline",
                           "refund-exceptions"}
    assert {"refund", "annual", "approv"} <= before["refund-policy"] | before["refund-exceptions"]
    write_article(small_kb, "mobile-offline", "Use the mobile app offline", """
        Tap the cloud icon to force a sync.
        """)
    second = build(small_kb, index, embedder)
    after = terms_of(second.version)
    assert "cloud" in after["mobile-offline"] and "android" not in after["mobile-offline"]
    assert after["refund-policy"] == before["refund-policy"]

    # A version written before article terms existed: the next build writes them for all.
    conn = sqlite3.connect(store.version_path(index, second.version or "") / "meta.sqlite")
    conn.execute("DROP TABLE article_terms")
    conn.execute("PRAGMA user_version = 0")
    conn.commit()
    conn.close()
    assert Retriever(index, embedder).current().has_terms is False
    assert Retriever(index, embedder).search("cloud icon", "public", 1)[0].coverage is None
    write_article(small_kb, "reset-password", "Reset your password", "Use Forgot password.")
    third = build(small_kb, index, embedder)
    assert set(terms_of(third.version)) == set(after)
    assert terms_of(third.version)["refund-policy"] == before["refund-policy"]
