"""Retrieval with the real model: right article, audience rule, hot switch to new versions."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from frontline.knowledge import Mix, RankedSearch
from indexer import IndexUnavailable, Retriever, build_index, load_articles
from tests.conftest import CountingEmbedder, write_article


@pytest.fixture(scope="module")
def sample_retriever(sample_index: Path, real_embedder) -> Retriever:  # type: ignore[no-untyped-def]
    return Retriever(sample_index / "index", real_embedder)


def test_internal_articles_never_reach_the_public(sample_index: Path,
                                                  sample_retriever: Retriever) -> None:
    articles = load_articles(sample_index / "kb").articles
    internal = {a.id for a in articles if a.audience == "internal"}
    assert internal
    for article in articles:
        if article.audience != "internal":
            continue
        for query in (article.title, *article.questions, article.body[:300]):
            hits = sample_retriever.search(query, "public", 50)
            assert hits, query
            assert not internal & {h.article_id for h in hits}, query
            assert all(h.audience == "public" for h in hits)


def test_reps_see_internal_articles(sample_index: Path, sample_retriever: Retriever) -> None:
    articles = load_articles(sample_index / "kb").articles
    for article in (a for a in articles if a.audience == "internal"):
        top = [h.article_id for h in sample_retriever.search(article.title, "internal", 3)]
        assert article.id in top, (article.title, top)


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
@pytest.mark.parametrize("ranking", ["retrieval", "fused", "classifier"])
def test_every_mode_respects_the_audience(sample_index: Path, real_embedder, mode: str,  # type: ignore[no-untyped-def]
                                          ranking: str) -> None:
    retriever = Retriever(sample_index / "index", real_embedder, mode=mode, ranking=ranking)  # type: ignore[arg-type]
    hits = retriever.search("refund exception approval escalation backstage", "public", 50)
    assert hits and all(h.audience == "public" for h in hits)


def test_classifier_ranking_orders_by_its_probability(sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    alone = Retriever(sample_index / "index", real_embedder, ranking="classifier")
    hits = alone.search("my card was declined when paying for the plan", "public", 5)
    confidences = [h.confidence for h in hits]
    assert all(c is not None for c in confidences)
    assert confidences == sorted(confidences, reverse=True)  # type: ignore[type-var]
    with pytest.raises(ValueError, match="unknown ranking"):
        Retriever(sample_index / "index", real_embedder, ranking="magic")  # type: ignore[arg-type]
    blended = RankedSearch(alone, Mix(blend=0.5))
    hit = blended.search("my card was declined when paying for the plan", "public", 1)[0]
    assert hit.confidence == hits[0].confidence
    assert hit.certainty == pytest.approx(0.5 * hit.confidence + 0.5 * max(hit.score, 0.0))  # type: ignore[operator]


def test_hits_carry_title_url_heading_snippet_and_score(sample_retriever: Retriever) -> None:
    hit = sample_retriever.search("I forgot my password", "public", 3)[0]
    assert hit.title and hit.url and hit.url.startswith("https://")
    assert hit.snippet and len(hit.snippet) <= 301 and hit.passage.startswith(hit.snippet[:40])
    assert 0.0 < hit.score <= 1.0
    assert hit.matched in {"title", "question", "section"}


def test_unknown_audience_and_no_index_are_errors(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(tmp_path / "none", real_embedder)
    with pytest.raises(IndexUnavailable, match="frontline index"):
        retriever.search("hello", "public", 3)
    with pytest.raises(ValueError, match="unknown audience"):
        retriever.search("hello", "everyone", 3)  # type: ignore[arg-type]


def test_search_loop_during_reindex_sees_no_errors_and_switches(
    small_kb: Path, tmp_path: Path, embedder: CountingEmbedder
) -> None:
    index = tmp_path / "index"
    build_index(small_kb, index, embedder)
    retriever = Retriever(index, embedder)
    errors: list[BaseException] = []
    seen_versions: set[str] = set()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                hits = retriever.search("I forgot my password", "public", 3)
                assert hits[0].article_id == "reset-password"
                seen_versions.add(retriever.current().name)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for t in threads:
        t.start()
    last = None
    try:
        for i in range(4):
            write_article(small_kb, f"extra-{i}", f"Extra topic {i}", f"Body of extra topic {i}.")
            last = build_index(small_kb, index, embedder, keep_versions=2)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert last is not None and retriever.current().name == last.version
    assert len(seen_versions) >= 2


@pytest.mark.parametrize("ranking", ["fused", "classifier"])
def test_with_the_classifier_the_shortlist_is_ordered_by_certainty(  # type: ignore[no-untyped-def]
        sample_index: Path, real_embedder, ranking: str) -> None:
    retriever = Retriever(sample_index / "index", real_embedder, ranking=ranking)  # type: ignore[arg-type]
    search = RankedSearch(retriever, Mix(blend=0.5, coverage_weight=2.0))
    hits = search.search("my card was declined when paying for the plan", "public", 5)
    assert [h.certainty for h in hits] == sorted((h.certainty for h in hits), reverse=True)
    assert all(h.coverage is not None and 0.0 <= h.coverage <= 1.0 for h in hits)
    best = hits[0]
    assert best.certainty == pytest.approx(
        (0.5 * best.confidence + 0.5 * max(best.score, 0.0)) * best.coverage ** 2)  # type: ignore[operator]


def test_retrieval_ranking_is_not_reordered(sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    plain = Retriever(sample_index / "index", real_embedder, ranking="retrieval")
    weighted = RankedSearch(plain, Mix(coverage_weight=2.0))
    query = "which plans include the audit log and how long are entries kept"
    assert [h.article_id for h in plain.search(query, "public", 5)] == [
        h.article_id for h in weighted.search(query, "public", 5)]


def test_coverage_weighs_the_questions_rare_words(small_kb: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  embedder) -> None:
    build_index(small_kb, tmp_path / "index", embedder)
    retriever = Retriever(tmp_path / "index", embedder, ranking="retrieval")
    version = retriever.current()
    ids = ["refund-policy", "reset-password", "mobile-offline"]
    # "refunds" meets "refunded" (stemmed); "annual" is in the refund article only.
    cover = version.coverage("annual plans refunds", ids)
    assert cover["refund-policy"] == pytest.approx(1.0)
    assert cover["refund-policy"] > cover["mobile-offline"] and cover["reset-password"] < 0.5
    # A word no article uses weighs the most: it pulls every article's coverage down.
    unknown = version.coverage("annual plans refunds in bitcoin", ids)
    assert unknown["refund-policy"] < 0.75
    assert version.coverage("", ids) == dict.fromkeys(ids, 1.0)
    # Function words say nothing about the topic, however rare they are in the articles.
    assert version.coverage("why cannot I get my annual plans refunds?", ids) == cover
    many = " ".join(f"word{i}" for i in range(3000))  # more terms than SQLite parameters
    assert 0.0 <= version.coverage(many, ids)["refund-policy"] <= 1.0
    hit = retriever.search("annual plans refunds in bitcoin", "internal", 1)[0]
    assert hit.coverage == pytest.approx(unknown[hit.article_id], abs=1e-4)
    # A public search weighs words by the public articles alone (the KB has an internal one).
    public = version.coverage("annual plans refunds in bitcoin", ids, "public")
    hit = retriever.search("annual plans refunds in bitcoin", "public", 1)[0]
    assert hit.coverage == pytest.approx(public[hit.article_id], abs=1e-4)


def _publish_broken_version(index: Path) -> str:
    """A version folder that cannot be loaded, published through ``CURRENT``."""
    from indexer import store

    name = store.new_version_name(index)
    broken = store.version_path(index, name)
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text("{ not json")
    (index / store.CURRENT).write_text(name + "\n")
    return name


def test_a_failed_index_load_keeps_serving_and_logs_once(  # type: ignore[no-untyped-def]
        small_kb: Path, tmp_path: Path, embedder, caplog, monkeypatch) -> None:
    from indexer import retriever as retriever_module

    # The back-off outlasts the 50 searches however slow a loaded machine makes them.
    monkeypatch.setattr(retriever_module, "RETRY_FAILED_LOAD_S", 3600.0)
    index = tmp_path / "index"
    good = build_index(small_kb, index, embedder).version
    retriever = Retriever(index, embedder)
    assert retriever.current().name == good
    broken = _publish_broken_version(index)
    attempts = 0
    original = retriever_module.IndexVersion

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, folder: Path) -> None:
            nonlocal attempts
            attempts += 1
            super().__init__(folder)

    retriever_module.IndexVersion = Counting  # type: ignore[misc]
    try:
        with caplog.at_level("INFO", logger="indexer.retriever"):
            for _ in range(50):
                hits = retriever.search("I forgot my password", "public", 3)
                assert hits[0].article_id == "reset-password"
    finally:
        retriever_module.IndexVersion = original  # type: ignore[misc]
    assert retriever.current().name == good  # still the old version
    assert attempts == 1  # tried once, then backed off: not on every search
    failures = [r for r in caplog.records if broken in r.getMessage()]
    assert len(failures) == 1 and failures[0].levelname == "ERROR"
    assert failures[0].exc_info is None  # one line, no stack trace per search


def test_searches_do_not_wait_while_a_new_version_loads(  # type: ignore[no-untyped-def]
        small_kb: Path, tmp_path: Path, embedder) -> None:
    """The new version's load is held until the search has returned: a search that waited
    for the load would hold it past the 10 s the load waits, whatever the machine's speed."""
    from indexer import retriever as retriever_module

    index = tmp_path / "index"
    build_index(small_kb, index, embedder)
    retriever = Retriever(index, embedder)
    old = retriever.current().name
    write_article(small_kb, "extra", "Extra topic", "Body of the extra topic.")
    new = build_index(small_kb, index, embedder).version
    original = retriever_module.IndexVersion
    loading, searched = threading.Event(), threading.Event()
    held_to_the_end = []

    class Slow(original):  # type: ignore[misc, valid-type]
        def __init__(self, folder: Path) -> None:
            loading.set()
            held_to_the_end.append(not searched.wait(10))
            super().__init__(folder)

    retriever_module.IndexVersion = Slow  # type: ignore[misc]
    try:
        loader = threading.Thread(target=retriever.current)
        loader.start()
        assert loading.wait(5)
        hits = retriever.search("I forgot my password", "public", 3)
        served = retriever._version.name if retriever._version else None
        searched.set()
        loader.join()
    finally:
        retriever_module.IndexVersion = original  # type: ignore[misc]
    assert hits[0].article_id == "reset-password"
    assert served == old  # answered by the old version ...
    assert held_to_the_end == [False]  # ... while the new one was still loading
    assert retriever.current().name == new
