"""Delta versions: above ``delta_above`` articles an edit publishes the changed articles over a
full base version. Real model, real FAISS, real SQLite FTS5; the threshold is lowered so a
30-article part of the sample KB (three internal articles) exercises it."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer import Retriever, articles, build_index, classifier, load_articles, store
from indexer.retriever import DeltaVersion
from tests.conftest import SAMPLE_KB, CountingEmbedder, write_article

INTERNAL = ("refund-exceptions", "handling-chargebacks", "known-issue-csv-import-bom")
CHOSEN = (*INTERNAL, "reset-password", "cancel-subscription")
DELTA = {"delta_above": 5, "delta_share": 0.5}
NO_DELTA = {"delta_above": 10**9}


def _subset(folder: Path) -> Path:
    folder.mkdir(parents=True)
    paths = sorted(SAMPLE_KB.glob("*.md"))
    chosen = [p for p in paths if p.stem in CHOSEN] + [
        p for p in paths if p.stem not in CHOSEN][:25]
    for path in chosen:
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module", params=["logistic", "prototypes"])
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         real_embedder) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """A full version of the 30 articles; "prototypes": with the prototype classifier (its
    threshold lowered below 30 articles for the module)."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "prototypes":
            patch.setattr(classifier, "MAX_CLASSES", 10)
        folder = tmp_path_factory.mktemp(f"segments-{request.param}")
        build_index(_subset(folder / "kb"), folder / "index", real_embedder, **DELTA)
        yield request.param, folder


@pytest.fixture
def site(base: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the base's KB and index for one test."""
    kind, folder = base
    if kind == "prototypes":
        monkeypatch.setattr(classifier, "MAX_CLASSES", 10)
    shutil.copytree(folder / "kb", tmp_path / "kb")
    shutil.copytree(folder / "index", tmp_path / "index")
    return tmp_path


def _edit(kb: Path) -> None:
    """An edit, an addition, a deletion and an internal article's edit."""
    path = kb / "reset-password.md"
    path.write_text(path.read_text() + "\n## Zebracorn tokens\nA zebracorn token resets the "
                    "password of an account without email access.\n")
    write_article(kb, "export-gantt", "Export a Gantt chart", """
        Open the timeline view, choose **Export**, and pick PNG or PDF for the Gantt chart.
        """, questions=("how do I export the gantt chart", "download the timeline as pdf"))
    (kb / "cancel-subscription.md").unlink()
    path = kb / "refund-exceptions.md"
    path.write_text(path.read_text() + "\n## Quokka approvals\nQuokka approvals need a lead.\n")


def _queries(kb: Path) -> list[str]:
    articles = load_articles(kb).articles
    return [q for a in articles[::2] for q in a.questions[:1]] + [
        "zebracorn token", "export the gantt chart as pdf", "quokka approvals",
        "cancel my subscription"]


def _both(site: Path, embedder: CountingEmbedder) -> tuple[Retriever, Retriever]:
    """The edits published as a delta in ``site`` and as a full version in a copy of it."""
    other = site / "full"
    other.mkdir()
    shutil.copytree(site / "index", other / "index")
    _edit(site / "kb")
    delta = build_index(site / "kb", site / "index", embedder, **DELTA)
    full = build_index(site / "kb", other / "index", embedder, **NO_DELTA)
    assert store.Manifest.read(store.version_path(site / "index", delta.version)).base
    assert store.Manifest.read(store.version_path(other / "index", full.version)).base is None
    assert (delta.articles, delta.chunks, delta.removed) == (full.articles, full.chunks, 1)
    return Retriever(site / "index", embedder), Retriever(other / "index", embedder)


def test_a_delta_serves_edits_additions_deletions_and_internal_edits(
        site: Path, embedder: CountingEmbedder) -> None:
    delta, full = _both(site, embedder)
    assert isinstance(delta.current(), DeltaVersion)
    for retriever in (delta, full):  # words only the edits have: lexical search finds them
        retriever.mode = "lexical"
        retriever.ranking = "retrieval"
        hit = retriever.search("zebracorn token", "public", 3)[0]
        assert hit.article_id == "reset-password" and "zebracorn" in hit.passage
        hit = retriever.search("quokka approvals", "internal", 3)[0]
        assert hit.article_id == "refund-exceptions" and hit.audience == "internal"
    delta.mode, delta.ranking = "hybrid", "fused"
    assert delta.search("export the gantt chart as pdf", "public", 1)[0].article_id == (
        "export-gantt")
    for audience in ("public", "internal"):
        for mode in ("dense", "lexical", "hybrid"):
            delta.mode = mode
            ids = [h.article_id for h in delta.search("cancel my subscription", audience, 10)]
            assert "cancel-subscription" not in ids
            public_ids = [h.article_id for h in delta.search("quokka approvals", "public", 10)]
            assert "refund-exceptions" not in public_ids
    assert "cancel-subscription" not in delta.current().articles
    assert set(delta.current().articles) == set(full.current().articles)
    assert delta.current().article_hit("cancel-subscription") is None


def test_a_delta_corrects_typos_as_the_full_version_does(
        site: Path, embedder: CountingEmbedder) -> None:
    """Spelling correction (``terms.corrections``) reaches a delta's coverage and BM25: a typo
    of a base word and a typo of a word only the delta's edit added."""
    delta, full = _both(site, embedder)
    version = delta.current()
    assert isinstance(version, DeltaVersion)
    ids = list(version.articles)
    for audience in ("public", "internal"):
        typed = version.coverage("how do I reset my pasword", ids, audience)
        assert typed == version.coverage("how do I reset my password", ids, audience)
        assert typed == full.current().coverage("how do I reset my pasword", ids, audience)
        assert typed["reset-password"] > 0
    assert version.corrected("zebracorm tokens", "public") == "zebracorn tokens"
    for retriever in (delta, full):
        retriever.mode, retriever.ranking = "lexical", "retrieval"
        hit = retriever.search("zebracorm token", "public", 3)[0]
        assert hit.article_id == "reset-password" and "zebracorn" in hit.passage


def test_a_delta_ranks_as_the_full_version_does(site: Path, embedder: CountingEmbedder) -> None:
    """Dense scores and coverage are exact; BM25 of the base's rows keeps the base's
    statistics (tombstoned rows still counted) and the classifier's delta rows an IDF over
    both parts, so the hybrid order may differ where two articles nearly tie."""
    delta, full = _both(site, embedder)
    queries = _queries(site / "kb")
    same_top, total = 0, 0
    for audience in ("public", "internal"):
        for query in queries:
            delta.mode = full.mode = "dense"
            delta.ranking = full.ranking = "retrieval"
            a, b = delta.search(query, audience, 5), full.search(query, audience, 5)
            assert [(h.article_id, h.score, h.section_score, h.coverage) for h in a] == [
                (h.article_id, h.score, h.section_score, h.coverage) for h in b]
            delta.mode, full.mode = "hybrid", "hybrid"
            delta.ranking = full.ranking = "fused"
            a, b = delta.search(query, audience, 5), full.search(query, audience, 5)
            same_top += a[0].article_id == b[0].article_id
            total += 1
    assert same_top / total >= 0.97, f"{same_top} of {total} top hits agree"


def test_bm25_of_a_deltas_rows_is_fts5s_over_base_and_delta(
        site: Path, embedder: CountingEmbedder) -> None:
    other = site / "full"
    other.mkdir()
    shutil.copytree(site / "index", other / "index")
    write_article(site / "kb", "export-gantt", "Export a Gantt chart", """
        Open the timeline view, choose **Export**, and pick PNG or PDF for the Gantt chart.
        """, questions=("how do I export the gantt chart",))
    build_index(site / "kb", site / "index", embedder, **DELTA)
    build_index(site / "kb", other / "index", embedder, **NO_DELTA)
    delta, full = Retriever(site / "index", embedder), Retriever(other / "index", embedder)
    version = delta.current()
    assert isinstance(version, DeltaVersion) and not version.tombstones
    for query in ("export the gantt chart as pdf", "timeline view export png", "password"):
        for audience in ("public", "internal"):
            got = dict(delta.current().lexical_search(query, audience, 50))
            want = dict(full.current().lexical_search(query, audience, 50))
            mine = {r: s for r, s in got.items() if r in version.own.entries}
            assert mine or query == "password"
            # the same rowids in both (allocated above the base's), the same scores: the
            # base's rows keep the base's statistics (without the delta's rows) — the
            # documented difference
            assert mine == pytest.approx({r: want[r] for r in mine}, rel=1e-9)


def test_public_search_on_an_approximate_base_with_tombstones(
        tmp_path: Path, embedder: CountingEmbedder) -> None:
    """The base is IVF; a public article turned internal is hidden from public searches by
    the selector inside FAISS (audience AND not tombstoned), in every mode."""
    kb = _subset(tmp_path / "kb")
    build_index(kb, tmp_path / "index", embedder, approximate_above=100, **DELTA)
    path = kb / "reset-password.md"
    path.write_text(path.read_text().replace("audience: public", "audience: internal"))
    build_index(kb, tmp_path / "index", embedder, approximate_above=100, **DELTA)
    retriever = Retriever(tmp_path / "index", embedder)
    version = retriever.current()
    assert isinstance(version, DeltaVersion) and version.dense_kind.startswith("ivf")
    assert version.tombstones == {"reset-password"}
    for mode in ("dense", "lexical", "hybrid"):
        retriever.mode = mode
        public = [h.article_id for h in retriever.search("I forgot my password", "public", 10)]
        assert "reset-password" not in public
        internal = retriever.search("I forgot my password", "internal", 10)
        assert internal[0].article_id == "reset-password"
        assert internal[0].audience == "internal"
    hits = version.dense_search(embedder.embed(["I forgot my password"])[0], "public", 400)
    assert all(version.entries[r].audience == "public" for r, _ in hits)
    assert not {r for r, _ in hits} & version.hidden_rows


def test_search_never_fails_while_deltas_are_published(site: Path,
                                                       embedder: CountingEmbedder) -> None:
    retriever = Retriever(site / "index", embedder)
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                assert retriever.search("I forgot my password", "public", 3)
            except BaseException as exc:  # any failure fails the test
                errors.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for i in range(3):
            write_article(site / "kb", f"drill-{i}", f"Fire drill {i}",
                          f"The fire drill number {i} starts at noon.")
            build_index(site / "kb", site / "index", embedder, **DELTA)
            retriever.search("fire drill", "public", 3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    assert retriever.search("fire drill number 2", "public", 1)[0].article_id == "drill-2"


def test_the_service_reuses_its_base_and_a_cold_replica_loads_base_and_delta(
        site: Path, embedder: CountingEmbedder) -> None:
    retriever = Retriever(site / "index", embedder)
    base_version = retriever.current()
    _edit(site / "kb")
    build_index(site / "kb", site / "index", embedder, **DELTA)
    warm = retriever.current()
    assert isinstance(warm, DeltaVersion) and warm.base is base_version  # not read again
    write_article(site / "kb", "second", "Second edit", "A second edit about kiwifruit.")
    build_index(site / "kb", site / "index", embedder, **DELTA)
    again = retriever.current()
    assert isinstance(again, DeltaVersion) and again.base is base_version
    assert {"export-gantt", "second"} <= set(again.own.articles)  # one delta, over the base
    cold = Retriever(site / "index", embedder)
    assert cold.current().name == again.name and cold.current().base is not base_version
    for query in [*_queries(site / "kb")[::2], "kiwifruit"]:
        for audience in ("public", "internal"):
            assert [h.to_dict() for h in cold.search(query, audience, 5)] == [
                h.to_dict() for h in retriever.search(query, audience, 5)]


def test_compaction_prune_and_full(site: Path, embedder: CountingEmbedder) -> None:
    index = site / "index"
    base_name = store.current_version(index)
    for i in range(2):
        write_article(site / "kb", f"note-{i}", f"Note {i}", f"Release note {i} for owls.")
        summary = build_index(site / "kb", index, embedder, keep_versions=1, **DELTA)
        assert store.base_of(store.version_path(index, summary.version)) == base_name
        # keep_versions=1 keeps the published delta and the base it needs
        assert sorted(p.name for p in store.versions_dir(index).iterdir()) == sorted(
            [base_name, summary.version])
        assert Retriever(index, embedder).search(f"release note {i}", "public", 1)[
            0].article_id == f"note-{i}"
    # past delta_share of the base's articles: a full version, the delta's vectors reused
    embedder.texts.clear()
    for i in range(2, 16):
        write_article(site / "kb", f"note-{i}", f"Note {i}", f"Release note {i} for owls.")
    summary = build_index(site / "kb", index, embedder, keep_versions=1, **DELTA)
    assert store.base_of(store.version_path(index, summary.version)) is None
    assert not any("Release note 0" in t or "Release note 1 " in t for t in embedder.texts)
    assert summary.reembedded == 14
    assert [p.name for p in store.versions_dir(index).iterdir()] == [summary.version]
    assert Retriever(index, embedder).search("release note 1 for owls", "public", 1)[
        0].article_id == "note-1"
    write_article(site / "kb", "note-x", "Note x", "Release note x for owls.")
    summary = build_index(site / "kb", index, embedder, full=True, **DELTA)
    assert store.base_of(store.version_path(index, summary.version)) is None


def test_the_classifier_of_a_delta(site: Path, base: tuple[str, Path],
                                   embedder: CountingEmbedder) -> None:
    """New questions are learnt, deleted articles never predicted, internal ones never for
    public searches; over prototypes only the delta's articles are stored in the delta."""
    delta, full = _both(site, embedder)
    version = delta.current()
    for audience in ("public", "internal"):
        model, allowed = version.classifier_for(audience)
        assert model is not None
        vector = embedder.embed(["download the timeline as pdf"])[0]
        probs = model.probabilities(vector, "download the timeline as pdf", allowed)
        order = [str(model.classes[i]) for i in np.argsort(-probs)]
        assert order[0] == "export-gantt"
        given = {str(c) for c, p in zip(model.classes, probs, strict=True) if p > 0}
        assert "cancel-subscription" not in given
        if audience == "public":
            assert not given & set(INTERNAL)
        full_model, full_allowed = full.current().classifier_for(audience)
        assert full_model is not None
        want = full_model.probabilities(vector, "download the timeline as pdf", full_allowed)
        assert order[:3] == [str(full_model.classes[i]) for i in np.argsort(-want)[:3]]
    folder = store.version_path(site / "index", version.name)
    if base[0] == "prototypes":
        assert not (folder / classifier.FILE).exists()
        part = classifier._stored_prototypes(folder / classifier.DELTA_FILE)
        assert part is not None and set(map(str, part.classes)) == {
            "reset-password", "export-gantt", "refund-exceptions"}
        public = classifier._stored_prototypes(folder / classifier.PUBLIC_DELTA_FILE)
        assert public is not None and "refund-exceptions" not in set(map(str, public.classes))
    else:
        assert (folder / classifier.FILE).exists()  # the whole (small) logistic regression


def test_a_change_list_publishes_what_a_walk_publishes(
        site: Path, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """``build_index(changed=...)`` (``frontline index --changed``): the edited, added,
    deleted and renamed files named, no walk; the same delta as a walk of the folder."""
    monkeypatch.setattr(articles, "RACY_S", 0.0)  # the copied files are trusted at once
    kb = site / "kb"
    assert not build_index(kb, site / "index", embedder, **DELTA).changed  # warms the cache
    time.sleep(0.05)
    other = site / "walked"
    other.mkdir()
    shutil.copytree(site / "index", other / "index")  # the same cache, under the same key
    _edit(kb)
    moved = sorted(p for p in kb.glob("*.md") if p.stem not in CHOSEN)[0]
    (kb / "renamed").mkdir()
    moved.rename(kb / "renamed" / moved.name)
    named = [kb / "reset-password.md", kb / "export-gantt.md", kb / "cancel-subscription.md",
             kb / "refund-exceptions.md", moved, kb / "renamed" / moved.name]
    real = articles._article_entries
    walks: list[Path] = []
    monkeypatch.setattr(articles, "_article_entries", lambda d: walks.append(d) or real(d))
    listed = build_index(kb, site / "index", embedder, changed=named, **DELTA)
    assert walks == []
    walked = build_index(kb, other / "index", embedder, **DELTA)
    assert walks == [kb]
    manifests = [store.Manifest.read(store.version_path(folder / "index", str(summary.version)))
                 for folder, summary in ((site, listed), (other, walked))]
    assert manifests[0].signature == manifests[1].signature
    assert manifests[0].base is not None and manifests[1].base is not None
    assert (listed.articles, listed.chunks, listed.reembedded, listed.removed) == (
        walked.articles, walked.chunks, walked.reembedded, walked.removed)
    retriever = Retriever(site / "index", embedder, mode="lexical", ranking="retrieval")
    assert retriever.search("zebracorn token", "public", 3)[0].article_id == "reset-password"
    assert "cancel-subscription" not in retriever.current().articles
    # a change list that names nothing new publishes nothing
    assert not build_index(kb, site / "index", embedder, changed=[], **DELTA).changed
