"""Lexical (BM25) search over one SQLite FTS5 table of index entries.

``search`` takes a connection rather than a version, so any store holding the FTS5 tables
(``store.SCHEMA``) can be searched the same way. A public search runs on ``chunks_fts_public``
(public rows only: BM25's IDF and lengths come from public entries alone); an internal one on
``chunks_fts``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Literal

from indexer import terms

Audience = Literal["public", "internal"]
TOKEN = re.compile(r"\w+", re.UNICODE)
# A lexical query keeps at most this many distinct words (function words dropped first), so
# its cost is bounded however long the message.
MAX_LEXICAL_TERMS = 32
# A lexical search scores every row matching any of its words, so at scale its cost is the
# rows its words occur in. Words in more than MAX_TERM_ROWS rows are left out (they weigh
# little in BM25 and cost the most), then the rarest words are kept while they add up to at
# most MAX_LEXICAL_ROWS rows; the rarest word is always kept. Neither bound can bind on a KB
# under 5,000 entries (the sample KB has 1,400).
MAX_TERM_ROWS = 5_000
MAX_LEXICAL_ROWS = 20_000


def search(conn: sqlite3.Connection, query: str, audience: Audience, n: int, *,
           public_table: bool = True, vocabulary: bool = True) -> list[tuple[int, float]]:
    """BM25 over the entries ``audience`` may see: ``(rowid, score)`` best first, the query's
    distinct words without function words (at most ``MAX_LEXICAL_TERMS``), any of them
    matching. ``public_table``: the store has ``chunks_fts_public``; ``vocabulary``: it has the
    FTS5 vocabulary table the row bounds are read from (older versions have neither)."""
    tokens = {t.lower() for t in TOKEN.findall(query)} - terms.FUNCTION_WORDS
    if not tokens:
        return []
    words = sorted(tokens, key=lambda t: (-len(t), t))[:MAX_LEXICAL_TERMS]
    public = audience == "public" and public_table
    if vocabulary:
        words = bounded(conn, words, "chunks_fts_public" if public else "chunks_fts")
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in sorted(words))
    if public:
        rows = conn.execute(
            "SELECT rowid, -bm25(chunks_fts_public) FROM chunks_fts_public "
            "WHERE chunks_fts_public MATCH ? ORDER BY bm25(chunks_fts_public) LIMIT ?",
            (match, n),
        )
        return [(int(r[0]), float(r[1])) for r in rows]
    rows = conn.execute(
        "SELECT f.rowid, -bm25(chunks_fts) AS score FROM chunks_fts AS f "
        "JOIN chunks AS c ON c.id = f.rowid "
        "WHERE chunks_fts MATCH ? AND (c.audience = 'public' OR ?) "
        "ORDER BY bm25(chunks_fts) LIMIT ?",
        (match, audience == "internal", n),
    )
    return [(int(r[0]), float(r[1])) for r in rows]


def bounded(conn: sqlite3.Connection, words: list[str], table: str) -> list[str]:
    """``words`` within the row bounds (``MAX_TERM_ROWS``, ``MAX_LEXICAL_ROWS``), by the
    document frequencies of their Porter stems (the FTS5 tokenizer's) in ``table``."""
    stems = {w: porter(w) for w in words}
    distinct = sorted(set(stems.values()))  # two words may share a stem
    rows = dict(conn.execute(
        f"SELECT term, doc FROM {table}_vocab WHERE term IN ({','.join('?' * len(distinct))})",
        distinct).fetchall())
    ranked = sorted(words, key=lambda w: (rows.get(stems[w], 0), w))
    kept: list[str] = []
    total = 0
    for word in ranked:
        n = rows.get(stems[word], 0)
        if kept and (n > MAX_TERM_ROWS or total + n > MAX_LEXICAL_ROWS):
            break
        kept.append(word)
        total += n
    return kept


_porter_local = threading.local()


def porter(word: str) -> str:
    """``word``'s Porter stem, as FTS5's ``porter`` tokenizer stores it."""
    stemmer = getattr(_porter_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _porter_local.stemmer = snowballstemmer.stemmer("porter")
    return str(stemmer.stemWord(word))
