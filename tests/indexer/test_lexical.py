"""Lexical search at scale: a query's words are bounded by the rows they occur in."""

from __future__ import annotations

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
