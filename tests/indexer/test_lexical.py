"""Lexical search at scale: a query's words are bounded by the rows they occur in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from indexer import Retriever, build_index, lexical


def test_common_words_are_left_out_but_the_rarest_is_kept(small_kb: Path, tmp_path: Path,
                                                          real_embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    build_index(small_kb, tmp_path / "index", real_embedder)
    version = Retriever(tmp_path / "index", real_embedder).current()
    counts = dict(version._conn().execute(
        "SELECT term, doc FROM chunks_fts_public_vocab WHERE term IN ('password', 'annual')"))
    assert counts["password"] > counts["annual"] >= 1
    query = "annual password"

    def bounded(words: list[str], table: str) -> list[str]:
        return lexical.bounded(version._conn(), words, table)

    assert bounded(["annual", "password"], "chunks_fts_public") == ["annual", "password"]
    monkeypatch.setattr(lexical, "MAX_TERM_ROWS", counts["annual"])
    assert bounded(["annual", "password"], "chunks_fts_public") == ["annual"]
    hits = version.lexical_search(query, "public", 10)
    assert hits and all("annual" in version.entries[r].text.lower() or "annual" in
                        version.articles[version.entries[r].article_id]["title"].lower()
                        for r, _ in hits)
    # Words sharing a stem ("passwords", "password") are looked up once.
    assert bounded(["annual", "passwords", "password"], "chunks_fts_public") == [
        "annual"]
    monkeypatch.setattr(lexical, "MAX_TERM_ROWS", 0)  # every word too common: the rarest
    assert bounded(["password", "annual"], "chunks_fts_public") == ["annual"]
    monkeypatch.setattr(lexical, "MAX_TERM_ROWS", 10**9)
    monkeypatch.setattr(lexical, "MAX_LEXICAL_ROWS", counts["password"])
    assert bounded(["password", "annual"], "chunks_fts_public") == ["annual"]


def _fts(path: Path, texts: list[str]) -> sqlite3.Connection:
    """A store with just the FTS5 tables lexical search reads (``store.SCHEMA``'s tokenizer)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE VIRTUAL TABLE chunks_fts_public USING fts5("
        "text, tokenize = 'porter unicode61 remove_diacritics 2');"
        "CREATE VIRTUAL TABLE chunks_fts_public_vocab USING fts5vocab(chunks_fts_public, 'row');")
    conn.executemany("INSERT INTO chunks_fts_public (rowid, text) VALUES (?, ?)",
                     list(enumerate(texts, start=1)))
    conn.commit()
    return conn


def _full_bm25(conn: sqlite3.Connection, words: str) -> dict[int, float]:
    return {r: -s for r, s in conn.execute(
        "SELECT rowid, bm25(chunks_fts_public) FROM chunks_fts_public "
        "WHERE chunks_fts_public MATCH ?", (words,))}


def test_when_every_word_is_common_rows_must_hold_the_two_rarest(tmp_path: Path,
                                                                 monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # "export" in 12 rows, "invoices" in 8, "workspace" in 30; 3 rows hold both rarest.
    texts = ([f"workspace note {i}" for i in range(19)]
             + [f"export the workspace archive {i}" for i in range(9)]
             + [f"invoices for the workspace {i}" for i in range(2)]
             + [f"export invoices as csv {i}" for i in range(3)]
             + [f"monthly invoices {i}" for i in range(3)])
    conn = _fts(tmp_path / "meta.sqlite", texts)
    query = "export workspace invoices"
    words = lexical.query_words(query)
    assert lexical.plan(conn, words, "chunks_fts_public") == lexical.Terms(
        ["invoices", "export", "workspace"])  # below the bounds: any word, all kept
    hits = lexical.search(conn, query, "public", 50)
    assert len(hits) == len(texts)

    monkeypatch.setattr(lexical, "MAX_TERM_ROWS", 5)  # every word is now common
    assert lexical.plan(conn, words, "chunks_fts_public") == lexical.Terms(
        ["invoices", "export"], every=True)
    hits = lexical.search(conn, query, "public", 50)
    both = {i for i, t in enumerate(texts, start=1) if "export" in t and "invoices" in t}
    assert {r for r, _ in hits} == both
    # The scores are FTS5's BM25 of the two words, as an OR search of them would give.
    full = _full_bm25(conn, '"export" OR "invoices"')
    assert all(abs(score - full[r]) < 1e-9 for r, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)

    # No row holds both rarest ("monthly" in 3 rows, "archive" in 9): the rarest alone.
    monkeypatch.setattr(lexical, "MAX_TERM_ROWS", 2)
    assert lexical.plan(conn, ["monthly", "archive", "workspace"], "chunks_fts_public") == (
        lexical.Terms(["monthly", "archive"], every=True))
    hits = lexical.search(conn, "monthly archive workspace", "public", 50)
    monthly = {i for i, t in enumerate(texts, start=1) if "monthly" in t}
    assert {r for r, _ in hits} == monthly


def test_document_frequencies_follow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "meta.sqlite"
    conn = _fts(path, ["refund policy", "refunds take five days", "reset your password"])
    stems = [lexical.porter("refunds"), lexical.porter("password"), "zebracorn"]
    assert lexical.frequencies(conn, "chunks_fts_public", stems) == {"refund": 2, "password": 1}
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert lexical.frequencies(reader, "chunks_fts_public", stems) == {"refund": 2,
                                                                       "password": 1}
    # A word the table lacks is not kept: what is kept stays within the table's vocabulary.
    assert not any("zebracorn" in kept for kept in lexical._frequencies.values())
    # New rows, on this connection (not yet committed, then committed) and seen by another.
    conn.execute("INSERT INTO chunks_fts_public (rowid, text) VALUES (4, 'zebracorn refund')")
    assert lexical.frequencies(conn, "chunks_fts_public", stems) == {
        "refund": 3, "password": 1, "zebracorn": 1}
    conn.commit()
    assert lexical.frequencies(reader, "chunks_fts_public", stems) == {
        "refund": 3, "password": 1, "zebracorn": 1}
    assert lexical.frequencies(sqlite3.connect(":memory:"), "chunks_fts_public", []) == {}


def test_internal_search_scores_every_row_and_public_only_public(small_kb: Path,
                                                                  tmp_path: Path,
                                                                  real_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(small_kb, tmp_path / "index", real_embedder)
    version = Retriever(tmp_path / "index", real_embedder).current()
    conn = version._conn()
    query = "refund after 14 days"
    internal = lexical.search(conn, query, "internal", 10)
    match = " OR ".join(f'"{w}"' for w in lexical.query_words(query))
    assert internal == [(r, -s) for r, s in conn.execute(
        "SELECT f.rowid, bm25(chunks_fts) FROM chunks_fts AS f JOIN chunks AS c "
        "ON c.id = f.rowid WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT 10",
        (match,))]
    assert "refund-exceptions" in {version.entries[r].article_id for r, _ in internal}
    for public_table in (True, False):
        public = lexical.search(conn, query, "public", 10, public_table=public_table)
        assert public and all(version.entries[r].audience == "public" for r, _ in public)
