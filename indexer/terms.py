"""Query-term coverage: how much of a question an article's own words account for.

A question the knowledge base cannot answer often sits right next to one it can — "can I
import from Notion?" beside the CSV-import article — and an embedding scores the two alike.
What tells them apart is a salient word the article never uses. ``coverage`` is the share of a
question's words, weighted by how rare each is across the knowledge base (IDF), that occur in
an article's title, example questions or body; a word no article uses weighs the most.

Words are lower-cased and stemmed (Snowball English), so "invoices" meets "invoice". The
index stores each article's stems (``article_terms`` in meta.sqlite), written at index time,
with whether the article is public: a public search weighs words by public articles only, so
an internal article never changes a public score.

A question word no article (that the search sees) uses is looked up in the KB's vocabulary
(``indexer.spelling``): within a typo's reach of a KB word, it counts as that word
(``corrections``), so "dissapear" weighs and matches as "disappear"; with no KB word near it,
it stays unknown and weighs the most.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import snowballstemmer

from indexer import spelling

# Bump when what ``terms`` returns changes: the indexer then rewrites every article's terms.
FORMAT = 3  # 2: with the article's audience (public flag); 3: with the KB's vocabulary
MAX_QUERY_TERMS = 500  # a question is a sentence or two; beyond this, the rest is ignored
MAX_CORRECTIONS = 32  # unknown words a question may have corrected (the rest stay unknown)
SCHEMA = """
CREATE TABLE IF NOT EXISTS article_terms (
    term TEXT NOT NULL,
    article_id TEXT NOT NULL,
    public INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (term, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_terms_article ON article_terms(article_id);
""" + spelling.SCHEMA
WORD = re.compile(r"\w+", re.UNICODE)
# Words that carry no topic: a question's "cannot" or "my" says nothing about which article
# answers it, however rarely the articles happen to use them. Left out of a question's terms
# (articles store all their words).
_FUNCTION_WORDS = """
a an the and or but nor if then so than that this these those there here
i me my mine myself we us our ours you your yours he him his she her it its they them their
am is are was were be been being do does did doing done have has had having get got
can cannot could would should will shall may might must need
not no don didn doesn isn aren wasn weren won wouldn shouldn couldn hasn haven hadn
t s d ll re ve m
to of in on at by for with from into onto about as up out off over under again
what which who whom whose when where why how
just also too very any some all each every both more most other such own same only
please hi hello hey thanks thank ok okay
dont doesnt didnt cant couldnt wont wouldnt shouldnt isnt arent wasnt werent hasnt havent hadnt
im ive youre theyre thats whats
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
_local = threading.local()  # Snowball stemmers keep state while stemming: one per thread


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return str(stemmer.stemWord(word))


def terms(text: str) -> set[str]:
    """The distinct stemmed words of ``text``."""
    return {stem(word) for word in set(WORD.findall(text.lower()))}


def query_terms(text: str) -> set[str]:
    """The distinct stemmed words of a question, without function words."""
    return {stem(word) for word in set(WORD.findall(text.lower())) - FUNCTION_WORDS}


def write(conn: sqlite3.Connection, articles: Iterable[tuple[str, str, bool]]) -> None:
    """Store the terms of ``(article_id, text, public)`` triples (the caller deleted any old
    ones), and add their words and stems to the vocabulary (``spelling``)."""
    for article_id, text, public in articles:
        words = set(WORD.findall(text.lower()))
        stems = {stem(w) for w in words}
        conn.executemany(
            "INSERT OR IGNORE INTO article_terms (term, article_id, public) VALUES (?, ?, ?)",
            ((term, article_id, int(public)) for term in stems),
        )
        # Stems too: "dissapear" is two edits from "disappear", three from "disappears".
        spelling.write(conn, spelling.stored_words(words | stems))


def document_frequencies(conn: sqlite3.Connection, stems: Iterable[str],
                         public_only: bool = False) -> dict[str, int]:
    """How many articles (public ones only with ``public_only``) hold each of ``stems``;
    absent: none."""
    wanted = sorted(set(stems))
    if not wanted:
        return {}
    return dict(conn.execute(
        f"SELECT term, count(*) FROM article_terms WHERE term IN ({','.join('?' * len(wanted))}) "
        f"{'AND public = 1 ' if public_only else ''}GROUP BY term",
        wanted,
    ).fetchall())


def held(conn: sqlite3.Connection, stems: Iterable[str], public_only: bool = False) -> set[str]:
    """Which of ``stems`` some article (a public one with ``public_only``) holds: one seek
    of the ``(term, article_id)`` key each, where ``document_frequencies`` counts every row
    (up to one per article for a common word)."""
    sql = ("SELECT 1 FROM article_terms WHERE term = ? "
           f"{'AND public = 1 ' if public_only else ''}LIMIT 1")
    return {s for s in set(stems) if conn.execute(sql, (s,)).fetchone()}


def corrections(conn: sqlite3.Connection, words: Iterable[str], public_only: bool = False,
                known: dict[str, int] | None = None) -> dict[str, str]:
    """The KB word each of ``words`` (lower-case) is a typo of, for the words whose stem no
    article (public article with ``public_only``) holds and that have a KB word within
    ``spelling.max_distance``: the nearest, then the one most articles hold, then the first
    alphabetically. A word with no such KB word is left out (it stays unknown), and so is a
    typo of a function word ("cant" for "can"), as the empty string.

    ``known``: document frequencies the caller already read for ``words``' stems. Empty when
    the index has no vocabulary or no article terms (built before they existed).
    """
    words = sorted({w for w in words if spelling.max_distance(w)})
    if not words:
        return {}
    if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'article_terms'"
    ).fetchone():
        return {}
    if known is not None:
        unknown = [w for w in words if not known.get(stem(w))][:MAX_CORRECTIONS]
    else:  # every search asks this: whether a stem is held, not how often (a count is O(df))
        have = held(conn, {stem(w) for w in words}, public_only)
        unknown = [w for w in words if stem(w) not in have][:MAX_CORRECTIONS]
    # Most questions have no unknown word: only those need the vocabulary looked up.
    vocabulary = spelling.vocabulary(conn) if unknown else None
    if vocabulary is None:
        return {}
    candidates = {w: vocabulary.candidates(w) for w in unknown}
    seen = document_frequencies(
        conn, {stem(c) for found in candidates.values() for c, _ in found}, public_only)
    fixed: dict[str, str] = {}
    for word, found in candidates.items():
        ranked = sorted(((d, -seen.get(stem(c), 0), c) for c, d in found
                         if seen.get(stem(c)) or c in FUNCTION_WORDS))
        if ranked:
            best = ranked[0][2]
            if best not in spelling.english_words():
                # The vocabulary holds stems too: "expird" is as near the stem "expir" as the
                # word "expired". Coverage and BM25 read the stem either way; the embedding
                # reads the text, so a real word of the same stem and distance is written.
                best = next((c for d, _, c in ranked if d == ranked[0][0]
                             and stem(c) == stem(best) and c in spelling.english_words()),
                            best)
            fixed[word] = "" if best in FUNCTION_WORDS else best
    return fixed


def corrected_words(conn: sqlite3.Connection, words: Iterable[str],
                    public_only: bool = False) -> list[str]:
    """``words`` with each typo of a KB word replaced by that word (``corrections``), typos of
    function words dropped, in their order, without repeats."""
    words = list(words)
    fixed = corrections(conn, words, public_only)
    return list(dict.fromkeys(w for w in (fixed.get(w, w) for w in words) if w))


def coverage(
    conn: sqlite3.Connection, query: str, article_ids: Sequence[str], total_articles: int,
    public_only: bool = False, *, correct: bool = True,
) -> dict[str, float]:
    """Each article's IDF-weighted share of the query's terms, in [0, 1].

    Two indexed lookups: the document frequency of the query's terms (among public articles
    only with ``public_only``; ``total_articles`` counts the same set), and which of them each
    candidate article contains. A query without topic words gets 1.0 everywhere
    (no evidence either way). ``correct=False``: the caller corrected ``query`` already
    (``corrections``), so it is not looked up again.
    """
    words = sorted(set(WORD.findall(query.lower())) - FUNCTION_WORDS)
    wanted = sorted({stem(w) for w in words})[:MAX_QUERY_TERMS]
    if not wanted or not article_ids:
        return {a: 1.0 for a in article_ids}
    frequency = document_frequencies(conn, wanted, public_only)
    fixed = corrections(conn, words, public_only, known=frequency) if correct else {}
    if fixed:  # typos count as the KB words they misspell
        wanted = sorted({stem(fixed.get(w, w)) for w in words if fixed.get(w, w)}
                        )[:MAX_QUERY_TERMS]
        if not wanted:
            return {a: 1.0 for a in article_ids}
        frequency = document_frequencies(conn, wanted, public_only)
    weight = {t: math.log((total_articles + 1) / (frequency.get(t, 0) + 0.5)) for t in wanted}
    return weighted_coverage(conn, weight, article_ids)


def weighted_coverage(conn: sqlite3.Connection, weight: Mapping[str, float],
                      article_ids: Sequence[str]) -> dict[str, float]:
    """Each article's share of ``weight`` (a question's terms and their IDF weights, as
    ``coverage`` computes them): one indexed lookup; 1.0 everywhere without terms."""
    ids = list(dict.fromkeys(article_ids))
    wanted = sorted(weight)
    total = sum(weight.values())
    if not wanted or not ids or total <= 0:
        return {a: 1.0 for a in ids}
    found: dict[str, float] = dict.fromkeys(ids, 0.0)
    rows = conn.execute(
        f"SELECT article_id, term FROM article_terms WHERE term IN ({','.join('?' * len(wanted))}) "
        f"AND article_id IN ({','.join('?' * len(ids))})",
        [*wanted, *ids],
    )
    for article_id, term in rows:
        found[article_id] += weight[term]
    return {a: found[a] / total for a in ids}
