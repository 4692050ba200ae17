"""Searching an evaluation's questions on every core, with the figures a single process gives.

An evaluation searches every question once per configuration, through the product's own path
(``Retriever`` → ``RankedSearch``), one question at a time, as a chat turn does. Those searches
are independent, so ``search_configs`` splits the questions into one contiguous chunk per
worker process and puts the results back in the questions' order: each question gets the same
hits as in one process (its search depends on the question and the read-only index only), and
its time is still its own search's.

The workers are ``fork``-ed after the index is built and the embedding model loaded, so they
share both, read-only, with the parent; each opens its own retrievers (and with them its own
SQLite connections, which must not cross a fork) and runs with one torch / FAISS thread (the
service's ``embedding_threads``), so two workers use two cores instead of two workers fighting
over them. The query vectors a worker computed go back to the parent's ``QueryVectors``, so a
later pass over the same questions (scoring the validation split after calibrating on it)
embeds nothing again. An embedder whose runtime does not survive a fork (``fork_safe``
False: OpenVINO's thread pool) searches in this process alone.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from frontline.evaluation.metrics import LabelledQuestion, Searched, search_all
from frontline.evaluation.reuse import QueryVectors
from frontline.knowledge import Mix, RankedSearch
from frontline.knowledge.decision import NO_MIX
from indexer import Embedder, Retriever
from indexer.retriever import Mode, Ranking

# Below this many questions per worker, starting the workers costs more than it saves.
MIN_PER_WORKER = 200


def default_workers() -> int:
    """The cores this process may run on (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def ranked_search(index: Path, embedder: Embedder, mode: Mode, ranking: Ranking,
                  mix: Mix = NO_MIX) -> RankedSearch:
    """The product's search over ``index`` in one configuration, loaded and warmed up."""
    if ranking == "retrieval":
        mix = NO_MIX
    search = RankedSearch(Retriever(index, embedder, mode=mode, ranking=ranking), mix)
    search.search("warm up", "public", 1)
    return search


@dataclass(frozen=True)
class Config:
    """One configuration to search the questions with."""

    name: str
    mode: Mode
    ranking: Ranking
    mix: Mix = NO_MIX


@dataclass(frozen=True)
class _Job:
    index: Path
    embedder: QueryVectors
    configs: tuple[Config, ...]
    chunks: tuple[tuple[LabelledQuestion, ...], ...]
    threads: int


_JOB: _Job | None = None  # set in the parent just before the workers fork


def search_configs(index: Path, embedder: QueryVectors, configs: Sequence[Config],
                   questions: Sequence[LabelledQuestion], *, workers: int = 1,
                   threads: int = 1) -> dict[str, list[Searched]]:
    """``search_all`` of ``questions`` in every configuration: ``{config name: searched, in
    the questions' order}``. With ``workers`` > 1 the questions are split across that many
    forked processes (each with ``threads`` torch threads); the hits are the same as with one.
    Raises what a search raises (``IndexUnavailable``, ``ValueError``)."""
    global _JOB
    configs = tuple(configs)
    workers = min(workers, len(questions) // MIN_PER_WORKER)
    if (workers <= 1 or "fork" not in multiprocessing.get_all_start_methods()
            or not getattr(embedder.inner, "fork_safe", True)):
        return {c.name: search_all(ranked_search(index, embedder, c.mode, c.ranking, c.mix),
                                   questions, replayed=lambda: embedder.replayed)
                for c in configs}
    size = -(-len(questions) // workers)
    chunks = tuple(tuple(questions[i:i + size]) for i in range(0, len(questions), size))
    _JOB = _Job(index, embedder, configs, chunks, threads)
    try:
        with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("fork")
                                 ) as pool:
            parts = list(pool.map(_search_chunk, range(len(chunks))))
    finally:
        _JOB = None
    out: dict[str, list[Searched]] = {c.name: [] for c in configs}
    for searched, vectors in parts:
        embedder.remember(vectors)
        for name, rows in searched.items():
            out[name].extend(rows)
    return out


def _search_chunk(n: int) -> tuple[dict[str, list[Searched]], dict]:  # type: ignore[type-arg]
    """In a worker: chunk ``n`` searched in every configuration, and the query vectors it
    computed."""
    import faiss
    import torch

    job = _JOB
    assert job is not None, "search_configs sets the job before forking"
    torch.set_num_threads(job.threads)
    faiss.omp_set_num_threads(job.threads)
    known = job.embedder.known()
    searched = {c.name: search_all(ranked_search(job.index, job.embedder, c.mode, c.ranking,
                                                 c.mix),
                                   job.chunks[n], replayed=lambda: job.embedder.replayed)
                for c in job.configs}
    return searched, job.embedder.entries(exclude=known)
