"""Search the published index version.

``Retriever.search(query, audience, k)`` returns one ``Hit`` per article, best first. The
audience rule lives here and nowhere else: ``audience="public"`` searches only public entries —
internal vectors are excluded inside FAISS (an ID selector in the search parameters, for the
exact and the approximate index alike) and internal rows by a lexical index of public rows
only, so no caller can forget it. Every public statistic — BM25's term weights, the article
classifier, query-term coverage's IDF — comes from public articles alone: an internal article
never changes a public score.

The retriever follows ``CURRENT``: before each search it checks the pointer (one ``stat``) and,
when a new version was published, loads it and swaps it in. A search already running keeps the
version it started with, so a reindex never fails a search.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from indexer import dense as dense_index
from indexer import lexical, store, terms
from indexer.classifier import PUBLIC_FILE, ArticleClassifier, PrototypeClassifier
from indexer.embedding import Embedder
from indexer.text import shorten

logger = logging.getLogger(__name__)

Audience = Literal["public", "internal"]
Mode = Literal["dense", "lexical", "hybrid"]
MODES: tuple[str, ...] = ("dense", "lexical", "hybrid")
# How the article classifier (when the index has one) joins the ranking: not at all
# ("retrieval"), reciprocal-rank fusion with retrieval ("fused": body text the classifier never
# saw still counts), or alone ("classifier": best where articles have many example questions).
# "auto" chooses from what the KB has: the classifier when articles carry example questions
# (at least AUTO_MIN_QUESTIONS each, at the median), retrieval alone when they do not — a
# classifier trained on titles alone ranks worse than hybrid retrieval.
Ranking = Literal["retrieval", "fused", "classifier", "auto"]
RANKINGS: tuple[str, ...] = ("retrieval", "fused", "classifier", "auto")
AUTO_MIN_QUESTIONS = 3
RRF_K = 60
SNIPPET_CHARS = 300
# A version that failed to load is tried again after this many seconds, not on every search.
RETRY_FAILED_LOAD_S = 30.0


class IndexUnavailable(RuntimeError):
    """No index version has been published yet, or it cannot be read."""


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    url: str | None
    audience: str
    heading: str
    snippet: str
    passage: str  # the whole best-matching section, for an answer
    score: float  # cosine similarity of the best-matching entry (dense), in [-1, 1]
    matched: str  # which entry matched best: "title", "question" or "section"
    lexical_score: float = 0.0  # BM25 (higher is better), 0 when no lexical match
    confidence: float | None = None  # the article classifier's probability, when it ran
    coverage: float | None = None  # IDF-weighted share of the query's words in the article
    section_score: float = 0.0  # cosine of the article's best body section (the passage)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Entry:
    article_id: str
    kind: str
    heading: str
    text: str
    audience: str


class IndexVersion:
    """One loaded, read-only version: FAISS vectors in memory, metadata from SQLite."""

    def __init__(self, folder: Path) -> None:
        import faiss

        self.folder = folder
        self.name = folder.name
        self.manifest = store.Manifest.read(folder)
        self.dense = faiss.read_index(str(folder / "dense.faiss"))
        conn = store.connect(folder / "meta.sqlite", readonly=True)
        try:
            self.entries = {
                int(row["id"]): _Entry(
                    row["article_id"], row["kind"], row["heading"], row["text"], row["audience"]
                )
                for row in conn.execute(
                    "SELECT id, article_id, kind, heading, text, audience FROM chunks"
                )
            }
            self.articles = {
                row["id"]: dict(row)
                for row in conn.execute(
                    "SELECT id, title, audience, url, tags, path, content_hash, indexed_at "
                    "FROM articles"
                )
            }
            # Versions built before article terms existed are served without coverage.
            self.has_terms = store.has_table(conn, "article_terms")
            self.has_public_terms = self.has_terms and any(
                row[1] == "public" for row in conn.execute("PRAGMA table_info(article_terms)"))
            self.has_public_lexical = store.has_table(conn, "chunks_fts_public")
            self.has_lexical_vocabulary = store.has_table(conn, "chunks_fts_public_vocab")
        finally:
            conn.close()
        # First section of every article: the passage when only its title/question matched.
        self.first_section: dict[str, int] = {}
        self.article_rows: dict[str, list[int]] = {}
        self.section_rows: dict[str, np.ndarray] = {}  # each article's body sections
        sections: dict[str, list[int]] = {}
        for rowid in sorted(self.entries):
            entry = self.entries[rowid]
            self.article_rows.setdefault(entry.article_id, []).append(rowid)
            if entry.kind == "section":
                self.first_section.setdefault(entry.article_id, rowid)
                sections.setdefault(entry.article_id, []).append(rowid)
        self.section_rows = {a: np.asarray(r, np.int64) for a, r in sections.items()}
        public_ids = np.asarray(
            [rowid for rowid, e in self.entries.items() if e.audience == "public"], dtype=np.int64
        )
        self.public_count = len(public_ids)
        questions = [sum(1 for r in rows if self.entries[r].kind == "question")
                     for rows in self.article_rows.values()]
        self.median_questions = float(np.median(questions)) if questions else 0.0
        self.public_articles = sum(1 for a in self.articles.values() if a["audience"] == "public")
        self.classifier = ArticleClassifier.load(folder)
        # Public searches use the classifier trained on public articles alone; a KB without
        # internal articles has one classifier, and a version written before the public one
        # existed falls back to the full one with internal classes masked out.
        own = ArticleClassifier.load(folder, PUBLIC_FILE)
        self.public_classifier = own if own is not None else self.classifier
        self.public_classes = (
            np.asarray([self.articles[c]["audience"] == "public"
                        for c in self.public_classifier.classes])
            if self.public_classifier is not None and own is None else None
        )
        self.dense_kind = dense_index.kind(self.dense)
        self._public_selector = faiss.IDSelectorBatch(public_ids)
        self.set_nprobe(dense_index.NPROBE)
        self._local = threading.local()
        # One FAISS call at a time on this index: concurrent searches from the service's
        # threads, with torch embedding in others, crashed the process (SIGSEGV inside
        # faiss search; reproduced with 8 threads embedding and searching the sample KB, and
        # by bench/load.py at 50 customers). A single-query search takes well under 1 ms.
        self._faiss = threading.Lock()

    def set_nprobe(self, nprobe: int) -> None:
        """Lists an approximate index scans per search (no effect on an exact one)."""
        self._public_params = dense_index.search_parameters(
            self.dense, self._public_selector, nprobe)
        self._all_params = dense_index.search_parameters(self.dense, None, nprobe)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.connect(self.folder / "meta.sqlite", readonly=True)
            self._local.conn = conn
        return conn

    def dense_search(
        self, vector: np.ndarray, audience: Audience, n: int
    ) -> list[tuple[int, float]]:
        total = self.public_count if audience == "public" else self.dense.ntotal
        n = min(n, total)
        if n <= 0:
            return []
        params = self._public_params if audience == "public" else self._all_params
        with self._faiss:
            scores, ids = self.dense.search(vector.reshape(1, -1), n, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def article_hit(self, article_id: str) -> Hit | None:
        """An article as a hit on its first section (score 0: nothing was searched)."""
        article = self.articles.get(article_id)
        if article is None:
            return None
        section = self.entries.get(self.first_section.get(article_id, -1))
        passage = section.text if section else ""
        return Hit(
            article_id=article_id, title=article["title"], url=article["url"],
            audience=article["audience"], heading=section.heading if section else "",
            snippet=_snippet(passage), passage=passage, score=0.0, matched="title",
        )

    def best_entry(self, article_id: str, vector: np.ndarray) -> tuple[float, int]:
        """Exact (cosine, rowid) of an article's best entry, for articles outside the dense
        candidates (found by the lexical index only)."""
        rows = self.article_rows.get(article_id, [])
        if not rows:
            return (0.0, -1)
        with self._faiss:
            vectors = self.dense.reconstruct_batch(np.asarray(rows, np.int64))
        scores = vectors @ vector
        best = int(np.argmax(scores))
        return (float(scores[best]), rows[best])

    def auto_ranking(self) -> Ranking:
        """What ``ranking="auto"`` means for this version."""
        if self.classifier is not None and self.median_questions >= AUTO_MIN_QUESTIONS:
            return "classifier"
        return "retrieval"

    def best_section(self, article_id: str, vector: np.ndarray) -> tuple[float, int]:
        """Exact (cosine, rowid) of an article's best body section; (0, -1) without one."""
        rows = self.section_rows.get(article_id)
        if rows is None:
            return (0.0, -1)
        with self._faiss:
            vectors = self.dense.reconstruct_batch(rows)
        scores = vectors @ vector
        best = int(np.argmax(scores))
        return (float(scores[best]), int(rows[best]))

    def classifier_for(
        self, audience: Audience,
    ) -> tuple[ArticleClassifier | PrototypeClassifier | None, np.ndarray | None]:
        """The article classifier serving ``audience`` and the mask of the classes it may
        return (None: all of them)."""
        if audience == "public":
            return self.public_classifier, self.public_classes
        return self.classifier, None

    def coverage(self, query: str, article_ids: list[str],
                 audience: Audience = "internal") -> dict[str, float]:
        """``terms.coverage`` of each article, weighted by the articles ``audience`` sees;
        empty when this version has no terms."""
        if not self.has_terms:
            return {}
        if audience == "public" and self.has_public_terms:
            return terms.coverage(self._conn(), query, article_ids, self.public_articles,
                                  public_only=True)
        return terms.coverage(self._conn(), query, article_ids, len(self.articles))

    def lexical_search(self, query: str, audience: Audience, n: int) -> list[tuple[int, float]]:
        """``lexical.search`` on this version's entries ``audience`` may see."""
        return lexical.search(self._conn(), query, audience, n,
                              public_table=self.has_public_lexical,
                              vocabulary=self.has_lexical_vocabulary)


class Retriever:
    """Hybrid, audience-safe search over the published index, reloaded on publish."""

    def __init__(
        self,
        index_dir: Path,
        embedder: Embedder,
        *,
        mode: Mode = "hybrid",
        candidates: int = 50,
        ranking: Ranking = "fused",
        nprobe: int = dense_index.NPROBE,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r} (expected one of {MODES})")
        if ranking not in RANKINGS:
            raise ValueError(f"unknown ranking {ranking!r} (expected one of {RANKINGS})")
        self.index_dir = index_dir
        self.embedder = embedder
        self.mode = mode
        self.candidates = candidates
        self.ranking = ranking
        self.nprobe = nprobe
        self._version: IndexVersion | None = None
        self._pointer_stat: tuple[int, int, int] | None = None
        self._loading = threading.Lock()  # one loader at a time; searches never wait for it
        self._failed: dict[str, float] = {}  # version name -> monotonic time of its failure

    # -- version management -------------------------------------------------------------
    def _pointer(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_dir / store.CURRENT)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> IndexVersion:
        """The published version, loading a newer one if ``CURRENT`` moved.

        A new version is loaded by one caller at a time, outside any lock that searches take:
        meanwhile the others keep being served by the version they have. A version that fails
        to load is remembered and tried again only after ``RETRY_FAILED_LOAD_S`` (logged once
        per attempt, not per search). Raises ``IndexUnavailable`` when nothing can be served.
        """
        pointer = self._pointer()
        version = self._version
        if version is not None and pointer == self._pointer_stat:
            return version
        if version is not None:
            if not self._loading.acquire(blocking=False):
                return version  # someone else is loading the new one
        else:
            self._loading.acquire()  # nothing to serve yet: wait for the first load
        try:
            return self._load(pointer)
        finally:
            self._loading.release()

    def _load(self, pointer: tuple[int, int, int] | None) -> IndexVersion:
        version = self._version
        if version is not None and self._pointer_stat == pointer:
            return version  # loaded by the caller before us
        name = store.current_version(self.index_dir)
        if name is None:
            if version is not None:
                return version
            raise IndexUnavailable(
                f"no index has been built in {self.index_dir}; run `frontline index`"
            )
        if version is not None and version.name == name:
            self._pointer_stat = pointer
            return version
        failed_at = self._failed.get(name)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_FAILED_LOAD_S:
            if version is not None:
                return version
            raise IndexUnavailable(f"index version {name} could not be loaded; see the log")
        try:
            loaded = IndexVersion(store.version_path(self.index_dir, name))
            if self.nprobe != dense_index.NPROBE:
                loaded.set_nprobe(self.nprobe)
        except Exception as exc:
            self._failed[name] = time.monotonic()
            if version is not None:
                logger.error("cannot load index version %s (%s: %s); still serving %s, "
                             "next attempt in %.0f s", name, type(exc).__name__, exc,
                             version.name, RETRY_FAILED_LOAD_S)
                return version
            logger.error("cannot load index version %s (%s: %s)", name, type(exc).__name__, exc)
            raise IndexUnavailable(f"cannot load index version {name}: {exc}") from exc
        self._failed.pop(name, None)
        logger.info("serving index version %s (%d chunks, %s)", name, loaded.dense.ntotal,
                    loaded.dense_kind)
        self._version, self._pointer_stat = loaded, pointer
        return loaded

    # -- search ---------------------------------------------------------------------------
    def search(self, query: str, audience: Audience = "public", k: int = 5) -> list[Hit]:
        """Top ``k`` articles for ``query`` visible to ``audience``, in ranking order: retrieval,
        fused with (or replaced by) the article classifier when it runs. Each hit carries the
        raw signals (cosine, BM25, the classifier's probability, query-term coverage); how
        certain the decision is of each, and the final order, are the answer decision's
        (``frontline.knowledge.decision``).

        Raises ``ValueError`` for an unknown audience or a non-positive ``k`` and
        ``IndexUnavailable`` when no index is published.
        """
        if audience not in ("public", "internal"):
            raise ValueError(f"unknown audience {audience!r} (expected public or internal)")
        if k < 1:
            raise ValueError("k must be at least 1")
        version = self.current()
        query = query.strip()
        if not query:
            return []
        vector = self.embedder.embed([query])[0]
        return self.rank(version, query, vector, audience, k)

    def rank(
        self, version: IndexVersion, query: str, vector: np.ndarray, audience: Audience, k: int
    ) -> list[Hit]:
        dense = version.dense_search(vector, audience, self.candidates)
        lexical = (
            version.lexical_search(query, audience, self.candidates)
            if self.mode in ("lexical", "hybrid")
            else []
        )
        best_dense: dict[str, tuple[float, int]] = {}
        for rowid, score in dense:
            entry = version.entries[rowid]
            if entry.article_id not in best_dense:
                best_dense[entry.article_id] = (score, rowid)
        best_lexical: dict[str, float] = {}
        for rowid, score in lexical:
            best_lexical.setdefault(version.entries[rowid].article_id, score)

        if self.mode == "dense":
            order = sorted(best_dense, key=lambda a: -best_dense[a][0])
        elif self.mode == "lexical":
            order = sorted(best_lexical, key=lambda a: -best_lexical[a])
        else:
            order = _fuse(sorted(best_dense, key=lambda a: -best_dense[a][0]),
                          sorted(best_lexical, key=lambda a: -best_lexical[a]))

        ranking = version.auto_ranking() if self.ranking == "auto" else self.ranking
        confidence: dict[str, float] = {}
        model, allowed = version.classifier_for(audience)
        if ranking != "retrieval" and model is not None:
            # The classifier's probability is the confidence in either ranking.
            probs = model.probabilities(vector, query, allowed)
            top = np.argsort(-probs)[: self.candidates]
            confidence = {str(model.classes[i]): float(probs[i]) for i in top if probs[i] > 0}
            by_classifier = sorted(confidence, key=lambda a: -confidence[a])
            order = by_classifier if ranking == "classifier" else _fuse(order, by_classifier)

        shortlist = [
            a for a in order[:k]
            # defence in depth: the index and the SQL already keep internal articles out
            if audience == "internal" or version.articles[a]["audience"] == "public"
        ]
        covered = version.coverage(query, shortlist, audience)
        hits = []
        for article_id in shortlist:
            article = version.articles[article_id]
            if article_id not in best_dense:
                best_dense[article_id] = version.best_entry(article_id, vector)
            score, rowid = best_dense[article_id]
            section_score, section_row = version.best_section(article_id, vector)
            if section_row < 0:
                section_row = version.first_section.get(article_id, rowid)
            matched = version.entries[rowid].kind if rowid >= 0 else "lexical"
            section = version.entries.get(section_row)
            passage = section.text if section else ""
            hits.append(
                Hit(
                    article_id=article_id,
                    title=article["title"],
                    url=article["url"],
                    audience=article["audience"],
                    heading=section.heading if section else "",
                    snippet=_snippet(passage),
                    passage=passage,
                    score=round(score, 4),
                    matched=matched,
                    lexical_score=round(best_lexical.get(article_id, 0.0), 4),
                    confidence=round(confidence.get(article_id, 0.0), 4) if confidence else None,
                    coverage=round(covered[article_id], 4) if covered else None,
                    section_score=round(section_score, 4),
                )
            )
        return hits


def _fuse(*rankings: list[str]) -> list[str]:
    """Reciprocal-rank fusion: each ranking gives an article 1 / (RRF_K + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, article_id in enumerate(ranking):
            fused[article_id] = fused.get(article_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda a: -fused[a])


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    return shorten(text, limit + 1)
