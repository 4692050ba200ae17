"""Every part of a search reads the corrected question: a typo of a KB word is embedded, fed
to the article classifier, searched by BM25 and weighed by coverage as that word
(``Retriever.search`` via ``IndexVersion.corrected``). A question with nothing to correct is
embedded exactly as typed. Real model, real FAISS, the sample KB; a delta version corrects as
the full version does."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer import Retriever, build_index
from indexer.retriever import DeltaVersion
from tests.conftest import CountingEmbedder, write_article
from tests.indexer.test_segments import DELTA, NO_DELTA, _subset

# Dev questions with typos (bench/data/sample_kb_questions.yml), as typed and corrected.
TYPED = [
    ("what are your suport hours on weekends", "public",
     "what are your support hours on weekends", "contact-support"),
    # embedded as typed, the classifier ranked invite-teammates first
    ("how do i invite a cleint to one project without paying for a seat", "public",
     "how do i invite a client to one project without paying for a seat", "guests"),
    # a typo of a function word ("wich") is dropped, as lexical search and coverage drop it
    ("can we choose wich regoin our workspace data is stored in", "public",
     "can we choose  region our workspace data is stored in", "data-residency"),
    # embedded as typed, enterprise-vip-handling came first
    ("which severty is it when one enterprise customer is completely blocked", "internal",
     "which severity is it when one enterprise customer is completely blocked",
     "escalation-matrix"),
]
UNCHANGED = [
    "I forgot my password",
    "How do I RESET my password?",  # case and punctuation kept
    "can I sync my tasks with todoist",  # no KB word near "todoist": it stays unknown
]


class Recorder(CountingEmbedder):
    """The real embedder, keeping every single text it embeds with its vector."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        super().__init__(inner)
        self.embedded: list[tuple[str, np.ndarray]] = []

    def embed(self, texts, *, progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        vectors = super().embed(texts, progress=progress)
        if len(texts) == 1:
            self.embedded.append((texts[0], vectors[0]))
        return vectors

    def last(self) -> tuple[str, np.ndarray]:
        return self.embedded[-1]


@pytest.fixture(scope="module")
def recorder(real_embedder) -> Recorder:  # type: ignore[no-untyped-def]
    return Recorder(real_embedder)


@pytest.fixture(scope="module")
def retriever(sample_index: Path, recorder: Recorder) -> Retriever:
    """The product's search: hybrid retrieval, ranking ``auto`` (the classifier alone on the
    sample KB)."""
    return Retriever(sample_index / "index", recorder, ranking="auto")


@pytest.mark.parametrize(("typed", "audience", "corrected", "expected"), TYPED)
def test_a_typo_is_searched_as_the_corrected_question(
        retriever: Retriever, recorder: Recorder, typed: str, audience: str, corrected: str,
        expected: str) -> None:
    version = retriever.current()
    assert version.corrected(typed, audience) == corrected  # type: ignore[arg-type]
    hits = retriever.search(typed, audience, 5)  # type: ignore[arg-type]
    text, vector = recorder.last()
    assert text == corrected  # what was embedded
    right = retriever.search(corrected, audience, 5)  # type: ignore[arg-type]
    assert np.array_equal(vector, recorder.last()[1])
    # every signal the same: cosine, BM25, the classifier's probability, coverage
    assert hits == right
    assert hits[0].article_id == expected


@pytest.mark.parametrize("query", UNCHANGED)
def test_a_question_with_nothing_to_correct_is_embedded_as_typed(
        retriever: Retriever, recorder: Recorder, real_embedder, query: str) -> None:  # type: ignore[no-untyped-def]
    version = retriever.current()
    assert version.corrected(query, "public") is query
    hits = retriever.search(query, "public", 5)
    text, vector = recorder.last()
    assert text == query
    alone = real_embedder.embed([query])[0]
    assert np.array_equal(vector, alone)
    # the same hits as the path that corrects inside lexical search and coverage
    assert hits == retriever.rank(version, query, alone, "public", 5)


def test_a_delta_version_searches_the_question_the_full_version_does(
        tmp_path: Path, recorder: Recorder) -> None:
    """An edit served as a delta over its base, and the same edit as a full version: each
    question is corrected (a typo of a base word, of a word only the edit added, and none) and
    embedded alike, with the same dense scores and coverage."""
    kb = _subset(tmp_path / "kb")
    build_index(kb, tmp_path / "index", recorder, **DELTA)
    shutil.copytree(tmp_path / "index", tmp_path / "full")
    path = kb / "reset-password.md"
    path.write_text(path.read_text() + "\n## Zebracorn tokens\nA zebracorn token resets the "
                    "password of an account without email access.\n")
    write_article(kb, "export-gantt", "Export a Gantt chart", """
        Open the timeline view, choose **Export**, and pick PNG or PDF for the Gantt chart.
        """, questions=("how do I export the gantt chart",))
    build_index(kb, tmp_path / "index", recorder, **DELTA)
    build_index(kb, tmp_path / "full", recorder, **NO_DELTA)
    delta = Retriever(tmp_path / "index", recorder, mode="dense", ranking="retrieval")
    full = Retriever(tmp_path / "full", recorder, mode="dense", ranking="retrieval")
    assert isinstance(delta.current(), DeltaVersion)
    assert not isinstance(full.current(), DeltaVersion)
    cases = [("how do I reset my pasword", "how do I reset my password", "reset-password"),
             ("zebracorm token for my acount", "zebracorn token for my account",
              "reset-password"),
             ("exprot the gantt chart", "export the gantt chart", "export-gantt"),
             ("I forgot my password", "I forgot my password", "reset-password")]
    for audience in ("public", "internal"):
        for typed, corrected, expected in cases:
            assert delta.current().corrected(typed, audience) == corrected
            assert full.current().corrected(typed, audience) == corrected
            got = delta.search(typed, audience, 5)
            by_delta = recorder.last()
            want = full.search(typed, audience, 5)
            by_full = recorder.last()
            assert by_delta[0] == by_full[0] == corrected
            assert np.array_equal(by_delta[1], by_full[1])
            assert [(h.article_id, h.score, h.section_score, h.coverage) for h in got] == [
                (h.article_id, h.score, h.section_score, h.coverage) for h in want]
            assert got[0].article_id == expected
