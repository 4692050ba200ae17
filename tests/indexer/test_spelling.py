"""Spelling correction against the KB's own vocabulary, on the real sample KB's index."""

from __future__ import annotations

import gc
import sqlite3
import weakref
from pathlib import Path

import pytest

from indexer import Retriever, build_index, lexical, spelling, terms
from indexer.retriever import IndexVersion
from tests.conftest import write_article


@pytest.fixture(scope="module")
def version(sample_index: Path, real_embedder) -> IndexVersion:  # type: ignore[no-untyped-def]
    return Retriever(sample_index / "index", real_embedder).current()


def _fts_has(conn: sqlite3.Connection, word: str) -> bool:
    return conn.execute("SELECT 1 FROM chunks_fts_public_vocab WHERE term = ?",
                        (lexical.porter(word),)).fetchone() is not None


def test_a_typo_is_corrected_to_the_kb_word_and_found_by_lexical_search(
        version: IndexVersion) -> None:
    conn = version._conn()
    assert terms.corrections(conn, ["intergration", "slak", "dissapear", "subscribtion"],
                             public_only=True) == {
        "intergration": "integration", "slak": "slack", "dissapear": "disappear",
        "subscribtion": "subscription"}
    # Spelled as typed, no lexical row holds the words: only the correction finds them.
    assert not _fts_has(conn, "slak") and not _fts_has(conn, "intergration")
    hits = version.lexical_search("intergration with slak", "public", 5)
    assert hits
    assert version.entries[hits[0][0]].article_id == "slack-integration"
    assert ([version.entries[r].article_id for r, _ in hits]
            == [version.entries[r].article_id
                for r, _ in version.lexical_search("integration with slack", "public", 5)])


def test_a_genuinely_unknown_word_is_not_corrected_into_a_kb_word(version: IndexVersion) -> None:
    conn = version._conn()
    assert terms.corrections(conn, ["todoist", "clickup", "whatsapp", "telegram"],
                             public_only=True) == {}
    assert version.lexical_search("todoist clickup", "public", 5) == []
    # An English word the KB lacks is a word, not a typo of the KB word next to it ("kick"
    # and "pick", "watch" and "match"); nor is a word one edit from a KB word that starts
    # with another letter ("airtable" and "sortable").
    vocabulary = spelling.vocabulary(conn)
    assert vocabulary is not None
    assert all(w in vocabulary for w in ("pick", "match", "sortable"))
    assert terms.corrections(conn, ["kick", "watch", "airtable"], public_only=True) == {}
    # Too short to correct, or not a word: left as typed.
    assert terms.corrections(conn, ["tsk", "tl423", "2fa"], public_only=True) == {}
    # A word the KB holds is never "corrected", however close to another.
    assert terms.corrections(conn, ["seats", "sets", "calendar"], public_only=True) == {}


def test_coverage_with_a_typo_equals_coverage_with_the_right_spelling(
        version: IndexVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = ["calendar-sync", "restore-deleted-items", "recurring-tasks"]
    typed = version.coverage("tasks I finish dissapear from my calendar", ids, "public")
    right = version.coverage("tasks I finish disappear from my calendar", ids, "public")
    assert typed == right
    assert typed["calendar-sync"] > 0.6
    # Without the vocabulary the typo weighs most and matches nothing: coverage drops.
    monkeypatch.setattr(spelling, "vocabulary", lambda conn: None)
    assert version.coverage("tasks I finish dissapear from my calendar", ids,
                            "public")["calendar-sync"] < typed["calendar-sync"] - 0.2


def test_a_typo_of_a_function_word_or_an_apostrophe_less_contraction_is_dropped(
        version: IndexVersion) -> None:
    conn = version._conn()
    assert terms.corrections(conn, ["wich"], public_only=True) == {"wich": ""}
    assert terms.query_terms("I cant log in, it doesnt work") == {"log", "work"}
    assert (version.coverage("wich region", ["data-residency"], "public")
            == version.coverage("region", ["data-residency"], "public"))


def test_a_public_search_is_never_corrected_to_a_word_only_internal_articles_use(
        version: IndexVersion) -> None:
    conn = version._conn()
    assert terms.corrections(conn, ["chargback"]) == {"chargback": "chargeback"}
    assert terms.corrections(conn, ["chargback"], public_only=True) == {}
    hits = version.lexical_search("customer opened a chargback", "internal", 3)
    assert version.entries[hits[0][0]].article_id == "handling-chargebacks"


def test_candidates_are_nearest_first_within_the_length_rule() -> None:
    vocabulary = spelling.Vocabulary.of(["seats", "sets", "integration", "integrations", "cat"])
    assert vocabulary.candidates("seets") == [("seats", 1), ("sets", 1)]
    assert vocabulary.candidates("intgration")[0] == ("integration", 1)
    assert ("integrations", 2) in vocabulary.candidates("intgration")  # long: two edits
    assert vocabulary.candidates("sxts") == [("sets", 1)]  # four letters: one edit only
    assert vocabulary.candidates("sxtx") == []
    assert vocabulary.candidates("cst") == []  # under four letters: never corrected
    assert vocabulary.candidates("seats") == []  # a KB word is not a typo
    assert spelling.Vocabulary.of(["pick"]).candidates("pikc") == [("pick", 1)]
    assert spelling.Vocabulary.of(["pick"]).candidates("kick") == []  # an English word
    assert spelling.Vocabulary.of(["sortable"]).candidates("sortabel") == [("sortable", 1)]
    assert spelling.Vocabulary.of(["sortable"]).candidates("zortable") == []  # first letter


def test_an_edited_article_s_new_words_are_corrected_to_after_reindex(
        small_kb: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(small_kb, tmp_path / "index", real_embedder)
    retriever = Retriever(tmp_path / "index", real_embedder)
    conn = retriever.current()._conn()
    assert terms.corrections(conn, ["pasword", "zorbulatr"], public_only=True) == {
        "pasword": "password"}
    write_article(small_kb, "zorbulator", "Configure the zorbulator", """
        The zorbulator turns reports into charts.
        """)
    build_index(small_kb, tmp_path / "index", real_embedder)
    version = retriever.current()
    assert terms.corrections(version._conn(), ["zorbulatr"], public_only=True) == {
        "zorbulatr": "zorbulator"}
    hits = version.lexical_search("how do I set up the zorbulatr", "public", 3)
    assert version.entries[hits[0][0]].article_id == "zorbulator"


def test_a_loaded_version_owns_its_vocabulary_and_it_goes_with_the_version(
        small_kb: Path, tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(small_kb, tmp_path / "index", real_embedder)
    retriever = Retriever(tmp_path / "index", real_embedder)
    first = retriever.current()
    assert first.vocabulary is not None
    assert spelling.vocabulary(first._conn()) is first.vocabulary  # what corrections use
    assert terms.corrections(first._conn(), ["pasword"], public_only=True) == {
        "pasword": "password"}
    owned = weakref.ref(first.vocabulary)
    write_article(small_kb, "zorbulator", "Configure the zorbulator", """
        The zorbulator turns reports into charts.
        """)
    build_index(small_kb, tmp_path / "index", real_embedder)
    second = retriever.current()
    assert second is not first and second.vocabulary is not first.vocabulary
    assert spelling.vocabulary(second._conn()) is second.vocabulary
    del first  # the retriever serves the new version and holds the old one no more
    gc.collect()
    assert owned() is None


def test_a_typo_as_near_a_stem_as_a_word_is_written_as_the_word(version: IndexVersion) -> None:
    # The vocabulary holds "expir" (the stem) and "expired", both one edit from "expird":
    # the embedding reads the corrected text, so it gets the word; coverage reads the stem.
    conn = version._conn()
    assert terms.corrections(conn, ["expird"]) == {"expird": "expired"}
    assert version.corrected("my invite link expird", "public") == "my invite link expired"
    assert (version.coverage("invite link expird", ["invite-teammates"], "public")
            == version.coverage("invite link expired", ["invite-teammates"], "public"))
