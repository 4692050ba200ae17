"""The knowledge base as the service sees it: one embedder, one retriever, one reindexer.

Built once per process by ``create_app`` (or by the CLI) and shared by the HTTP routes, the
Rasa actions and the Slack app, so the model and the index are loaded once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from frontline.errors import (
    ArticleNotFound,
    IndexNotReady,
    InvalidArticle,
    InvalidQuery,
    ReindexInProgress,
)
from frontline.settings import Settings
from indexer import (
    ArticleError,
    Embedder,
    Hit,
    IndexLocked,
    IndexSummary,
    IndexUnavailable,
    Retriever,
    SentenceTransformerEmbedder,
    build_index,
)
from indexer.build import ProgressFn

logger = logging.getLogger(__name__)


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or SentenceTransformerEmbedder(
            settings.embedding_model,
            batch_size=settings.embedding_batch_size,
            threads=settings.embedding_threads,
        )
        self.retriever = Retriever(
            settings.index_dir, self.embedder, mode=settings.retrieval_mode,
            ranking=settings.ranking, blend=settings.confidence_blend,
            coverage_weight=settings.coverage_weight,
        )

    def warm(self) -> None:
        """Load the model and the published index now rather than on the first request."""
        self.embedder.embed(["warm up"])
        try:
            self.retriever.current()
        except IndexUnavailable as exc:
            logger.warning("%s", exc)

    def search(self, query: str, audience: str = "public", k: int | None = None) -> list[Hit]:
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
            return self.retriever.search(query, audience, k)  # type: ignore[arg-type]
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc

    def article(self, article_id: str, audience: str = "public", query: str = "") -> Hit:
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
        return found

    def reindex(
        self,
        *,
        full: bool = False,
        skip_invalid: bool = False,
        lock_timeout: float = 0.0,
        progress: ProgressFn | None = None,
    ) -> IndexSummary:
        try:
            summary = build_index(
                self.settings.kb_dir,
                self.settings.index_dir,
                self.embedder,
                full=full,
                skip_invalid=skip_invalid,
                chunk_max_chars=self.settings.chunk_max_chars,
                keep_versions=self.settings.index_keep_versions,
                lock_timeout=lock_timeout,
                progress=progress,
            )
        except ArticleError as exc:
            raise InvalidArticle(str(exc)) from exc
        except IndexLocked as exc:
            raise ReindexInProgress(str(exc)) from exc
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

    def articles(self, audience: str = "public") -> list[dict[str, Any]]:
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
