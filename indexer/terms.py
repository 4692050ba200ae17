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
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache

import snowballstemmer

# Bump when what ``terms`` returns changes: the indexer then rewrites every article's terms.
FORMAT = 2  # 2: with the article's audience (public flag)
MAX_QUERY_TERMS = 500  # a question is a sentence or two; beyond this, the rest is ignored
SCHEMA = """
CREATE TABLE IF NOT EXISTS article_terms (
    term TEXT NOT NULL,
    article_id TEXT NOT NULL,
    public INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (term, article_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS article_terms_article ON article_terms(article_id);
"""
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
    ones)."""
    conn.executemany(
        "INSERT OR IGNORE INTO article_terms (term, article_id, public) VALUES (?, ?, ?)",
        ((term, article_id, int(public)) for article_id, text, public in articles
         for term in terms(text)),
    )


def coverage(
    conn: sqlite3.Connection, query: str, article_ids: Sequence[str], total_articles: int,
    public_only: bool = False,
) -> dict[str, float]:
    """Each article's IDF-weighted share of the query's terms, in [0, 1].

    Two indexed lookups: the document frequency of the query's terms (among public articles
    only with ``public_only``; ``total_articles`` counts the same set), and which of them each
    candidate article contains. A query without topic words gets 1.0 everywhere
    (no evidence either way).
    """
    wanted = sorted(query_terms(query))[:MAX_QUERY_TERMS]
    if not wanted or not article_ids:
        return {a: 1.0 for a in article_ids}
    marks = ",".join("?" * len(wanted))
    frequency = dict(conn.execute(
        f"SELECT term, count(*) FROM article_terms WHERE term IN ({marks}) "
        f"{'AND public = 1 ' if public_only else ''}GROUP BY term",
        wanted,
    ).fetchall())
    weight = {t: math.log((total_articles + 1) / (frequency.get(t, 0) + 0.5)) for t in wanted}
    total = sum(weight.values())
    ids = list(dict.fromkeys(article_ids))
    found: dict[str, float] = dict.fromkeys(ids, 0.0)
    rows = conn.execute(
        f"SELECT article_id, term FROM article_terms WHERE term IN ({marks}) "
        f"AND article_id IN ({','.join('?' * len(ids))})",
        [*wanted, *ids],
    )
    for article_id, term in rows:
        found[article_id] += weight[term]
    return {a: found[a] / total for a in ids}
