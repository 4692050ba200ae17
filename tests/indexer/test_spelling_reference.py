"""The spelling lookup against its definition: optimal-string-alignment distance to every KB
word, in plain Python, on every word of the sample KB's dev and test questions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from frontline.evaluation.metrics import load_questions
from indexer import Retriever, spelling, terms
from indexer.retriever import IndexVersion

QUESTIONS = Path(__file__).resolve().parents[2] / "bench/data/sample_kb_questions.yml"


def osa(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two adjacent letters) from ``a`` to ``b``, no
    substring edited twice: the textbook dynamic programme."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


class Reference:
    """``spelling.Vocabulary``'s rules over the whole vocabulary, one word at a time."""

    def __init__(self, words: list[str]) -> None:
        self.words = set(words)

    def candidates(self, word: str) -> list[tuple[str, int]]:
        limit = spelling.max_distance(word)
        if not limit or word in self.words or word in spelling.english_words():
            return []
        found = [(known, osa(word, known)) for known in self.words
                 if not spelling.SAME_FIRST_LETTER or known[:1] == word[:1]]
        return sorted(((k, d) for k, d in found if d <= limit), key=lambda c: (c[1], c[0]))


@pytest.fixture(scope="module")
def version(sample_index: Path, real_embedder) -> IndexVersion:  # type: ignore[no-untyped-def]
    return Retriever(sample_index / "index", real_embedder).current()


@pytest.fixture(scope="module")
def reference(version: IndexVersion) -> Reference:
    return Reference([row[0] for row in version._conn().execute("SELECT word FROM vocabulary")])


def _questions() -> list[tuple[str, str]]:
    return [(q.question, q.audience) for q in load_questions(QUESTIONS)
            if q.split in ("dev", "test")]


def test_candidates_equal_the_definition_on_every_word_of_the_dev_and_test_questions(
        version: IndexVersion, reference: Reference) -> None:
    vocabulary = spelling.vocabulary(version._conn())
    assert vocabulary is not None
    words = sorted({w for text, _ in _questions() for w in terms.WORD.findall(text.lower())})
    differ = {w: (vocabulary.candidates(w), reference.candidates(w)) for w in words
              if vocabulary.candidates(w) != reference.candidates(w)}
    assert differ == {}
    looked_up = [w for w in words if reference.candidates(w)]
    assert len(words) > 1000 and len(looked_up) > 60  # the comparison is not vacuous
    assert sum(1 for w in looked_up if len(reference.candidates(w)) > 1) > 20  # ties ordered
    assert all((w in vocabulary) == (w in reference.words) for w in words)


def test_corrections_equal_the_definition_s_on_every_dev_and_test_question(
        version: IndexVersion, reference: Reference, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = version._conn()
    questions = _questions()

    def corrections() -> list[dict[str, str]]:
        return [terms.corrections(conn, terms.WORD.findall(text.lower()),
                                  public_only=audience == "public") for text, audience in questions]

    shipped = corrections()
    monkeypatch.setattr(spelling, "vocabulary", lambda conn: reference)
    assert corrections() == shipped
    assert sum(1 for fixed in shipped if fixed) > 40


def test_a_letter_s_words_are_one_range_of_the_stored_table(tmp_path: Path) -> None:
    path = tmp_path / "meta.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(spelling.SCHEMA)
    spelling.write(conn, ["uber", "ubers", "über", "umbrella", "email", "émail", "vault",
                          "zebra", "ţara", "tara"])
    conn.commit()
    assert spelling.read_shard(conn, "u") == ["uber", "ubers", "umbrella"]
    assert spelling.read_shard(conn, "ü") == ["über"]
    assert spelling.read_shard(conn, "é") == ["émail"]
    assert spelling.read_shard(conn, "ţ") == ["ţara"]
    assert spelling.read_shard(conn, "q") == []
    # Read through the connection, for its caller only, when no loaded version owns the file;
    # the owner's vocabulary (read from the file a letter at a time) once one does.
    unowned = spelling.vocabulary(conn)
    assert unowned is not None and unowned is not spelling.vocabulary(conn)
    assert unowned.candidates("umbrela") == [("umbrella", 1)]
    stored = spelling.owned(path)
    assert stored is not None and stored is spelling.vocabulary(conn)
    assert stored is spelling.owned(path)
    assert stored.candidates("umbrela") == [("umbrella", 1)]
    assert stored.candidates("ubre") == [("uber", 1)]
    assert stored.candidates("vaultt") == [("vault", 1)]
    conn.execute("INSERT INTO vocabulary (word) VALUES ('vaults')")
    assert conn.in_transaction  # the file is being written: read through the connection
    fresh = spelling.vocabulary(conn)
    assert fresh is not None and fresh is not stored
    assert fresh.candidates("vaultt") == [("vault", 1), ("vaults", 1)]
    conn.rollback()
    empty = sqlite3.connect(tmp_path / "empty.sqlite")
    empty.executescript(spelling.SCHEMA)
    assert spelling.vocabulary(empty) is None
    assert spelling.owned(tmp_path / "empty.sqlite") is None
