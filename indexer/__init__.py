"""Knowledge-base indexer: load → validate → chunk → embed → FAISS + lexical index; Retriever."""

from indexer.articles import Article, ArticleError, LoadResult, load_articles, parse_article
from indexer.build import IndexSummary, build_index
from indexer.chunking import Chunk, chunk
from indexer.embedding import Embedder, SentenceTransformerEmbedder
from indexer.retriever import Hit, IndexUnavailable, Retriever
from indexer.store import IndexLocked

__all__ = [
    "Article",
    "ArticleError",
    "Chunk",
    "Embedder",
    "Hit",
    "IndexLocked",
    "IndexSummary",
    "IndexUnavailable",
    "LoadResult",
    "Retriever",
    "SentenceTransformerEmbedder",
    "build_index",
    "chunk",
    "load_articles",
    "parse_article",
]
