"""Searching an evaluation's questions in several processes gives what one process gives."""

from __future__ import annotations

from pathlib import Path

from frontline.evaluation.metrics import load_questions
from frontline.evaluation.parallel import Config, search_configs
from frontline.evaluation.reuse import QueryVectors
from frontline.knowledge import Mix
from frontline.knowledge.query import salient
from indexer import Retriever
from tests.conftest import REPO
from tests.frontline.evaluation.test_reuse import SlowEmbedder

QUESTIONS = REPO / "bench/data/sample_kb_questions.yml"


def test_two_worker_processes_return_every_hit_in_the_questions_order(
    sample_index: Path, real_embedder
) -> None:  # type: ignore[no-untyped-def]
    index = sample_index / "index"
    dev = [q for q in load_questions(QUESTIONS) if q.split == "dev"]
    assert len(dev) >= 400  # two workers of at least MIN_PER_WORKER questions each
    configs = [Config("lexical", "lexical", "retrieval"),
               Config("hybrid+classifier", "hybrid", "fused", Mix(0.25, 1.0))]

    one = search_configs(index, QueryVectors(real_embedder), configs, dev, workers=1)

    counting = SlowEmbedder(real_embedder, delay=0.0)  # counts the texts embedded here
    vectors = QueryVectors(counting)
    two = search_configs(index, vectors, configs, dev, workers=2)
    assert counting.texts == 0  # every search ran in a worker, none in this process
    # their vectors came back (a message longer than the search reads is embedded as its
    # salient part: frontline.knowledge.query; with its typos of KB words corrected:
    # Retriever.search)
    version = Retriever(index, real_embedder).current()
    assert {version.corrected(salient(q.question, 1000), q.audience)  # type: ignore[arg-type]
            for q in dev} <= vectors.known()

    for config in configs:
        assert [s.item for s in two[config.name]] == dev
        assert [s.hits for s in two[config.name]] == [s.hits for s in one[config.name]]
        assert all(s.ms > 0 for s in two[config.name])
    assert any(s.hits for s in two["hybrid+classifier"])

    again = search_configs(index, vectors, configs[:1], dev, workers=1)
    assert counting.texts == 0  # the workers' vectors (and warm-up) were reused
    assert [s.hits for s in again["lexical"]] == [s.hits for s in one["lexical"]]


def test_the_scored_index_may_be_built_on_every_core_the_vectors_are_the_same(
    real_embedder,
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    import torch

    texts = [q.question for q in load_questions(QUESTIONS)[:200]]
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = real_embedder.embed(texts)
        torch.set_num_threads(1)
        one = real_embedder.embed(texts)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(one, two)  # evaluate() builds on all cores, searches on one thread


def test_an_embedder_that_does_not_survive_a_fork_searches_in_this_process(
    sample_index: Path, real_embedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import frontline.evaluation.parallel as parallel

    class NotForkSafe(SlowEmbedder):
        fork_safe = False  # as indexer.onnx_backend.OpenVinoEmbedder

    def no_workers(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", no_workers)
    dev = [q for q in load_questions(QUESTIONS) if q.split == "dev"][:400]
    counting = NotForkSafe(real_embedder, delay=0.0)
    found = search_configs(sample_index / "index", QueryVectors(counting),
                           [Config("dense", "dense", "retrieval")], dev, workers=2)
    assert [s.item for s in found["dense"]] == dev
    assert counting.texts > len(dev) // 2  # embedded here, not in a worker
