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

import collections
import collections.abc
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from indexer import dense as dense_index
from indexer import lexical, spelling, store, terms
from indexer.classifier import (
    DELTA_FILE,
    FILE,
    PROTOTYPE_SCALE,
    PUBLIC_DELTA_FILE,
    PUBLIC_FILE,
    ArticleClassifier,
    JoinedPrototypes,
    PrototypeClassifier,
    _stored_prototypes,
)
from indexer.embedding import Embedder
from indexer.text import plain, shorten

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
# The prototype classifier's ranking and confidence (``_supported``): its best SUPPORT_POOL
# articles re-scored with SUPPORT_WEIGHT × their best body section's cosine, the confidence a
# softmax over the best SUPPORT_CONFIDENCE of them. Chosen on the sample KB's dev split inside
# the generated 2,500-, 5,000- and 20,000-article KBs (bench/quality_scale.py; README, "At
# scale"). With the retrieved articles in the pool (SUPPORT_RETRIEVED), weight 1 / 1.5 / 1.75 /
# 2 / 2.5 and confidence over 20 / 40 were tried again: 2 over 20 covers as much or more at
# every size and answers more correctly (2.5 covered less at 5,000 and 20,000).
SUPPORT_POOL = 128
# The passage an answer shows is the article's body section with the best cosine plus
# PASSAGE_TERM_WEIGHT × its share of the question's words (IDF-weighted, among the words the
# article's sections hold): "a refund on my annual plan" is answered from "Annual plans", not
# from "Monthly plans", which MiniLM scores higher. Chosen on the sample KB's dev split against
# hand labels of the right section where the weights disagree (bench/passage_choice.py; 0.1 to
# 0.5 all did far better than 0; docs/evaluation.md, 2026-12-04).
PASSAGE_TERM_WEIGHT = 0.2
SUPPORT_WEIGHT = 2.0
SUPPORT_CONFIDENCE = 20
# Of that softmax, relative to the classifier's scale: 1.0 answered 3.0 % of the unanswerable
# dev questions at 2,500 articles (budget 2 %), 0.8 at most 1.2 % at 2,500 / 5,000 / 20,000;
# with weight 2, 0.9 answered 2.4 %.
SUPPORT_SHARPNESS = 0.8
# The articles dense and lexical search found (``candidates`` rows each) join that pool, so an
# article the classifier ranks low but whose body matches the question is still re-scored.
SUPPORT_RETRIEVED = True
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

    def __init__(self, folder: Path, *, classifiers: bool = True) -> None:
        """``classifiers=False``: a delta's own rows, whose classifiers ``DeltaVersion``
        loads over base and delta together."""
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
        self._section_terms: dict[int, frozenset[str]] = {}  # ``section_terms``, as asked for
        public_ids = np.asarray(
            [rowid for rowid, e in self.entries.items() if e.audience == "public"], dtype=np.int64
        )
        self.public_count = len(public_ids)
        questions = [sum(1 for r in rows if self.entries[r].kind == "question")
                     for rows in self.article_rows.values()]
        self.median_questions = float(np.median(questions)) if questions else 0.0
        self.public_articles = sum(1 for a in self.articles.values() if a["audience"] == "public")
        self.classifier: ArticleClassifier | PrototypeClassifier | JoinedPrototypes | None = None
        self.public_classifier: (
            ArticleClassifier | PrototypeClassifier | JoinedPrototypes | None) = None
        self.public_classes: np.ndarray | None = None
        if classifiers:
            self._load_classifiers(folder)
        self.dense_kind = dense_index.kind(self.dense)
        self._public_selector = faiss.IDSelectorBatch(public_ids)
        self.set_nprobe(dense_index.NPROBE)
        # This version's spelling vocabulary, read a first letter at a time when a lookup
        # needs it, lives and goes with the version (``spelling.vocabulary`` finds it).
        self.vocabulary = spelling.owned(folder / "meta.sqlite")
        self._local = threading.local()
        # One FAISS call at a time on this index: concurrent searches from the service's
        # threads, with torch embedding in others, crashed the process (SIGSEGV inside
        # faiss search; reproduced with 8 threads embedding and searching the sample KB, and
        # by bench/load.py at 50 customers). A single-query search takes well under 1 ms.
        self._faiss = threading.Lock()

    def _load_classifiers(self, folder: Path) -> None:
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

    def best_section(
        self, article_id: str, vector: np.ndarray,
        weights: collections.abc.Mapping[str, float] | None = None,
    ) -> tuple[float, int]:
        """The exact cosine of an article's best body section and the rowid of its passage:
        that section, or with the question's term ``weights`` (``term_weights``) the section
        best by cosine + ``PASSAGE_TERM_WEIGHT`` × its weighted share of the question's words
        that the article's sections hold. (0, -1) without a body section."""
        rows = self.section_rows.get(article_id)
        if rows is None:
            return (0.0, -1)
        with self._faiss:
            vectors = self.dense.reconstruct_batch(rows)
        scores = vectors @ vector
        best = chosen = int(np.argmax(scores))
        if weights and len(rows) > 1:
            held = [self.section_terms(int(r)) & weights.keys() for r in rows]
            total = sum(weights[t] for t in set().union(*held))
            if total > 0:
                shares = np.asarray([sum(weights[t] for t in h) for h in held]) / total
                chosen = int(np.argmax(scores + PASSAGE_TERM_WEIGHT * shares))
        return (float(scores[best]), int(rows[chosen]))

    def section_terms(self, rowid: int) -> frozenset[str]:
        """The stemmed words of a body section's heading and text (kept once computed)."""
        found = self._section_terms.get(rowid)
        if found is None:
            entry = self.entries[rowid]
            found = self._section_terms[rowid] = frozenset(
                terms.terms(f"{entry.heading}\n{entry.text}"))
        return found

    def term_weights(self, query: str, audience: Audience) -> dict[str, float]:
        """The IDF weight of each of ``query``'s words (corrected already) among the articles
        ``audience`` sees, as ``coverage`` weighs them; empty when this version has no terms."""
        if not self.has_terms:
            return {}
        wanted = sorted(terms.query_terms(query))[:terms.MAX_QUERY_TERMS]
        public = audience == "public" and self.has_public_terms
        frequency = terms.document_frequencies(self._conn(), wanted, public)
        total = self.public_articles if public else len(self.articles)
        return {t: math.log((total + 1) / (frequency.get(t, 0) + 0.5)) for t in wanted}

    def best_sections(self, article_ids: collections.abc.Sequence[str],
                      vector: np.ndarray) -> np.ndarray:
        """``best_section``'s cosine for many articles at once (0 for one without a body
        section): one read of all their section vectors and one matrix product."""
        rows = [self.section_rows.get(a) for a in article_ids]
        lengths = np.asarray([0 if r is None else len(r) for r in rows], np.int64)
        found = np.zeros(len(article_ids), np.float32)
        have = lengths > 0
        if not have.any():
            return found
        with self._faiss:
            vectors = self.dense.reconstruct_batch(
                np.concatenate([r for r in rows if r is not None]))
        starts = np.cumsum(lengths[have]) - lengths[have]
        found[have] = np.maximum.reduceat(vectors @ vector, starts)
        return found

    def classifier_for(
        self, audience: Audience,
    ) -> tuple[ArticleClassifier | PrototypeClassifier | JoinedPrototypes | None,
               np.ndarray | None]:
        """The article classifier serving ``audience`` and the mask of the classes it may
        return (None: all of them)."""
        if audience == "public":
            return self.public_classifier, self.public_classes
        return self.classifier, None

    def corrected(self, query: str, audience: Audience) -> str:
        """``query`` with each typo of a KB word written as that word (``terms.corrections``
        of its topic words, against the articles ``audience`` sees; a typo of a function
        word dropped), as lexical search and coverage read it: ``query`` itself when nothing
        is corrected, or when this version has no terms."""
        if not self.has_terms:
            return query
        public = audience == "public" and self.has_public_terms
        return _rewritten(query, terms.corrections(self._conn(), _topic_words(query), public))

    def coverage(self, query: str, article_ids: list[str], audience: Audience = "internal",
                 *, corrected: bool = False,
                 weights: collections.abc.Mapping[str, float] | None = None,
                 ) -> dict[str, float]:
        """``terms.coverage`` of each article, weighted by the articles ``audience`` sees;
        empty when this version has no terms. ``corrected``: ``query`` is ``corrected``'s
        already (typos are not looked up again); ``weights``: its ``term_weights``, looked up
        already."""
        if not self.has_terms:
            return {}
        if weights is not None:
            return terms.weighted_coverage(self._conn(), weights, article_ids)
        if audience == "public" and self.has_public_terms:
            return terms.coverage(self._conn(), query, article_ids, self.public_articles,
                                  public_only=True, correct=not corrected)
        return terms.coverage(self._conn(), query, article_ids, len(self.articles),
                              correct=not corrected)

    def lexical_search(self, query: str, audience: Audience, n: int, *,
                       corrected: bool = False) -> list[tuple[int, float]]:
        """``lexical.search`` on this version's entries ``audience`` may see; ``corrected``:
        ``query`` is ``corrected``'s already."""
        return lexical.search(self._conn(), query, audience, n,
                              public_table=self.has_public_lexical,
                              vocabulary=self.has_lexical_vocabulary, correct=not corrected)


class DeltaVersion(IndexVersion):
    """A delta version (``store``) served over its base: the base's loaded ``IndexVersion`` is
    reused as it is (its FAISS index, rows and classifier are not read again) and only the
    delta's own files are loaded, so a replica picks up an edit in the time the delta takes.

    * dense: the base's FAISS index searched with a selector of audience AND not tombstoned
      (inside FAISS, as for any version), the delta's flat index beside it, merged by score;
    * lexical: the base's BM25 (``lexical.search``) without tombstoned rows, and the delta's
      rows scored by the same BM25 formula with the base's table statistics plus the delta's
      (``_delta_bm25``; a delta's own FTS5 statistics would describe a handful of rows);
    * coverage: document frequencies of base (without tombstoned articles) plus delta;
    * classifier: the base's prototypes joined with the delta's rows (``JoinedPrototypes``),
      or, for a KB whose classifier is a logistic regression, the delta's complete one.
    """

    def __init__(self, folder: Path, base: IndexVersion) -> None:
        import faiss

        own = IndexVersion(folder, classifiers=False)
        self.folder, self.name, self.manifest = folder, folder.name, own.manifest
        self.base, self.own = base, own
        conn = own._conn()
        self.tombstones = {r[0] for r in conn.execute("SELECT article_id FROM tombstones")}
        hidden = [r for a in self.tombstones for r in base.article_rows.get(a, ())]
        self.hidden_rows = set(hidden)
        self.entries = collections.ChainMap(own.entries, base.entries)  # type: ignore[assignment]
        # views, not copies: switching to a delta must not cost a pass over the base's articles
        self.articles = _Overlay(base.articles, own.articles, self.tombstones)  # type: ignore[assignment]
        self.first_section = _Overlay(  # type: ignore[assignment]
            base.first_section, own.first_section, self.tombstones)
        self.has_terms, self.has_public_terms = base.has_terms, base.has_public_terms
        self.has_public_lexical = base.has_public_lexical
        self.has_lexical_vocabulary = base.has_lexical_vocabulary
        hidden_public = sum(1 for r in hidden if base.entries[r].audience == "public")
        self.public_count = base.public_count - hidden_public + own.public_count
        self.median_questions = base.median_questions
        self.public_articles = base.public_articles + own.public_articles - sum(
            1 for a in self.tombstones if base.articles[a]["audience"] == "public")
        self.dense_kind = base.dense_kind
        self.dense = _JoinedDense(  # type: ignore[assignment]
            self, base.dense.ntotal - len(hidden) + own.dense.ntotal, base.dense.d)
        # FAISS selectors keep pointers to their parts: all of them stay referenced here.
        self._hidden = faiss.IDSelectorBatch(np.asarray(hidden, np.int64))
        self._visible = faiss.IDSelectorNot(self._hidden)
        self._public_visible = faiss.IDSelectorAnd(base._public_selector, self._visible)
        self.set_nprobe(dense_index.NPROBE)
        self._load_joined_classifiers(folder)
        self._stats: dict[str, tuple[int, int]] = {}
        self._lengths: dict[str, tuple[dict[int, int], int]] = {}
        self._local = threading.local()

    def _load_joined_classifiers(self, folder: Path) -> None:
        if (folder / FILE).exists():  # complete (a logistic regression's KB)
            self._load_classifiers(folder)
            return
        base = self.base
        parts = {name: _stored_prototypes(folder / name)
                 for name in (DELTA_FILE, PUBLIC_DELTA_FILE)}
        self.classifier = self.public_classifier = None
        self.public_classes = None
        if isinstance(base.classifier, PrototypeClassifier):
            self.classifier = JoinedPrototypes(base.classifier, None, self.tombstones,
                                               parts[DELTA_FILE])
        if isinstance(base.public_classifier, PrototypeClassifier):
            self.public_classifier = JoinedPrototypes(
                base.public_classifier, base.public_classes, self.tombstones,
                parts[PUBLIC_DELTA_FILE])

    def set_nprobe(self, nprobe: int) -> None:
        self._public_params = dense_index.search_parameters(
            self.base.dense, self._public_visible, nprobe)
        self._all_params = dense_index.search_parameters(self.base.dense, self._visible, nprobe)

    def dense_search(
        self, vector: np.ndarray, audience: Audience, n: int
    ) -> list[tuple[int, float]]:
        n = min(n, self.public_count if audience == "public" else self.dense.ntotal)
        if n <= 0:
            return []
        base = self.base
        params = self._public_params if audience == "public" else self._all_params
        with base._faiss:
            scores, ids = base.dense.search(vector.reshape(1, -1), min(n, base.dense.ntotal),
                                            params=params)
        found = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        found += self.own.dense_search(vector, audience, n)
        return sorted(found, key=lambda hit: -hit[1])[:n]

    def _segment(self, article_id: str) -> IndexVersion:
        return self.own if article_id in self.own.articles else self.base

    def best_entry(self, article_id: str, vector: np.ndarray) -> tuple[float, int]:
        return self._segment(article_id).best_entry(article_id, vector)

    def best_section(
        self, article_id: str, vector: np.ndarray,
        weights: collections.abc.Mapping[str, float] | None = None,
    ) -> tuple[float, int]:
        return self._segment(article_id).best_section(article_id, vector, weights)

    def best_sections(self, article_ids: collections.abc.Sequence[str],
                      vector: np.ndarray) -> np.ndarray:
        mine = np.asarray([a in self.own.articles for a in article_ids], bool)
        found = np.zeros(len(article_ids), np.float32)
        for segment, where in ((self.own, mine), (self.base, ~mine)):
            if where.any():
                found[where] = segment.best_sections(
                    [a for a, m in zip(article_ids, where, strict=True) if m], vector)
        return found

    def corrected(self, query: str, audience: Audience) -> str:
        """``query`` with each typo of a KB word written as that word, as a full version's
        lexical search and coverage read it (``terms.corrections``): a word whose stem either
        part holds stays as typed; the others are corrected against the base's vocabulary,
        then the delta's. (Words of tombstoned articles stay in the base's vocabulary until
        compaction.)"""
        if not self.has_terms:
            return query
        public = audience == "public" and self.has_public_terms
        words = _topic_words(query)
        stems = {terms.stem(w) for w in words}
        held = terms.document_frequencies(self.own._conn(), stems, public)
        for term, count in terms.document_frequencies(self.base._conn(), stems, public).items():
            held[term] = held.get(term, 0) + count
        fixed = terms.corrections(self.base._conn(), words, public, known=held)
        rest = [w for w in words if not held.get(terms.stem(w)) and w not in fixed]
        if rest:
            fixed.update(terms.corrections(self.own._conn(), rest, public, known=held))
        return _rewritten(query, fixed)

    def lexical_search(self, query: str, audience: Audience, n: int, *,
                       corrected: bool = False) -> list[tuple[int, float]]:
        """The base's BM25 hits that are not tombstoned and the delta's, best first; typos of
        KB words searched as those words (``corrected``, unless ``query`` is its already)."""
        if not corrected:
            query = self.corrected(query, audience)
        extra = min(len(self.hidden_rows), 4 * n)
        found = [hit for hit in self.base.lexical_search(query, audience, n + extra,
                                                         corrected=True)
                 if hit[0] not in self.hidden_rows][:n]
        found += self._delta_bm25(query, audience, n)
        return sorted(found, key=lambda hit: -hit[1])[:n]

    def _table_stats(self, table: str) -> tuple[int, int]:
        """(rows, tokens) of one of the base's FTS5 tables, from its averages record."""
        if table not in self._stats:
            block = self.base._conn().execute(
                f"SELECT block FROM {table}_data WHERE id = 1").fetchone()
            values = _varints(bytes(block[0])) if block else [0, 0]
            self._stats[table] = (values[0], values[1] if len(values) > 1 else 0)
        return self._stats[table]

    def _delta_lengths(self, table: str) -> tuple[dict[int, int], int]:
        """Tokens of each of the delta's rows in ``table``, and their sum: read once (a delta
        is immutable), not on every query."""
        if table not in self._lengths:
            length = dict(self.own._conn().execute(
                f"SELECT doc, count(*) FROM {table}_instance GROUP BY doc"))
            self._lengths[table] = (length, sum(length.values()))
        return self._lengths[table]

    def _delta_bm25(self, query: str, audience: Audience, n: int) -> list[tuple[int, float]]:
        """FTS5's ``bm25`` (k1 = 1.2, b = 0.75) of the delta's rows that match the words
        ``lexical.plan`` keeps on the base (any of them, or all when every word is common),
        with the base's row count, token count and document frequencies added to the delta's."""
        words = lexical.query_words(query)
        if not words or not self.own.entries:
            return []
        table = "chunks_fts_public" if audience == "public" else "chunks_fts"
        chosen = (lexical.plan(self.base._conn(), words, table)
                  if self.has_lexical_vocabulary else lexical.Terms(words))
        stems = sorted({lexical.porter(w) for w in chosen.words})
        marks = ",".join("?" * len(stems))
        conn = self.own._conn()
        tf: dict[int, dict[str, int]] = {}
        for doc, term, count in conn.execute(
                f"SELECT doc, term, count(*) FROM {table}_instance WHERE term IN ({marks}) "
                "GROUP BY doc, term", stems):
            tf.setdefault(int(doc), {})[term] = int(count)
        if chosen.every:  # both rarest words; else the rarest alone, as lexical.search does
            both = {doc: found for doc, found in tf.items() if len(found) == len(stems)}
            rarest = lexical.porter(chosen.words[0])
            tf = both or {doc: {rarest: found[rarest]} for doc, found in tf.items()
                          if rarest in found}
        if not tf:
            return []
        length, delta_tokens = self._delta_lengths(table)
        base_rows, base_tokens = self._table_stats(table)
        rows = base_rows + len(length)
        average = (base_tokens + delta_tokens) / max(rows, 1)
        df = lexical.frequencies(self.base._conn(), table, stems)
        for terms_of_doc in tf.values():
            for term in terms_of_doc:
                df[term] = df.get(term, 0) + 1
        idf = {t: max(math.log((rows - df[t] + 0.5) / (df[t] + 0.5)), 1e-6) for t in df}
        k1, b = 1.2, 0.75
        scored = [
            (doc, sum(idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length[doc] / average))
                      for t, f in found.items()))
            for doc, found in tf.items()
        ]
        return sorted(scored, key=lambda hit: -hit[1])[:n]

    def term_weights(self, query: str, audience: Audience) -> dict[str, float]:
        """``IndexVersion.term_weights`` over base and delta: document frequencies of the
        base's articles that are not tombstoned plus the delta's."""
        if not self.has_terms:
            return {}
        public = audience == "public" and self.has_public_terms
        wanted = sorted(terms.query_terms(query))[:terms.MAX_QUERY_TERMS]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        only = "AND public = 1 " if public else ""
        frequency: dict[str, int] = {}
        hidden = sorted(self.tombstones)
        for conn, sign, among in ((self.base._conn(), 1, None), (self.own._conn(), 1, None),
                                  (self.base._conn(), -1, hidden)):
            for start in range(0, len(among) if among is not None else 1, 500):
                part = among[start:start + 500] if among is not None else []
                if among is not None and not part:
                    continue
                within = f"AND article_id IN ({','.join('?' * len(part))}) " if part else ""
                for term, count in conn.execute(
                        f"SELECT term, count(*) FROM article_terms WHERE term IN ({marks}) "
                        f"{only}{within}GROUP BY term", [*wanted, *part]):
                    frequency[term] = frequency.get(term, 0) + sign * count
        total_articles = self.public_articles if public else len(self.articles)
        return {t: math.log((total_articles + 1) / (frequency.get(t, 0) + 0.5)) for t in wanted}

    def coverage(self, query: str, article_ids: list[str], audience: Audience = "internal",
                 *, corrected: bool = False,
                 weights: collections.abc.Mapping[str, float] | None = None,
                 ) -> dict[str, float]:
        """``terms.coverage`` over base and delta: document frequencies of the base's articles
        that are not tombstoned plus the delta's; typos of KB words count as those words
        (``corrected``, unless ``query`` is its already; ``weights``: its ``term_weights``)."""
        if not self.has_terms:
            return {}
        if weights is None and not corrected:
            query = self.corrected(query, audience)
        ids = list(dict.fromkeys(article_ids))
        weight = dict(weights) if weights is not None else self.term_weights(query, audience)
        wanted = sorted(weight)
        if not wanted or not ids:
            return {a: 1.0 for a in ids}
        marks = ",".join("?" * len(wanted))
        total = sum(weight.values())
        found = dict.fromkeys(ids, 0.0)
        for segment in (self.base, self.own):
            mine = [a for a in ids if self._segment(a) is segment]
            if not mine:
                continue
            for article_id, term in segment._conn().execute(
                    f"SELECT article_id, term FROM article_terms WHERE term IN ({marks}) "
                    f"AND article_id IN ({','.join('?' * len(mine))})", [*wanted, *mine]):
                found[article_id] += weight[term]
        return {a: found[a] / total for a in ids}


class _Overlay(collections.abc.Mapping):  # type: ignore[type-arg]
    """A base version's mapping by article id with a delta's entries over it and the
    tombstoned ids gone (every article the delta holds that the base has is tombstoned)."""

    def __init__(self, base: dict, own: dict, hidden: set[str]) -> None:  # type: ignore[type-arg]
        self.base, self.own, self.hidden = base, own, hidden
        self._len = len(base) - sum(1 for a in hidden if a in base) + len(own)

    def __getitem__(self, key: str):  # type: ignore[no-untyped-def]
        if key in self.own:
            return self.own[key]
        if key in self.hidden:
            raise KeyError(key)
        return self.base[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from self.own
        yield from (a for a in self.base if a not in self.hidden and a not in self.own)

    def __len__(self) -> int:
        return self._len


class _JoinedDense:
    """What callers read of a delta version's ``dense``: its size and dimension."""

    def __init__(self, version: DeltaVersion, ntotal: int, d: int) -> None:
        self.version, self.ntotal, self.d = version, ntotal, d


def _varints(data: bytes) -> list[int]:
    """The SQLite varints in ``data`` (FTS5's averages record: rows, then tokens per
    column)."""
    values, at = [], 0
    while at < len(data):
        value = 0
        for i in range(9):
            byte = data[at]
            at += 1
            if i == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


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
            loaded = self._open(store.version_path(self.index_dir, name))
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

    def _open(self, folder: Path) -> IndexVersion:
        """Load a version; a delta reuses the base already being served (its own or its
        delta's), so only the delta's files are read."""
        base_name = store.base_of(folder)
        if base_name is None:  # a full version (or an unreadable one: IndexVersion says why)
            return IndexVersion(folder)
        serving = self._version
        if isinstance(serving, DeltaVersion):
            serving = serving.base
        if serving is None or serving.name != base_name:
            serving = IndexVersion(store.version_path(self.index_dir, base_name))
        return DeltaVersion(folder, serving)

    # -- search ---------------------------------------------------------------------------
    def search(self, query: str, audience: Audience = "public", k: int = 5, *,
               version: IndexVersion | None = None) -> list[Hit]:
        """Top ``k`` articles for ``query`` visible to ``audience``, in ranking order: retrieval,
        fused with (or replaced by) the article classifier when it runs. Each hit carries the
        raw signals (cosine, BM25, the classifier's probability, query-term coverage); how
        certain the decision is of each, and the final order, are the answer decision's
        (``frontline.knowledge.decision``). What is searched is ``query`` with its typos of KB
        words corrected (``IndexVersion.corrected``); nothing returned holds the text.

        ``version``: the index version to search (``current()``'s by default), for a caller
        that reads more of the same version afterwards.

        Raises ``ValueError`` for an unknown audience or a non-positive ``k`` and
        ``IndexUnavailable`` when no index is published.
        """
        if audience not in ("public", "internal"):
            raise ValueError(f"unknown audience {audience!r} (expected public or internal)")
        if k < 1:
            raise ValueError("k must be at least 1")
        version = version or self.current()
        query = query.strip()
        if not query:
            return []
        # Every part of the search reads the question with its typos of KB words corrected,
        # looked up once here: the embedding, the article classifier, BM25 and coverage. A
        # question with nothing to correct is embedded exactly as typed.
        searched = version.corrected(query, audience)
        vector = self.embedder.embed([searched])[0]
        return self.rank(version, searched, vector, audience, k, corrected=True)

    def retrieved(
        self, version: IndexVersion, query: str, vector: np.ndarray, audience: Audience,
        *, corrected: bool = False,
    ) -> tuple[dict[str, tuple[float, int]], dict[str, float]]:
        """The articles dense search and lexical search (in ``hybrid`` or ``lexical`` mode)
        found among their ``candidates`` best rows, best first: article id -> (cosine, rowid)
        of its best dense entry, and article id -> its best BM25 score. ``corrected``:
        ``query`` is ``version.corrected``'s already."""
        dense = version.dense_search(vector, audience, self.candidates)
        lexical = (
            version.lexical_search(query, audience, self.candidates, corrected=corrected)
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
        return best_dense, best_lexical

    def rank(
        self, version: IndexVersion, query: str, vector: np.ndarray, audience: Audience, k: int,
        *, corrected: bool = False,
    ) -> list[Hit]:
        """``search``'s hits for ``query`` and its embedding ``vector``. ``corrected``:
        ``query`` is ``version.corrected``'s already (else lexical search and coverage
        correct it, and the classifier reads it as given)."""
        best_dense, best_lexical = self.retrieved(version, query, vector, audience,
                                                  corrected=corrected)
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
            if isinstance(model, PrototypeClassifier | JoinedPrototypes):
                found = retrieved_classes(model, best_dense, best_lexical)
                probs = model.probabilities(vector, query, allowed, found)
                by_classifier, confidence = _supported(version, model.classes, probs, vector,
                                                       found)
            else:
                probs = model.probabilities(vector, query, allowed)
                top = np.argsort(-probs)[: self.candidates]
                confidence = {str(model.classes[i]): float(probs[i])
                              for i in top if probs[i] > 0}
                by_classifier = sorted(confidence, key=lambda a: -confidence[a])
            order = by_classifier if ranking == "classifier" else _fuse(order, by_classifier)

        shortlist = [
            a for a in order[:k]
            # defence in depth: the index and the SQL already keep internal articles out
            if audience == "internal" or version.articles[a]["audience"] == "public"
        ]
        # One lookup of the question's term weights serves coverage and the passage choice
        # (a query not corrected yet is corrected by coverage, as it always was).
        weights = version.term_weights(
            query if corrected else version.corrected(query, audience), audience)
        covered = (version.coverage(query, shortlist, audience, corrected=True, weights=weights)
                   if corrected else version.coverage(query, shortlist, audience))
        hits = []
        for article_id in shortlist:
            article = version.articles[article_id]
            if article_id not in best_dense:
                best_dense[article_id] = version.best_entry(article_id, vector)
            score, rowid = best_dense[article_id]
            section_score, section_row = version.best_section(article_id, vector, weights)
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


def retrieved_classes(model: PrototypeClassifier | JoinedPrototypes,
               *found: collections.abc.Iterable[str]) -> np.ndarray:
    """Class indices of the articles dense and lexical search found (``SUPPORT_RETRIEVED``;
    empty when it is off)."""
    if not SUPPORT_RETRIEVED:
        return np.zeros(0, np.int64)
    positions = model.positions
    return np.asarray(sorted({positions[a] for hits in found for a in hits if a in positions}),
                      np.int64)


def support_pool(probs: np.ndarray, retrieved: np.ndarray | None = None) -> np.ndarray:
    """Class indices ``_supported`` re-scores: the ``SUPPORT_POOL`` most probable with a
    probability above 0, and the ``retrieved`` ones (dense and lexical search's articles)
    that have one."""
    n = int(np.count_nonzero(probs > 0))
    if n == 0:
        return np.zeros(0, np.int64)
    pool = min(SUPPORT_POOL, n)
    top = np.argpartition(-probs, pool - 1)[:pool] if pool < len(probs) else np.arange(len(probs))
    top = top[probs[top] > 0]
    if retrieved is not None and len(retrieved):
        extra = retrieved[probs[retrieved] > 0]
        top = np.concatenate([top, np.setdiff1d(extra, top)])
    return top


def _supported(version: IndexVersion, classes: np.ndarray, probs: np.ndarray,
               vector: np.ndarray, retrieved: np.ndarray | None = None,
               ) -> tuple[list[str], dict[str, float]]:
    """The prototype classifier's ranking and confidence, supported by each article's body.

    Over thousands of articles the classifier's softmax spreads its mass over every near-topic
    neighbour, so its probability falls with the KB's size, and an article whose example
    questions match half a question ranks with the one whose body answers it. So its
    ``SUPPORT_POOL`` most probable articles are re-scored by the classifier's score plus
    ``SUPPORT_WEIGHT`` × the cosine of the article's best body section (an answer is supported
    by its body, not by one example question alone), and the confidence is a softmax of that
    score over the ``SUPPORT_CONFIDENCE`` best of them only: a distribution over a fixed number
    of contenders, the same at 5,000 articles as at 68. (log p differs from the classifier's
    logit by a constant, so ``log p + scale × weight × cosine`` orders and normalizes exactly
    like the score.)

    The pool also holds the ``retrieved`` articles (class indices of what dense and lexical
    search found, scored exactly by the classifier: ``probabilities(..., also=)``): an article
    whose example questions the classifier ranks low but whose body the question matches is
    still re-scored. Every pool article's best section comes from one matrix product
    (``best_sections``)."""
    top = support_pool(probs, retrieved)
    if len(top) == 0:
        return [], {}
    ids = [str(classes[i]) for i in top]
    support = version.best_sections(ids, vector).astype(np.float64)
    scores = np.log(probs[top].astype(np.float64)) + (
        PROTOTYPE_SCALE * SUPPORT_WEIGHT) * support
    order = np.argsort(-scores, kind="stable")
    best = order[:SUPPORT_CONFIDENCE]
    weights = np.exp(SUPPORT_SHARPNESS * (scores[best] - scores[best[0]]))
    weights /= weights.sum()
    ranked = [ids[i] for i in order]
    return ranked, {ids[i]: float(w) for i, w in zip(best, weights, strict=True)}


def _topic_words(query: str) -> set[str]:
    """The distinct lower-case words of ``query`` that may be corrected: not function words
    (as lexical search and coverage read a question)."""
    return set(terms.WORD.findall(query.lower())) - terms.FUNCTION_WORDS


def _rewritten(query: str, fixed: dict[str, str]) -> str:
    """``query`` with each word ``fixed`` names (lower-cased) written as its correction (a
    typo of a function word, corrected to "", dropped); ``query`` itself when none is."""
    if not fixed:
        return query
    return terms.WORD.sub(lambda m: fixed.get(m.group(0).lower(), m.group(0)), query)


def _fuse(*rankings: list[str]) -> list[str]:
    """Reciprocal-rank fusion: each ranking gives an article 1 / (RRF_K + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, article_id in enumerate(ranking):
            fused[article_id] = fused.get(article_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda a: -fused[a])


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a passage as plain text (snippets are shown as text: in the widget's
    suggestions, the help centre's search results, Slack), cut at a word. Only the start is
    parsed: a mark cut in two there lies past the cut."""
    return shorten(plain(text[: 3 * limit]), limit + 1)
