"""The approximate (IVF) dense index: chosen above a size, audience-safe inside the search,
in agreement with exact search, edited in place by an incremental reindex."""

from __future__ import annotations

import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexer import Retriever, build_index, dense, load_articles
from tests.conftest import SAMPLE_KB, write_article

# An internal runbook whose every entry is the query itself: the nearest vectors to it.
SECRET = "How do I reset a customer's password from the admin console"


@pytest.fixture(scope="module")
def approximate_index(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("approximate")
    kb = root / "kb"
    shutil.copytree(SAMPLE_KB, kb)
    write_article(kb, "admin-password-reset", SECRET, f"## {SECRET}\n{SECRET}.\n",
                  audience="internal", questions=(SECRET, SECRET.lower()))
    build_index(kb, root / "index", real_embedder, approximate_above=100)
    return root


def test_above_the_size_the_index_is_approximate(approximate_index: Path,
                                                 real_embedder) -> None:  # type: ignore[no-untyped-def]
    version = Retriever(approximate_index / "index", real_embedder).current()
    assert version.dense_kind.startswith("ivf") and dense.is_approximate(version.dense)
    assert version.dense.ntotal > 100


def test_public_never_sees_internal_vectors_even_when_they_are_the_nearest(
    approximate_index: Path, real_embedder
) -> None:  # type: ignore[no-untyped-def]
    version = Retriever(approximate_index / "index", real_embedder).current()
    vector = real_embedder.embed([SECRET])[0]
    reps = version.dense_search(vector, "internal", 5)
    assert version.entries[reps[0][0]].article_id == "admin-password-reset"  # the nearest
    everything = version.dense_search(vector, "public", version.dense.ntotal)
    assert everything and all(version.entries[r].audience == "public" for r, _ in everything)
    for mode in ("dense", "hybrid"):
        hits = Retriever(approximate_index / "index", real_embedder, mode=mode).search(
            SECRET, "public", 10)
        assert hits and all(h.audience == "public" for h in hits)


def test_approximate_search_agrees_with_exact_search(approximate_index: Path,
                                                     real_embedder) -> None:  # type: ignore[no-untyped-def]
    version = Retriever(approximate_index / "index", real_embedder).current()
    ids, vectors = dense.contents(version.dense)
    exact = dense.exact(vectors.shape[1], vectors, ids)
    questions = [q for a in load_articles(SAMPLE_KB).articles for q in a.questions[:1]][:40]
    queries = real_embedder.embed(questions)
    best, truth = exact.search(queries, 10)
    ivf = faiss.downcast_index(version.dense)
    everywhere = dense.search_parameters(version.dense, None, nprobe=ivf.nlist)
    scores, found = version.dense.search(queries, 10, params=everywhere)
    assert np.allclose(scores, best, atol=1e-5)  # every list probed: the exact answer
    assert np.mean(found == truth) > 0.95  # (equal scores may come in another order)
    _, default = version.dense.search(queries, 10, params=dense.search_parameters(
        version.dense, None))
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(default, truth, strict=True)])
    assert recall >= 0.95


def test_an_incremental_reindex_edits_the_approximate_index_in_place(
    approximate_index: Path, tmp_path: Path, real_embedder
) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(approximate_index, tmp_path / "copy")
    kb, index = tmp_path / "copy" / "kb", tmp_path / "copy" / "index"
    (kb / "admin-password-reset.md").unlink()
    write_article(kb, "zebra-drill", "Quarterly zebracorn drill",
                  "## Drill\nThe zebracorn escalation drill runs every quarter.\n")
    summary = build_index(kb, index, real_embedder, approximate_above=100)
    assert summary.reembedded == 1 and summary.removed == 1
    retriever = Retriever(index, real_embedder, mode="dense")
    version = retriever.current()
    assert dense.is_approximate(version.dense)
    assert retriever.search("zebracorn escalation drill", "public", 1)[0].article_id == (
        "zebra-drill")
    assert "admin-password-reset" not in {e.article_id for e in version.entries.values()}
    # Grown past the size: an exact index becomes approximate; shrunk well below: exact again.
    ids, vectors = dense.contents(version.dense)
    small = dense.fit(dense.exact(version.dense.d, vectors, ids), 100)
    assert dense.is_approximate(small)
    assert not dense.is_approximate(dense.fit(small, 10_000))
