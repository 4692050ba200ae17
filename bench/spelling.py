"""What KB-vocabulary spelling correction costs (``indexer.spelling``, ``indexer.terms``).

Two parts, each as ratios against a baseline measured in the same run:

* **search** — the sample KB indexed with the real model; every dev question searched on one
  thread (``Retriever.search``: embedding, dense, lexical, classifier, coverage) with the
  vocabulary and without it (``spelling.vocabulary`` returning None: no correction), p50/p95
  of each and the correction's own cost (``terms.corrections`` on a question's words).
* **scale** — the lookup against vocabularies of growing size: the sample KB's words and
  stems, then 10x and 100x as many (the extra words made by editing KB words at random, so the
  lengths stay a KB's). Build time (each first letter's index is built on its first lookup),
  memory, and the p50/p95 of looking up the typo'd words of
  the dev questions, next to a linear scan of the same vocabulary with the same distance
  (symspellpy's Damerau-OSA comparer: what the deletes index avoids).

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
          f"({fixed} with a correction), vocabulary {len(real(conn) or [])} words")
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


def scale_section(work: Path, typos: list[str], factors: list[int]) -> None:
    from symspellpy.editdistance import DistanceAlgorithm, EditDistance

    comparer = EditDistance(DistanceAlgorithm.DAMERAU_OSA)
    conn = Retriever(work / "index", SentenceTransformerEmbedder(
        default_embedding_model(), threads=1)).current()._conn()
    base = [row[0] for row in conn.execute("SELECT word FROM vocabulary")]
    rng = random.Random(7)
    print(f"vocabulary lookup, {len(typos)} typo'd words of the dev questions "
          f"(ratios against the sample KB's {len(base)} words)")
    first: tuple[float, float] | None = None
    for factor in [1, *factors]:
        words = set(base)
        while len(words) < factor * len(base):
            words.add(_mutated(rng.choice(base), rng))
        gc.collect()
        process = psutil.Process()
        before = process.memory_info().rss
        started = time.perf_counter()
        vocabulary = spelling.Vocabulary(words)
        load_s = time.perf_counter() - started
        cold = []  # the first lookup of each first letter builds that letter's index
        for word in typos:
            started = time.perf_counter()
            vocabulary.candidates(word)
            cold.append(time.perf_counter() - started)
        build_s = sum(cold)
        gc.collect()
        grown = (process.memory_info().rss - before) / 2**20
        looked = []
        for _ in range(3):
            for word in typos:
                started = time.perf_counter()
                vocabulary.candidates(word)
                looked.append((time.perf_counter() - started) * 1e6)
        p = percentiles(looked)
        first = first or p
        scan = []
        ordered = sorted(words)
        for word in typos[:5]:
            started = time.perf_counter()
            limit = spelling.max_distance(word)
            [w for w in ordered if comparer.compare(word, w, limit) >= 0]
            scan.append((time.perf_counter() - started) * 1e6)
        shards = len({w[0] for w in typos})
        print(f"  {len(words):8d} words: load {load_s:5.2f} s, then the {shards} first letters' "
              f"indexes {build_s:6.2f} s (the slowest {max(cold):5.2f} s), RSS {grown:+7.1f} MB, "
              f"lookup p50 {p[0]:7.1f} us p95 {p[1]:7.1f} us (p50 x{p[0] / first[0]:.2f}, "
              f"p95 x{p[1] / first[1]:.2f}); linear scan p50 "
              f"{percentiles(scan)[0] / 1000:7.2f} ms ({percentiles(scan)[0] / p[0]:.0f}x the "
              "lookup's p50)")
        del vocabulary


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
