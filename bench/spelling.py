"""What KB-vocabulary spelling correction costs (``indexer.spelling``, ``indexer.terms``).

Two parts, each as ratios against a baseline measured in the same run:

* **search** — the sample KB indexed with the real model; every dev question searched on one
  thread (``Retriever.search``: embedding, dense, lexical, classifier, coverage) with the
  vocabulary and without it (``spelling.vocabulary`` returning None: no correction), p50/p95
  of each and the correction's own cost (``terms.corrections`` on a question's words).
* **scale** — the lookup against vocabularies of growing size: the sample KB's words and
  stems, then 10x and 100x as many (the extra words made by editing KB words at random, so the
  lengths stay a KB's), each stored in a ``vocabulary`` table as the indexer writes it. For
  the shipped lookup (``spelling.Vocabulary``: a first letter's words read by a key-range scan
  on its first lookup, the few within reach scored with rapidfuzz's OSA distance) and for the
  SymSpell deletes index it replaced (``SymSpellVocabulary`` below, the code as it shipped
  before: one index a first letter, built on the first lookup that needs it; symspellpy is a
  bench-only dependency now), each in a fresh process: the first lookups of the typo'd words
  of the dev questions (each letter's read or build) and the slowest of them, memory (RSS)
  from the stored table to a warm lookup, the p50/p95 of looking the same words up again, and
  whether both give the same candidates for every word.

    nice .venv/bin/python bench/spelling.py [--sizes 10,100]
"""

from __future__ import annotations

import argparse
import gc
import random
import string
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frontline.evaluation.metrics import load_questions  # noqa: E402
from frontline.knowledge import default_embedding_model  # noqa: E402
from indexer import Retriever, build_index, spelling, terms  # noqa: E402
from indexer.embedding import SentenceTransformerEmbedder  # noqa: E402

QUESTIONS = REPO / "bench/data/sample_kb_questions.yml"


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def search_section(work: Path, questions: list[tuple[str, str]]) -> None:
    embedder = SentenceTransformerEmbedder(default_embedding_model(), threads=1)
    build_index(REPO / "knowledge_base", work / "index", embedder)
    retriever = Retriever(work / "index", embedder)
    version = retriever.current()
    conn = version._conn()
    real = spelling.vocabulary
    for text, audience in questions[:20]:  # warm: model, caches, vocabulary
        retriever.search(text, audience)  # type: ignore[arg-type]

    def timed(on: bool) -> list[float]:
        spelling.vocabulary = real if on else (lambda conn: None)  # type: ignore[assignment]
        found = []
        for text, audience in questions:
            started = time.perf_counter()
            retriever.search(text, audience)  # type: ignore[arg-type]
            found.append((time.perf_counter() - started) * 1000)
        spelling.vocabulary = real  # type: ignore[assignment]
        return found

    off, on = timed(False), timed(True)  # interleaved twice so drift hits both alike
    off2, on2 = timed(False), timed(True)
    off_p, on_p = percentiles(off + off2), percentiles(on + on2)
    correction = []
    for text, audience in questions:
        words = set(terms.WORD.findall(text.lower())) - terms.FUNCTION_WORDS
        started = time.perf_counter()
        terms.corrections(conn, words, public_only=audience == "public")
        correction.append((time.perf_counter() - started) * 1000)
    corr_p = percentiles(correction)
    fixed = sum(1 for text, audience in questions if terms.corrections(
        conn, set(terms.WORD.findall(text.lower())) - terms.FUNCTION_WORDS,
        public_only=audience == "public"))
    print(f"sample KB search, one thread, {len(questions)} dev questions x2 "
          f"({fixed} with a correction), vocabulary "
          f"{conn.execute('SELECT count(*) FROM vocabulary').fetchone()[0]} words")
    print(f"  without correction  p50 {off_p[0]:7.2f} ms  p95 {off_p[1]:7.2f} ms")
    print(f"  with correction     p50 {on_p[0]:7.2f} ms  p95 {on_p[1]:7.2f} ms  "
          f"(p95 ratio {on_p[1] / off_p[1]:.3f})")
    print(f"  terms.corrections alone p50 {corr_p[0]:.3f} ms  p95 {corr_p[1]:.3f} ms "
          f"({corr_p[1] / off_p[1]:.4f} of the search p95)")


def _mutated(word: str, rng: random.Random) -> str:
    letters = list(word)
    for _ in range(rng.randint(2, 4)):
        i = rng.randrange(len(letters) + 1)
        op = rng.random()
        if op < 0.4 or len(letters) < 4:
            letters.insert(i, rng.choice(string.ascii_lowercase))
        elif op < 0.7 and i < len(letters):
            del letters[i]
        elif i < len(letters):
            letters[i] = rng.choice(string.ascii_lowercase)
    return "".join(letters)


class SymSpellVocabulary:
    """The baseline: the SymSpell lookup ``spelling.Vocabulary`` replaced (as it shipped until
    2026-12-02): every stored word read into memory, then one symspellpy deletes index a first
    letter, built on the first lookup that needs it."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words: set[str] = set(words)
        self._by_letter: dict[str, list[str]] = {}
        for word in sorted(self.words):
            self._by_letter.setdefault(spelling.shard(word), []).append(word)
        self._indexes: dict[str, object] = {}

    def _index(self, word: str):  # type: ignore[no-untyped-def]
        from symspellpy import SymSpell

        key = spelling.shard(word)
        index = self._indexes.get(key)
        if index is None:
            index = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
            for known in self._by_letter.get(key, ()):
                index.create_dictionary_entry(known, 1)
            self._indexes[key] = index
        return index

    def candidates(self, word: str) -> list[tuple[str, int]]:
        from symspellpy import Verbosity

        distance = spelling.max_distance(word)
        if not distance or word in self.words or word in spelling.english_words():
            return []
        found = self._index(word).lookup(word, Verbosity.ALL, max_edit_distance=distance)
        return sorted(((s.term, s.distance) for s in found if s.term != word
                       and (not spelling.SAME_FIRST_LETTER or s.term[0] == word[0])),
                      key=lambda c: (c[1], c[0]))


@dataclass
class Measured:
    load_s: float  # reading the stored table (SymSpell: all of it; rapidfuzz: whether it has words)
    cold_s: float  # the first lookup of every typo: each first letter read, or its index built
    slowest_s: float  # the slowest of those first lookups
    rss_mb: float  # RSS grown from before the table was read to after the first lookups
    p50_us: float  # looking the same words up again
    p95_us: float
    found: dict[str, list[tuple[str, int]]]
    all_s: float = 0.0  # rapidfuzz: then every first letter of the vocabulary read
    all_rss_mb: float = 0.0
    held_mb: float = 0.0  # the packed letters' own size (``spelling._Shard``)
    letters: int = 0


def _measure(kind: str, path: str, typos: list[str]) -> Measured:
    """In a fresh process: from the stored vocabulary at ``path`` to a warm lookup of
    ``typos`` with the ``kind`` of lookup ("rapidfuzz": the shipped one, or "symspell")."""
    import sqlite3

    import rapidfuzz.distance
    import rapidfuzz.process
    import symspellpy

    # Modules imported first, so that the memory figure is the lookup's data alone.
    assert rapidfuzz.process and rapidfuzz.distance and symspellpy
    spelling.english_words()
    gc.collect()
    process = psutil.Process()
    before = process.memory_info().rss
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    started = time.perf_counter()
    vocabulary: spelling.Vocabulary | SymSpellVocabulary | None
    if kind == "rapidfuzz":  # as a loaded index version owns it
        vocabulary = spelling.owned(Path(path))
    else:
        vocabulary = SymSpellVocabulary(row[0] for row in conn.execute(
            "SELECT word FROM vocabulary"))
    assert vocabulary is not None
    load_s = time.perf_counter() - started
    cold, found = [], {}
    for word in typos:
        started = time.perf_counter()
        found[word] = vocabulary.candidates(word)
        cold.append(time.perf_counter() - started)
    gc.collect()
    grown = (process.memory_info().rss - before) / 2**20
    looked = []
    for _ in range(5):
        for word in typos:
            started = time.perf_counter()
            vocabulary.candidates(word)
            looked.append((time.perf_counter() - started) * 1e6)
    p50, p95 = percentiles(looked)
    measured = Measured(load_s, sum(cold), max(cold), grown, p50, p95, found)
    if isinstance(vocabulary, spelling.Vocabulary):  # every letter, as after every kind of typo
        letters = [row[0] for row in conn.execute(
            "SELECT DISTINCT substr(word, 1, 1) FROM vocabulary")]
        started = time.perf_counter()
        for letter in letters:
            _ = letter in vocabulary  # reads the letter's words
        measured.all_s = time.perf_counter() - started
        gc.collect()
        measured.all_rss_mb = (process.memory_info().rss - before) / 2**20
        measured.held_mb = sum(sys.getsizeof(s.text) + s.offsets.nbytes + s.lengths.nbytes
                               + s.masks.nbytes for s in vocabulary._shards.values()) / 2**20
        measured.letters = len(letters)
    return measured


def scale_section(work: Path, typos: list[str], factors: list[int]) -> None:
    import multiprocessing
    import sqlite3
    from concurrent.futures import ProcessPoolExecutor

    conn = Retriever(work / "index", SentenceTransformerEmbedder(
        default_embedding_model(), threads=1)).current()._conn()
    base = [row[0] for row in conn.execute("SELECT word FROM vocabulary")]
    rng = random.Random(7)
    shards = len({spelling.shard(w) for w in typos})
    print(f"vocabulary lookup, {len(typos)} typo'd words of the dev questions ({shards} first "
          "letters); each lookup in a fresh process, from the stored table to a warm lookup; "
          "ratios rapidfuzz / SymSpell")
    spawn = multiprocessing.get_context("spawn")
    for factor in [1, *factors]:
        words = set(base)
        while len(words) < factor * len(base):
            words.add(_mutated(rng.choice(base), rng))
        path = work / f"vocabulary-{factor}.sqlite"
        stored = sqlite3.connect(path)
        stored.executescript(spelling.SCHEMA)
        spelling.write(stored, sorted(words))
        stored.commit()
        stored.close()
        runs: dict[str, Measured] = {}
        for kind in ("rapidfuzz", "symspell"):
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                runs[kind] = pool.submit(_measure, kind, str(path), typos).result()
        new, old = runs["rapidfuzz"], runs["symspell"]
        same = sum(1 for w in typos if new.found[w] == old.found[w])
        print(f"  {len(words):8,d} words")
        for kind, m in runs.items():
            print(f"    {kind:9s} first lookups {m.cold_s:6.2f} s (slowest {m.slowest_s:5.2f} s, "
                  f"load {m.load_s:5.2f} s), RSS {m.rss_mb:+7.1f} MB, lookup p50 "
                  f"{m.p50_us:7.1f} us p95 {m.p95_us:7.1f} us")
        print(f"    ratio     first lookups {new.cold_s / old.cold_s:.4f}, slowest "
              f"{new.slowest_s / old.slowest_s:.4f}, RSS {new.rss_mb / max(old.rss_mb, 0.1):.3f}"
              f", p50 {new.p50_us / old.p50_us:.2f}, p95 {new.p95_us / old.p95_us:.2f}; the "
              f"same candidates for {same} of {len(typos)} words")
        print(f"    rapidfuzz, then all {new.letters} first letters read: {new.all_s:.2f} s "
              f"more, RSS {new.all_rss_mb:+.1f} MB in all ({new.held_mb:.2f} MB of it the "
              "packed words themselves)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100",
                        help="vocabulary sizes as multiples of the sample KB's (default 10,100)")
    args = parser.parse_args()
    labelled = [q for q in load_questions(QUESTIONS) if q.split == "dev"]
    questions = [(q.question, q.audience) for q in labelled]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        search_section(work, questions)
        conn = Retriever(work / "index", SentenceTransformerEmbedder(
            default_embedding_model(), threads=1)).current()._conn()
        vocabulary = spelling.vocabulary(conn)
        assert vocabulary is not None
        # The words a lookup runs for: neither in the KB nor English words (those return at
        # once), within the length rule.
        typos = sorted({w for text, _ in questions for w in terms.WORD.findall(text.lower())
                        if spelling.max_distance(w) and w not in vocabulary
                        and w not in spelling.english_words()})
        scale_section(work, typos, [int(s) for s in args.sizes.split(",") if s])


if __name__ == "__main__":
    main()
