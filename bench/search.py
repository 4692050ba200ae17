"""Search at scale: dense (exact vs approximate), lexical and the full search path on generated
knowledge bases of 10,000 and 100,000 articles with the sample KB's real vocabulary, and a
1 M-chunk dense index. Every figure is measured in this run, next to a baseline of the same run.

    .venv/bin/python bench/search.py            # 10k articles, 100k-vector dense index
    .venv/bin/python bench/search.py --scale    # + 100k articles and a 1 M-chunk index (long)

What is real and what is generated (embedding 1 M chunks with the model takes hours here):
* Text: articles are made of the sample KB's own sentences, titles and example questions,
  recombined (10 % internal), so term frequencies are those of a real help centre.
* Vectors: the real model embeds each of the sample KB's 2,000 most frequent words once; a
  text's vector is the normalized, IDF-weighted sum of its words' vectors. Neighbourhoods are
  therefore semantic, like the model's, and the dense index, its recall and its filter are
  exercised on realistic structure. The real model's own single-query embedding time is
  measured separately (bench/index.py measures throughput).

Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from frontline.knowledge import default_embedding_model
from indexer import (
    Retriever,
    SentenceTransformerEmbedder,
    articles,
    build_index,
    dense,
    lexical,
    load_articles,
)
from indexer.articles import watch_changes
from indexer.lexical import TOKEN

WORD = re.compile(r"[a-z]{3,}")


def percentiles(ms: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) * 1000 / repeat


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class WordVectorEmbedder:
    """Text → normalized IDF-weighted sum of real word embeddings (see the module docstring)."""

    def __init__(self, model: SentenceTransformerEmbedder, texts: Sequence[str],
                 vocabulary: int = 2000) -> None:
        counts = Counter(w for t in texts for w in set(WORD.findall(t.lower())))
        self.words = [w for w, _ in counts.most_common(vocabulary)]
        self.index = {w: i for i, w in enumerate(self.words)}
        self.idf = np.asarray([math.log(len(texts) / counts[w]) + 1 for w in self.words],
                              np.float32)
        self.vectors = model.embed(self.words) * self.idf[:, None]
        self.name, self.dim = f"words@{model.name}", self.vectors.shape[1]

    def embed(self, texts: Sequence[str], *, progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            ids = [self.index[w] for w in WORD.findall(text.lower()) if w in self.index]
            if ids:
                out[row] = self.vectors[ids].sum(axis=0)
            else:  # no known word: a fixed direction for the text
                out[row] = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(
                    self.dim)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        if progress is not None:
            progress(len(texts))
        return out


def generate_kb(sample: Path, folder: Path, n: int, seed: int = 11) -> list[str]:
    """``n`` articles recombined from the sample KB's sentences; returns example questions
    (one per generated article, the first 500) to search with."""
    rng = random.Random(seed)
    articles = load_articles(sample).articles
    sentences = [s.strip() for a in articles for s in re.split(r"(?<=[.?!])\s+", a.body)
                 if len(s.split()) >= 4 and not s.startswith(("#", "|", "-", "*"))]
    titles = [a.title for a in articles]
    questions = [q for a in articles for q in a.questions]
    folder.mkdir(parents=True)
    asked: list[str] = []
    for i in range(n):
        title = f"{rng.choice(titles)} ({rng.choice(titles).split()[-1].lower()} {i})"
        qs = rng.sample(questions, 2)
        body = "\n\n".join(f"## {rng.choice(titles)}\n" + " ".join(rng.sample(sentences, 4))
                           for _ in range(2))
        audience = "internal" if i % 10 == 9 else "public"
        quoted = "\n".join(f"  - {q!r}" for q in qs)
        (folder / f"g{i:06d}.md").write_text(
            f"---\nid: g{i:06d}\ntitle: {title!r}\naudience: {audience}\nquestions:\n{quoted}\n"
            f"---\n{body}\n")
        if len(asked) < 500:
            asked.append(rng.choice(qs))
    return asked


def old_lexical(version, query: str, n: int = 50) -> list:  # type: ignore[no-untyped-def]
    """The lexical query before this work: every word, the full table joined with chunks."""
    tokens = {t.lower() for t in TOKEN.findall(query)}
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in sorted(tokens))
    return version._conn().execute(
        "SELECT f.rowid, -bm25(chunks_fts) FROM chunks_fts AS f JOIN chunks AS c ON "
        "c.id = f.rowid WHERE chunks_fts MATCH ? AND (c.audience = 'public' OR 0) "
        "ORDER BY bm25(chunks_fts) LIMIT ?", (match, n)).fetchall()


def previous_lexical(version, query: str, n: int = 50) -> list:  # type: ignore[no-untyped-def]
    """The public lexical query of 2026-12-01 (the baseline of issue 15's lexical work): the
    rarest words within the row bounds, any of them matching (the rarest word alone when
    every word is common), document frequencies counted by the FTS5 vocabulary table on
    every query."""
    words = lexical.query_words(query)
    if not words:
        return []
    stems = {w: lexical.porter(w) for w in words}
    rows = dict(version._conn().execute(
        f"SELECT term, doc FROM chunks_fts_public_vocab WHERE term IN "
        f"({','.join('?' * len(set(stems.values())))})", sorted(set(stems.values()))).fetchall())
    kept: list[str] = []
    total = 0
    for word in sorted(words, key=lambda w: (rows.get(stems[w], 0), w)):
        count = rows.get(stems[word], 0)
        if kept and (count > 5_000 or total + count > 20_000):  # its bounds
            break
        kept.append(word)
        total += count
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in sorted(kept))
    return version._conn().execute(
        "SELECT rowid, -bm25(chunks_fts_public) FROM chunks_fts_public WHERE chunks_fts_public "
        "MATCH ? ORDER BY bm25(chunks_fts_public) LIMIT ?", (match, n)).fetchall()


def kb_section(sample: Path, words: WordVectorEmbedder, n: int, approximate_above: int,
               edit_only: bool = False) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        asked = generate_kb(sample, work / "kb", n)
        started = time.perf_counter()
        summary = build_index(work / "kb", work / "index", words,
                              approximate_above=approximate_above)
        build_s = time.perf_counter() - started
        before = rss_mb()
        retriever = Retriever(work / "index", words, ranking="auto")
        version = retriever.current()
        loaded_mb = rss_mb() - before
        print(f"\n{n:,} articles, {summary.chunks:,} chunks ({version.dense_kind} dense index, "
              f"classifier {'trained' if version.classifier is not None else 'not trained'}); "
              f"build {build_s:.0f} s with word vectors; loaded version +{loaded_mb:.0f} MB RSS "
              f"(process {rss_mb():.0f} MB)")
        rows = []
        for label, fn in () if edit_only else (
            ("lexical, before (all words, joined)", lambda q: old_lexical(version, q)),
            ("lexical, 2026-12-01 (OR of rarest, df read)",
             lambda q: previous_lexical(version, q)),
            ("lexical, now (cached df, AND if all common)",
             lambda q: version.lexical_search(q, "public", 50)),
            ("lexical, internal (whole table, no join)",
             lambda q: version.lexical_search(q, "internal", 50)),
            ("dense, public", lambda q: version.dense_search(words.embed([q])[0], "public", 50)),
            ("full path (hybrid + classifier/coverage)",
             lambda q: retriever.search(q, "public", 10)),
        ):
            fn(asked[0])
            rows.append((label, percentiles([timed(lambda q=q, fn=fn: fn(q)) for q in asked])))
        if edit_only:
            edit_section(work, words, n, build_s, approximate_above)
            return
        base = rows[0][1]
        print(f"  {'search (500 questions)':44s} {'p50 ms':>8s} {'p95 ms':>8s} "
              f"{'p50 / lexical before':>21s} {'p95 / lexical before':>21s}")
        for label, (p50, p95) in rows:
            print(f"  {label:44s} {p50:8.2f} {p95:8.2f} {p50 / base[0]:21.2f} "
                  f"{p95 / base[1]:21.2f}")
        edit_section(work, words, n, build_s, approximate_above)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def edit_section(work: Path, words: WordVectorEmbedder, n: int, build_s: float,
                 approximate_above: int) -> None:
    """Edit one article → searchable: the build plus the time until a running service's
    retriever (loaded before the edit) finds the edit, and a cold replica's load. "before":
    every article parsed and a full version written (parse cache and deltas off), as before
    this work; "now": the defaults (parse cache, a delta version above DELTA_ABOVE articles),
    the folder walked and every file's stat checked; "now, change list": the same with the
    edited file named (``frontline index --changed PATH``, as an editor's tool reports it):
    no walk, no stat of the other files."""
    service = Retriever(work / "index", words, mode="lexical", ranking="retrieval")
    service.current()
    target = sorted((work / "kb").glob("*.md"))[n // 2]
    # The KB as an editor finds it: its files older than the parse cache's racy window (a
    # file written less than RACY_S before a scan is never vouched for), the cache up to date.
    time.sleep(articles.RACY_S)
    build_index(work / "kb", work / "index", words, approximate_above=approximate_above)
    figures: list[tuple[str, float, float, float, str]] = []
    for label, options in (("before (no parse cache, full version)",
                            {"parse_cache": False, "delta_above": 10**12}),
                           ("now (parse cache, delta version)", {}),
                           ("now, change list (--changed, no walk)", {"changed": [target]})):
        word = f"zebracorn{len(figures)}"
        target.write_text(target.read_text() + f"\n## Drill\nThe {word} drill procedure.\n")
        edited = time.perf_counter()
        build_index(work / "kb", work / "index", words, approximate_above=approximate_above,
                    **options)
        built = time.perf_counter() - edited
        while not any(h.article_id == target.stem  # the new word alone: only the edit has it
                      for h in service.search(word, "internal", 3)):
            pass
        searchable = time.perf_counter() - edited
        started = time.perf_counter()
        cold = Retriever(work / "index", words, mode="lexical", ranking="retrieval")
        assert cold.search(word, "internal", 3)[0].article_id == target.stem
        figures.append((label, built, searchable, time.perf_counter() - started,
                        "delta" if service.current().manifest.base else "full"))
        del cold
    figures.append(watch_row(work, words, service, target, approximate_above))
    print(f"  load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min)")
    print(f"  {'edit one article (' + str(n) + ' articles)':44s} {'build s':>8s} "
          f"{'→ searchable s':>15s} {'cold replica s':>15s} {'version':>8s} "
          f"{'searchable / before':>20s}")
    for label, built, searchable, cold_s, kind in figures:
        print(f"  {label:44s} {built:8.2f} {searchable:15.2f} {cold_s:15.2f} {kind:>8s} "
              f"{searchable / figures[0][2]:20.3f}")
    print(f"  full build / edit → searchable now: {build_s / figures[1][2]:.0f}x")


def watch_row(work: Path, words: WordVectorEmbedder, service: Retriever, target: Path,
              approximate_above: int) -> tuple[str, float, float, float, str]:
    """Edit → searchable with ``frontline index --watch``'s loop: a real watcher
    (``watch_changes``) hands each batch of paths to ``build_index(changed=...)`` in a thread
    while the edit is written; the time includes the watcher's latency."""
    kb, index = work / "kb", work / "index"
    stop = threading.Event()
    changes = watch_changes(kb, rescan_s=3600, stop_event=stop)
    assert next(changes) is None  # its start-up full scan: what the rows above did
    builds: list[float] = []

    def follow() -> None:
        for batch in changes:
            if batch is not None:
                started = time.perf_counter()
                build_index(kb, index, words, approximate_above=approximate_above,
                            changed=batch)
                builds.append(time.perf_counter() - started)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    word = "zebracornwatch"
    target.write_text(target.read_text() + f"\n## Drill\nThe {word} drill procedure.\n")
    edited = time.perf_counter()
    while not any(h.article_id == target.stem
                  for h in service.search(word, "internal", 3)):
        time.sleep(0.005)  # poll without taking the builder thread's interpreter time
    searchable = time.perf_counter() - edited
    stop.set()
    thread.join(timeout=30)
    started = time.perf_counter()
    cold = Retriever(index, words, mode="lexical", ranking="retrieval")
    assert cold.search(word, "internal", 3)[0].article_id == target.stem
    return ("now, --watch (watcher + change list)", builds[0] if builds else float("nan"),
            searchable, time.perf_counter() - started,
            "delta" if service.current().manifest.base else "full")


def dense_section(words: WordVectorEmbedder, texts: list[str], queries: list[str], n: int,
                  nprobes: Sequence[int] = (8, 16, 32, 64)) -> None:
    """``n`` vectors made from real texts (recombined sentences), 10 % internal; exact vs IVF."""
    import faiss

    rng = np.random.default_rng(5)
    base = words.embed(texts)
    picks = rng.integers(0, len(base), size=(n, 3))
    vectors = base[picks[:, 0]] + base[picks[:, 1]] * 0.6 + base[picks[:, 2]] * 0.3
    vectors += rng.standard_normal(vectors.shape).astype(np.float32) * 0.02
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1, n + 1, dtype=np.int64)
    public = faiss.IDSelectorBatch(ids[ids % 10 != 0])
    q = words.embed(queries)
    before = rss_mb()
    started = time.perf_counter()
    exact = dense.exact(vectors.shape[1], vectors, ids)
    exact_build = time.perf_counter() - started
    started = time.perf_counter()
    approx = dense.approximate(vectors, ids)
    approx_build = time.perf_counter() - started
    params = dense.search_parameters(exact, public)
    truth = [exact.search(q[i : i + 1], 10, params=params)[1][0] for i in range(len(q))]
    exact_ms = percentiles([timed(lambda i=i: exact.search(q[i : i + 1], 10, params=params))
                            for i in range(len(q))])
    print(f"\ndense index, {n:,} vectors ({dense.kind(approx)}; public filter inside the "
          f"search, 10 % internal): exact build {exact_build:.1f} s, IVF train+add "
          f"{approx_build:.1f} s, both indexes +{rss_mb() - before:.0f} MB RSS")
    print(f"  {'index':18s} {'p50 ms':>8s} {'p95 ms':>8s} {'Recall@10':>10s} "
          f"{'p50 / exact':>12s} {'p95 / exact':>12s}")
    print(f"  {'exact (flat)':18s} {exact_ms[0]:8.2f} {exact_ms[1]:8.2f} {1.0:10.3f} "
          f"{1.0:12.2f} {1.0:12.2f}")
    for nprobe in nprobes:
        p = dense.search_parameters(approx, public, nprobe)
        found = [approx.search(q[i : i + 1], 10, params=p)[1][0] for i in range(len(q))]
        recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth,
                                                                           strict=True)]))
        ms = percentiles([timed(lambda i=i, p=p: approx.search(q[i : i + 1], 10, params=p))
                          for i in range(len(q))])
        print(f"  {'IVF nprobe ' + str(nprobe):18s} {ms[0]:8.2f} {ms[1]:8.2f} {recall:10.3f} "
              f"{ms[0] / exact_ms[0]:12.3f} {ms[1] / exact_ms[1]:12.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--scale", action="store_true",
                        help="also 100,000 articles and a 1 M-chunk dense index (long)")
    parser.add_argument("--approximate-above", type=int, default=dense.APPROXIMATE_ABOVE)
    parser.add_argument("--vectors", type=str, default=None,
                        help="dense-index sizes, comma-separated (default 100000, with "
                             "--scale also 1000000; 0 for none)")
    parser.add_argument("--edit-only", action="store_true",
                        help="of the generated KBs, only the edit → searchable table")
    parser.add_argument("--articles", type=str, default=None,
                        help="generated KB sizes, comma-separated (default 10000, with "
                             "--scale also 100000; 0 for none)")
    args = parser.parse_args()

    def sizes(given: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
        if given is None:
            return default
        return tuple(n for n in (int(x) for x in given.split(",") if x.strip()) if n > 0)

    vector_sizes = sizes(args.vectors, (100_000, 1_000_000) if args.scale else (100_000,))
    article_sizes = sizes(args.articles, (10_000, 100_000) if args.scale else (10_000,))
    import torch

    torch.set_num_threads(1)
    model = SentenceTransformerEmbedder(default_embedding_model(), threads=1)
    articles = load_articles(args.kb).articles
    texts = [f"{a.title}\n{a.body}" for a in articles] + [q for a in articles
                                                           for q in a.questions]
    queries = [q for a in articles for q in a.questions][::3][:300]
    ms = percentiles([timed(lambda q=q: model.embed([q])) for q in queries[:100]])
    print(f"real model, one query on one thread: p50 {ms[0]:.1f} ms, p95 {ms[1]:.1f} ms")
    words = WordVectorEmbedder(model, texts)
    sentences = [s for a in articles for s in re.split(r"(?<=[.?!])\s+", a.body)
                 if len(s.split()) >= 4]
    for n in vector_sizes:
        dense_section(words, sentences + texts, queries, n)
    for n in article_sizes:
        kb_section(args.kb, words, n, args.approximate_above, args.edit_only)


if __name__ == "__main__":
    main()
