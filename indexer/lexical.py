"""Lexical (BM25) search over one SQLite FTS5 table of index entries.

``search`` takes a connection rather than a version, so any store holding the FTS5 tables
(``store.SCHEMA``) can be searched the same way. A public search runs on ``chunks_fts_public``
(public rows only: BM25's IDF and lengths come from public entries alone); an internal one on
``chunks_fts``.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections import OrderedDict
from typing import Literal, NamedTuple

from indexer import spelling, terms

Audience = Literal["public", "internal"]
TOKEN = re.compile(r"\w+", re.UNICODE)
# A lexical query keeps at most this many distinct words (function words dropped first), so
# its cost is bounded however long the message.
MAX_LEXICAL_TERMS = 32
# A lexical search scores every row matching its expression (about 1 µs a row in FTS5's
# bm25), so at scale its cost is the rows its words occur in. Words in more than
# MAX_TERM_ROWS rows are left out (they weigh little in BM25 and cost the most), then the
# rarest words are kept while they add up to at most MAX_LEXICAL_ROWS rows; the rarest word is
# always kept. When every word is in more than MAX_TERM_ROWS rows, the rows must hold the
# two rarest words (an AND), unless that leaves none. Neither bound can bind on a KB under
# 5,000 entries (the sample KB has 1,400).
MAX_TERM_ROWS = 5_000
MAX_LEXICAL_ROWS = 20_000


class Terms(NamedTuple):
    """What a lexical search matches: rows holding any of ``words``, or every one of them."""

    words: list[str]
    every: bool = False


def query_words(query: str) -> list[str]:
    """``query``'s distinct lower-case words without function words, at most
    ``MAX_LEXICAL_TERMS`` (the longest first)."""
    tokens = {t.lower() for t in TOKEN.findall(query)} - terms.FUNCTION_WORDS
    return sorted(tokens, key=lambda t: (-len(t), t))[:MAX_LEXICAL_TERMS]


def search(conn: sqlite3.Connection, query: str, audience: Audience, n: int, *,
           public_table: bool = True, vocabulary: bool = True,
           correct: bool = True) -> list[tuple[int, float]]:
    """BM25 over the entries ``audience`` may see: ``(rowid, score)`` best first, the query's
    distinct words without function words (at most ``MAX_LEXICAL_TERMS``), typos of KB
    words corrected (``terms.corrections``), as ``plan`` bounds them. ``public_table``: the
    store has ``chunks_fts_public``; ``vocabulary``: it has the FTS5 vocabulary table the
    row bounds are read from (older versions have neither); ``correct=False``: the caller
    corrected ``query`` already."""
    words = query_words(query)
    if not words:
        return []
    public = audience == "public" and public_table
    # A typo of a KB word searches as that word (terms.corrections); an unknown word as itself.
    if correct:
        words = terms.corrected_words(conn, words, public_only=audience == "public")
    if not words:
        return []
    table = "chunks_fts_public" if public else "chunks_fts"
    chosen = plan(conn, words, table) if vocabulary else Terms(words)
    if chosen.every:
        found = _bm25(conn, table, _expression(chosen.words, " AND "), audience, public, n)
        if found:
            return found
        chosen = Terms(chosen.words[:1])
    return _bm25(conn, table, _expression(chosen.words, " OR "), audience, public, n)


def _expression(words: list[str], operator: str) -> str:
    return operator.join('"' + t.replace('"', '""') + '"' for t in sorted(words))


def _bm25(conn: sqlite3.Connection, table: str, match: str, audience: Audience, public: bool,
          n: int) -> list[tuple[int, float]]:
    if public or audience == "internal":  # one table holds exactly the rows to score
        rows = conn.execute(
            f"SELECT rowid, -bm25({table}) FROM {table} "
            f"WHERE {table} MATCH ? ORDER BY bm25({table}) LIMIT ?",
            (match, n),
        )
    else:  # a public search on a store without chunks_fts_public
        rows = conn.execute(
            "SELECT f.rowid, -bm25(chunks_fts) FROM chunks_fts AS f "
            "JOIN chunks AS c ON c.id = f.rowid "
            "WHERE chunks_fts MATCH ? AND c.audience = 'public' "
            "ORDER BY bm25(chunks_fts) LIMIT ?",
            (match, n),
        )
    return [(int(r[0]), float(r[1])) for r in rows]


def plan(conn: sqlite3.Connection, words: list[str], table: str) -> Terms:
    """``words`` within the row bounds (``MAX_TERM_ROWS``, ``MAX_LEXICAL_ROWS``), by the
    document frequencies of their Porter stems (the FTS5 tokenizer's) in ``table``: the
    rarest words, any of them matching — or, when every word is in more than
    ``MAX_TERM_ROWS`` rows, the two rarest, both matching."""
    rows = frequencies(conn, table, [porter(w) for w in words])
    ranked = sorted(words, key=lambda w: (rows.get(porter(w), 0), w))
    distinct: list[str] = []  # one word a stem, rarest first
    for word in ranked:
        if all(porter(word) != porter(d) for d in distinct):
            distinct.append(word)
    if len(distinct) > 1 and rows.get(porter(distinct[0]), 0) > MAX_TERM_ROWS:
        return Terms(distinct[:2], every=True)
    return Terms(bounded(conn, words, table))


def bounded(conn: sqlite3.Connection, words: list[str], table: str) -> list[str]:
    """``words`` within the row bounds (``MAX_TERM_ROWS``, ``MAX_LEXICAL_ROWS``), by the
    document frequencies of their Porter stems (the FTS5 tokenizer's) in ``table``."""
    stems = {w: porter(w) for w in words}
    rows = frequencies(conn, table, list(stems.values()))
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


# FTS5 stores no document frequencies: its vocabulary table counts a term's rows by reading
# all of them (about 1 ms per 20,000 rows), for common words too. They are kept per database
# file and content (path, inode, size, modification time, the connection's own changes: an
# index version's file never changes once written), for the last few files.
_FREQUENCY_FILES = 8
_frequencies: OrderedDict[tuple[object, ...], dict[str, int]] = OrderedDict()
_frequencies_lock = threading.Lock()


def frequencies(conn: sqlite3.Connection, table: str, stems: list[str]) -> dict[str, int]:
    """Rows of ``table`` holding each of ``stems`` (absent: not in the table), from its FTS5
    vocabulary table ``{table}_vocab``."""
    distinct = sorted(set(stems))
    if not distinct:
        return {}
    key = _file_key(conn, table)
    cached: dict[str, int] = {}
    if key is not None:
        with _frequencies_lock:
            cached = _frequencies.get(key, {})
            if key in _frequencies:
                _frequencies.move_to_end(key)
    missing = [s for s in distinct if s not in cached]
    if missing:
        # Only the table's own terms are kept (a bounded vocabulary, whatever is asked).
        found = dict(conn.execute(
            f"SELECT term, doc FROM {table}_vocab WHERE term IN ({','.join('?' * len(missing))})",
            missing).fetchall())
        if key is not None:
            with _frequencies_lock:
                stored = _frequencies.setdefault(key, {})
                stored.update(found)
                while len(_frequencies) > _FREQUENCY_FILES:
                    _frequencies.popitem(last=False)
        cached = {**cached, **found}
    return {s: cached[s] for s in distinct if cached.get(s)}


def _file_key(conn: sqlite3.Connection, table: str) -> tuple[object, ...] | None:
    """The identity of ``conn``'s main database file, its content and ``table``, or None
    when it has none to trust (``spelling.file_key``)."""
    key = spelling.file_key(conn)
    return None if key is None else (*key, table)


_porter_local = threading.local()


@functools.lru_cache(maxsize=65_536)
def porter(word: str) -> str:
    """``word``'s Porter stem, as FTS5's ``porter`` tokenizer stores it."""
    stemmer = getattr(_porter_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _porter_local.stemmer = snowballstemmer.stemmer("porter")
    return str(stemmer.stemWord(word))
