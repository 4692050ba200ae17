"""Ranking "auto": chosen from what the KB has, so a KB without example questions is served
at least as well as plain dense retrieval would serve it."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontline.evaluation.bare import without_questions
from frontline.evaluation.metrics import load_questions, retrieval_metrics
from frontline.knowledge import KnowledgeBase, Mix, RankedSearch
from frontline.knowledge.base import COSINE_THRESHOLDS
from frontline.knowledge.decision import NO_MIX
from indexer import Retriever, build_index
from tests.conftest import REPO, SAMPLE_KB, make_settings


@pytest.fixture(scope="module")
def no_questions(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:  # type: ignore[no-untyped-def]
    """The sample KB with every `questions:` list removed, indexed."""
    data = tmp_path_factory.mktemp("no-questions")
    kb = without_questions(SAMPLE_KB, data / "kb")
    build_index(kb, data / "index", real_embedder)
    return data


def test_without_example_questions_auto_ranks_at_least_as_well_as_dense(
        no_questions: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    dev = [q for q in load_questions(REPO / "bench/data/sample_kb_questions.yml")
           if q.split == "dev"]
    index = no_questions / "index"
    auto = Retriever(index, real_embedder, ranking="auto")
    assert auto.current().auto_ranking() == "retrieval"
    measured = {  # each with the confidence's mix the product and the eval give it
        name: retrieval_metrics(RankedSearch(retriever, mix), dev)
        for name, retriever, mix in (
            ("dense", Retriever(index, real_embedder, mode="dense", ranking="retrieval"),
             NO_MIX),
            ("auto", auto, NO_MIX),
            ("classifier", Retriever(index, real_embedder, ranking="classifier"),
             Mix(0.0, 2.0)),
        )
    }
    assert measured["auto"].recall_at_1 >= measured["dense"].recall_at_1
    assert measured["auto"].mrr >= measured["dense"].mrr
    assert measured["auto"].recall_at_1 >= measured["classifier"].recall_at_1


def test_auto_uses_cosine_thresholds_without_questions_and_the_classifier_with_them(
        no_questions: Path, sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    bare = KnowledgeBase(make_settings(no_questions, no_questions / "kb"), real_embedder)
    assert bare.thresholds == COSINE_THRESHOLDS
    # the cosine alone, as the thresholds were chosen: the classifier's coverage factor
    # (coverage_weight 2) under them abstained on most answerable questions
    assert bare.mix == NO_MIX
    hits = bare.search("I forgot my password", "public", 3)
    assert hits[0].confidence is None and hits[0].certainty == hits[0].score  # a cosine
    full = KnowledgeBase(make_settings(sample_index, sample_index / "kb"), real_embedder)
    assert full.retriever.current().auto_ranking() == "classifier"
    assert full.thresholds.answer == full.settings.answer_threshold
    assert full.search("I forgot my password", "public", 3)[0].confidence is not None
    explicit = KnowledgeBase(make_settings(no_questions, no_questions / "kb",
                                           answer_threshold=0.9), real_embedder)
    assert explicit.thresholds.answer == 0.9  # set explicitly: kept
    weighted = KnowledgeBase(make_settings(no_questions, no_questions / "kb",
                                           coverage_weight=1.0), real_embedder)
    assert weighted.mix == Mix(0.0, 1.0)  # set explicitly: kept
    assert full.mix == Mix(full.settings.confidence_blend, full.settings.coverage_weight)
