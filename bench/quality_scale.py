"""Answer quality as the KB grows: the sample KB alone, then inside 5,000 and 20,000 articles.

    .venv/bin/python bench/quality_scale.py                  # 68 / 5,000 / 20,000 articles
    .venv/bin/python bench/quality_scale.py --sizes 5000     # fewer sizes
    .venv/bin/python bench/quality_scale.py --embed-only     # only fill the vector cache
    .venv/bin/python bench/quality_scale.py --classifier 5000,20000,50000  # the classifier alone
    .venv/bin/python bench/quality_scale.py --reindex 20000  # one question edit → reindex, undone
    .venv/bin/python bench/quality_scale.py --reuse --classifier-pool-only  # support pool ablation
    .venv/bin/python bench/quality_scale.py --reuse --questions q.yml  # another questions file

Each larger KB is the sample KB (``knowledge_base/``, unchanged) plus generated distractor
articles made of the sample KB's real vocabulary: titles spliced from two real titles,
example questions spliced from two real questions of different articles or built from its
content words, and a body of three real sentences (10 % of them internal). No distractor
copies a real article's question, so every labelled question still has one right answer —
but many near-topic neighbours compete for it. Distractor ``i`` is the same in every size, so
the 20,000-article KB contains the 5,000 one.

The labelled questions are the sample KB's ``dev`` split (``bench/data/sample_kb_questions.yml``)
and the search path, answer decision, thresholds and metrics are ``frontline eval``'s
(``frontline.evaluation``): the product's configured ranking and thresholds, the same at every
size. Covered = share of answerable questions whose expected article is answered or among the
clarify options; answered correctly = share of all questions answered with the expected article
(as `frontline eval` prints them). The drop is in points against the 68-article KB of the same run.

For each prototype classifier's KB it also prints the support pool (``pool_and_cpu``): how
often the right article is among the classifier's best, dense + lexical search's and their
union, and the CPU time of the classifier and its body support before and after batching.

Every chunk is embedded by the real model once and cached under
``var/bench-quality-scale/vectors.sqlite`` (gitignored), so a second run only searches.

Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from frontline.evaluation.metrics import calibrate, load_questions, objective, score, search_all
from frontline.evaluation.run import KB_BUDGET, MIXES, variant_name, with_mix
from frontline.knowledge import Mix, RankedSearch, Thresholds, tuning
from frontline.knowledge import calibration as calibration_file
from frontline.knowledge.base import default_thresholds
from frontline.knowledge.decision import NO_MIX
from frontline.settings import Settings
from indexer import Retriever, SentenceTransformerEmbedder, build_index, load_articles, store
from indexer import classifier as article_classifier
from indexer import retriever as retriever_module
from indexer.chunking import chunk
from indexer.retriever import SUPPORT_POOL, retrieved_classes, support_pool

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-quality-scale"
WORD = re.compile(r"[a-z]{4,}")
# Distractors draw their (title, body) from TOPICS generated topics and their three questions from
# QUESTIONS generated ones: the texts to embed stay ~16,000 at any size (embedding runs at ~10
# texts/s on a shared 2-core machine), while each article is a distinct mix.
TOPICS = 4000
QUESTIONS = 8000
STARTS = ("how do I", "why can't I", "where do I find", "can I change", "what happens to",
          "is there a way to", "who can see", "how long does")


class CachedEmbedder:
    """The real embedder behind a text → vector cache on disk (one row per distinct text)."""

    def __init__(self, inner: SentenceTransformerEmbedder, path: Path) -> None:
        self.inner = inner
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (model TEXT, key BLOB, vec BLOB, "
                        "PRIMARY KEY (model, key))")
        self.embedded = 0  # texts the model embedded in this process

    name = property(lambda self: self.inner.name)
    dim = property(lambda self: self.inner.dim)

    def embed(self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
              ) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).digest() for t in texts]
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), 900):
            part = keys[start:start + 900]
            marks = ",".join("?" * len(part))
            for key, vec in self.db.execute(
                    f"SELECT key, vec FROM v WHERE model = ? AND key IN ({marks})",
                    [self.name, *part]):
                found[key] = np.frombuffer(vec, np.float32)
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if progress is not None and len(found):
            progress(len(texts) - len(missing))
        for start in range(0, len(missing), 2048):  # stored as it goes: an interrupted run keeps
            part = missing[start:start + 2048]
            vectors = self.inner.embed([t for _, t in part], progress=progress)
            self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?, ?)",
                                [(self.name, k, v.astype(np.float32).tobytes())
                                 for (k, _), v in zip(part, vectors, strict=True)])
            self.db.commit()
            self.embedded += len(part)
            found.update({k: v for (k, _), v in zip(part, vectors, strict=True)})
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)


def generate(sample: Path, folder: Path, distractors: int, seed: int = 15) -> None:
    """The sample KB's files plus ``distractors`` generated articles (see the docstring)."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(sample, folder)
    articles = load_articles(sample).articles
    titles = [a.title for a in articles]
    asked = [(a.id, q) for a in articles for q in a.questions]
    sentences = [s.strip() for a in articles for s in re.split(r"(?<=[.?!])\s+", a.body)
                 if len(s.split()) >= 4 and not s.startswith(("#", "|", "-", "*"))]
    words = sorted({w for a in articles for w in WORD.findall(
        " ".join([a.title, *a.questions]).lower())})
    def splice(rng: random.Random) -> str:
        (a1, q1), (a2, q2) = rng.sample(asked, 2)
        while a1 == a2:
            a2, q2 = rng.choice(asked)
        w1, w2 = q1.split(), q2.split()
        return " ".join(w1[: max(1, len(w1) // 2)] + w2[len(w2) // 2:])

    def topic(j: int) -> tuple[str, str]:
        rng = random.Random(f"{seed}-topic-{j}")
        head, tail = (t.split() for t in rng.sample(titles, 2))
        title = " ".join(head[: max(1, len(head) // 2)] + tail[len(tail) // 2:])
        return title, f"## {rng.choice(titles)}\n" + " ".join(rng.sample(sentences, 3))

    def question(k: int) -> str:
        rng = random.Random(f"{seed}-question-{k}")
        if k % 3 == 2:
            return f"{rng.choice(STARTS)} {' '.join(rng.sample(words, 3))}"
        return splice(rng)

    gen = folder / "generated"
    gen.mkdir()
    for i in range(distractors):
        rng = random.Random(f"{seed}-{i}")
        title, body = topic(i % TOPICS)
        questions = [question(k) for k in rng.sample(range(QUESTIONS), 3)]
        audience = "internal" if i % 10 == 9 else "public"
        quoted = "\n".join(f"  - {json.dumps(q)}" for q in questions)
        (gen / f"d{i:06d}.md").write_text(
            f"---\nid: d{i:06d}\ntitle: {json.dumps(title)}\naudience: {audience}\n"
            f"questions:\n{quoted}\n---\n{body}\n")


def chunk_texts(kb: Path, max_chars: int) -> list[str]:
    return [c.embedding_text(a.title) for a in load_articles(kb).articles
            for c in chunk(a, max_chars=max_chars)]


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure(kb: Path, index: Path, embedder: CachedEmbedder, settings: Settings,
            questions: list, reuse: bool = False) -> list[dict[str, float | str]]:  # type: ignore[type-arg]
    """Build ``kb`` into ``index`` (or reuse a built one) and score the dev questions three
    ways: the product's configuration and thresholds; the same configuration with its
    confidence mix and thresholds calibrated on these questions at this size, as
    ``frontline eval --calibrate`` calibrates a KB (the shipped thresholds were calibrated so
    on the 68-article KB); and hybrid retrieval alone with its cosine thresholds (no
    classifier), for reference."""
    started = time.perf_counter()
    if index.exists() and not reuse:
        shutil.rmtree(index)
    summary = build_index(kb, index, embedder, full=not reuse,
                          chunk_max_chars=settings.chunk_max_chars, lock_timeout=3600)
    build_s = time.perf_counter() - started if summary.changed else float("nan")
    retriever = Retriever(index, embedder, mode=settings.retrieval_mode, ranking=settings.ranking,
                          nprobe=settings.index_nprobe)
    version = retriever.current()
    ranking = version.auto_ranking() if settings.ranking == "auto" else settings.ranking
    configured = variant_name(settings.retrieval_mode, settings.ranking)
    thresholds = (default_thresholds(settings, ranking) if configured == "auto" else
                  Thresholds(settings.answer_threshold, settings.clarify_threshold,
                             settings.clarify_margin))
    model = version.classifier
    common = {"articles": summary.articles, "chunks": summary.chunks, "build_s": build_s,
              "classifier": "none" if model is None else model.kind}

    def row(how: str, searched: list, report) -> dict[str, float | str]:  # type: ignore[no-untyped-def,type-arg]
        p50, p95 = percentiles([s.ms for s in searched])
        return {**common, "how": how, "covered": report.covered,
                "answered_ok": report.answered_correct, "r1": report.recall_at_1,
                "r5": report.recall_at_5, "una_answered": report.unanswerable_answered,
                "p50_ms": p50, "p95_ms": p95}

    search = RankedSearch(retriever, Mix(settings.confidence_blend, settings.coverage_weight))
    search.search("warm up", "public", 1)
    searched = search_all(search, questions)
    rows = [row(f"{ranking}, product thresholds", searched, score(searched, thresholds))]
    if ranking != "retrieval":
        best = None
        for mix in MIXES:
            tuned = [with_mix(s, mix) for s in searched]
            _, report = calibrate(tuned, max_unanswerable_answered=KB_BUDGET)
            if best is None or objective(report) > objective(best[1]):
                best = (tuned, report)
        assert best is not None
        rows.append(row(f"{ranking}, calibrated on dev", *best))
        plain = RankedSearch(Retriever(index, embedder, mode="hybrid", ranking="retrieval",
                                       nprobe=settings.index_nprobe), NO_MIX)
        searched = search_all(plain, questions)
        rows.append(row("hybrid retrieval, no classifier",
                        searched, score(searched, default_thresholds(settings, "retrieval"))))
    return rows


def pool_and_cpu(index: Path, embedder: CachedEmbedder, settings: Settings,
                 questions: list) -> dict[str, float]:  # type: ignore[type-arg]
    """For a prototype classifier's index: how often the right article is in the pool
    ``retriever._supported`` re-scores (the classifier's ``SUPPORT_POOL`` best alone; dense +
    lexical search's articles alone; their union, as served), the pool's size, and the CPU time
    per answerable question (``time.thread_time``, one BLAS thread) of the classifier and its
    support: before (the classifier's pool, ``best_section`` once per article), the same pool
    batched (``best_sections``), the union batched (the classifier also scoring the retrieved
    articles exactly), and the whole ranking after the query's embedding (``Retriever.rank``:
    dense, lexical, classifier, support, coverage)."""
    from threadpoolctl import threadpool_limits

    retriever = Retriever(index, embedder, mode=settings.retrieval_mode,
                          ranking=settings.ranking, nprobe=settings.index_nprobe)
    version = retriever.current()
    answerable = [q for q in questions if q.expected is not None]
    vectors = embedder.embed([q.question for q in answerable])
    hits = {"classifier": 0, "retrieval": 0, "union": 0}
    sizes: list[int] = []
    cpu: dict[str, list[float]] = {"before": [], "batched": [], "union": [], "rank": []}
    clock = time.thread_time
    with threadpool_limits(1):
        for item, vector in zip(answerable, vectors, strict=True):
            model, allowed = version.classifier_for(item.audience)
            assert isinstance(model, article_classifier.PrototypeClassifier
                              | article_classifier.JoinedPrototypes)
            query = item.question
            best_dense, best_lexical = retriever.retrieved(version, query, vector, item.audience)
            started = clock()  # before: the classifier's pool, one best_section per article
            alone = support_pool(model.probabilities(vector, query, allowed))
            for i in alone:
                version.best_section(str(model.classes[i]), vector)
            cpu["before"].append((clock() - started) * 1000)
            started = clock()  # the same pool, batched
            top = support_pool(model.probabilities(vector, query, allowed))
            version.best_sections([str(model.classes[i]) for i in top], vector)
            cpu["batched"].append((clock() - started) * 1000)
            started = clock()  # as served: the union, batched
            found = retrieved_classes(model, best_dense, best_lexical)
            served = support_pool(model.probabilities(vector, query, allowed, found), found)
            version.best_sections([str(model.classes[i]) for i in served], vector)
            cpu["union"].append((clock() - started) * 1000)
            started = clock()
            retriever.rank(version, query, vector, item.audience, 10)
            cpu["rank"].append((clock() - started) * 1000)
            hits["classifier"] += item.expected in {str(model.classes[i]) for i in alone}
            hits["retrieval"] += item.expected in best_dense or item.expected in best_lexical
            hits["union"] += item.expected in {str(model.classes[i]) for i in served}
            sizes.append(len(served))
    out: dict[str, float] = {f"in_{k}": v / len(answerable) for k, v in hits.items()}
    out["pool_mean"] = float(np.mean(sizes))
    for name, values in cpu.items():
        out[f"{name}_p50"], out[f"{name}_p95"] = percentiles(values)
    return out


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def classifier_scale(sample: Path, embedder: CachedEmbedder, queries: Sequence[str],
                     sizes: Sequence[int]) -> None:
    """The classifier alone on the generated KBs' titles and questions (vectors from the
    cache): full fit, one article's questions edited → incremental refit, prediction as the
    retriever makes it (probabilities + ordering), and the stored arrays' size. Baseline: the
    logistic regression on the first 500 articles, in this run."""
    import tempfile

    largest = max(sizes)
    folder = WORK / f"kb-{largest}"
    if not folder.exists():
        generate(sample, folder, largest - len(load_articles(sample).articles))
    articles = load_articles(folder).articles
    sample_ids = {a.id for a in load_articles(sample).articles}
    articles.sort(key=lambda a: (a.id not in sample_ids, a.id))  # the sample KB first
    query_vectors = embedder.embed(list(queries))
    print("\n| classifier | articles | examples | full fit s | one article's questions edited: "
          "refit s (articles refitted) | predict p50 / p95 ms | same, one BLAS thread "
          "| same, the thread's CPU time | stored MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    baseline: float | None = None
    for kind, n in [("logistic regression", 500), *[("prototypes", n) for n in sizes]]:
        chosen = articles[:n]
        texts = [t for a in chosen for t in (a.title, *a.questions)]
        labels = [a.id for a in chosen for _ in (a.title, *a.questions)]
        vectors = embedder.embed(texts)
        scratch = Path(tempfile.mkdtemp(prefix="quality-scale-"))
        try:
            started = time.perf_counter()
            if kind == "prototypes":
                model = article_classifier.train_prototypes(texts, labels, vectors.__getitem__)
            else:
                model = article_classifier.train(vectors, texts, labels)  # type: ignore[assignment]
            fit_s = time.perf_counter() - started
            assert model is not None
            model.save(scratch)
            stored = (scratch / article_classifier.FILE).stat().st_size / 2**20
            edited = [*texts, queries[0]]
            labels2 = [*labels, labels[-1]]
            vectors2 = np.vstack([vectors, query_vectors[:1]])
            if kind == "prototypes":
                started = time.perf_counter()
                refit = article_classifier.fit(edited, labels2, vectors2.__getitem__,
                                               scratch / article_classifier.FILE)
                refit_s = f"{time.perf_counter() - started:.2f}"
                refitted = len(refit.refitted)  # type: ignore[union-attr]
            else:  # a logistic regression refits everything: another full fit (not re-timed)
                refit_s, refitted = "= full fit", n
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        from threadpoolctl import threadpool_limits

        def predict(model=model, clock=time.perf_counter
                    ) -> tuple[float, float]:  # type: ignore[no-untyped-def]
            """Prediction as the retriever makes it: the probabilities, then its candidates
            (a logistic regression's 50 best in order; the prototypes' ``SUPPORT_POOL`` best,
            unordered, which ``retriever._supported`` re-scores)."""
            ms = []
            for vector, query in zip(query_vectors, queries, strict=True):
                started = clock()
                probs = model.probabilities(vector, query)
                if model.kind == article_classifier.PrototypeClassifier.kind:
                    np.argpartition(-probs, SUPPORT_POOL - 1)[:SUPPORT_POOL]
                else:
                    np.argsort(-probs)[:50]
                ms.append((clock() - started) * 1000)
            return percentiles(ms)

        p50, p95 = predict()
        with threadpool_limits(1):
            one50, one95 = predict()
            cpu50, cpu95 = predict(clock=time.thread_time)
        baseline = fit_s if baseline is None else baseline
        print(f"| {kind} | {n:,} | {len(texts):,} | {fit_s:.2f} ({fit_s / baseline:.2f}× the "
              f"baseline) | {refit_s} ({refitted}) | {p50:.2f} / {p95:.2f} | {one50:.2f} / "
              f"{one95:.2f} | {cpu50:.2f} / {cpu95:.2f} | {stored:.1f} |",
              flush=True)


def reindex_edit(folder: Path, index: Path, embedder: CachedEmbedder, settings: Settings) -> None:
    """Through the index build: one generated article's questions edited, then a reindex of
    the built index (refits that article in both classifiers), then the edit undone."""
    article = folder / "generated" / "d000001.md"
    original = article.read_text()
    try:
        for label, text in (("edited", original.replace(
                "questions:\n", 'questions:\n  - "where did my reports go"\n', 1)),
                ("restored", original)):
            article.write_text(text)
            started = time.perf_counter()
            summary = build_index(folder, index, embedder,
                                  chunk_max_chars=settings.chunk_max_chars, lock_timeout=3600)
            version = store.version_path(index, str(summary.version))
            fitted = {name: len(getattr(article_classifier.ArticleClassifier.load(version, name),
                                        "refitted", []))
                      for name in (article_classifier.FILE, article_classifier.PUBLIC_FILE)}
            print(f"{label}: reindex {time.perf_counter() - started:.1f} s, "
                  f"{summary.reembedded} article re-embedded, articles refitted {fitted}",
                  flush=True)
    finally:
        article.write_text(original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5000,20000",
                        help="total article counts beside the sample KB alone (comma-separated)")
    parser.add_argument("--classifier", default="",
                        help="instead of the quality run: the classifier alone at these article "
                        "counts (comma-separated, e.g. 5000,20000,50000)")
    parser.add_argument("--reindex", type=int, default=0,
                        help="edit one article of a KB a previous run built (e.g. 20000), "
                        "reindex it and undo the edit")
    parser.add_argument("--reuse", action="store_true",
                        help="score the indexes a previous run built (build s then shows nan)")
    parser.add_argument("--questions", type=Path, default=None,
                        help="labelled questions file (default: the eval_questions setting); "
                        "its dev split is scored")
    parser.add_argument("--classifier-pool-only", action="store_true",
                        help="re-score the classifier's SUPPORT_POOL articles alone, without "
                        "dense and lexical search's (the ranking before 2026-12-02)")
    parser.add_argument("--embed-only", action="store_true",
                        help="generate the KBs and fill the vector cache, nothing else")
    args = parser.parse_args()
    if args.classifier_pool_only:
        retriever_module.SUPPORT_RETRIEVED = False
    settings = calibration_file.apply(Settings())
    sample = (ROOT / settings.kb_dir).resolve()
    base = len(load_articles(sample).articles)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    bad = [s for s in sizes if s <= base]
    if bad:
        parser.error(f"--sizes: each size must exceed the sample KB's {base} articles: {bad}")
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    model = tuning.model_for(settings, sample)
    embedder = CachedEmbedder(
        SentenceTransformerEmbedder(model, batch_size=settings.embedding_batch_size),
        WORK / "vectors.sqlite")
    print(f"embedding model: {embedder.name}; classifier: logistic regression up to "
          f"{article_classifier.MAX_CLASSES} articles, prototypes above")
    if args.classifier:
        queries = [q.question for q in load_questions(ROOT / settings.eval_questions)
                   if q.split == "dev"][:200]
        classifier_scale(sample, embedder, queries,
                         [int(n) for n in args.classifier.split(",") if n])
        return
    if args.reindex:
        import logging

        logging.basicConfig(level=logging.INFO, format="  %(name)s: %(message)s")
        logging.getLogger("indexer.embedding").setLevel(logging.WARNING)
        size = args.reindex
        reindex_edit(WORK / f"kb-{size}", WORK / f"index-{size}", embedder, settings)
        return
    kbs = [(base, sample)]
    for size in sorted(sizes):
        folder = WORK / f"kb-{size}"
        generate(sample, folder, size - base)
        kbs.append((size, folder))
    if args.embed_only:
        for size, folder in kbs:
            started = time.perf_counter()
            embedder.embed(chunk_texts(folder, settings.chunk_max_chars))
            print(f"{size:>6} articles: cache filled in {time.perf_counter() - started:.0f} s "
                  f"({embedder.embedded} texts embedded so far)", flush=True)
        return
    questions = [q for q in load_questions(args.questions or ROOT / settings.eval_questions)
                 if q.split == "dev"]
    print(f"{len(questions)} dev questions "
          f"({sum(q.expected is not None for q in questions)} answerable)\n")
    rows: list[dict[str, float | str]] = []
    pools: list[tuple[int, dict[str, float]]] = []
    for size, folder in kbs:
        measured = measure(folder, WORK / f"index-{size}", embedder, settings, questions,
                           args.reuse)
        rows += measured
        print(f"  {size} articles done: {measured}", flush=True)
        if measured[0]["classifier"] == "prototypes":
            pools.append((size, pool_and_cpu(WORK / f"index-{size}", embedder, settings,
                                             questions)))
            print(f"  {size} articles, support pool: {pools[-1]}", flush=True)
        if size == base:  # the scalable model on the small KB too, for comparison
            threshold = article_classifier.MAX_CLASSES
            article_classifier.MAX_CLASSES = 1
            try:
                forced = measure(folder, WORK / "index-forced", embedder, settings, questions,
                                 args.reuse)[:2]
            finally:
                article_classifier.MAX_CLASSES = threshold
            for row in forced:
                row["classifier"] = "prototypes (forced)"
            rows += forced
            print(f"  {size} articles, prototypes forced: {forced}", flush=True)
    print("\n| articles | chunks | classifier | configuration | covered | answered correctly | "
          "unanswerable answered | R@1 / R@5 | drop covered / answered (points) | build s "
          "| search p50 / p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        first = next(r for r in rows if r["how"] == row["how"])  # same configuration at 68
        drop_c = 100 * (float(first["covered"]) - float(row["covered"]))
        drop_a = 100 * (float(first["answered_ok"]) - float(row["answered_ok"]))
        print(f"| {row['articles']:,} | {row['chunks']:,} | {row['classifier']} | {row['how']} "
              f"| {100 * float(row['covered']):.1f} % | {100 * float(row['answered_ok']):.1f} % "
              f"| {100 * float(row['una_answered']):.1f} % | {float(row['r1']):.3f} / "
              f"{float(row['r5']):.3f} | {drop_c:+.1f} / {drop_a:+.1f} "
              f"| {float(row['build_s']):.0f} | {float(row['p50_ms']):.1f} / "
              f"{float(row['p95_ms']):.1f} |")
    if pools:
        print("\nThe support pool (answerable dev questions; CPU ms per question, "
              "time.thread_time, one BLAS thread)"
              + (" — classifier pool only" if args.classifier_pool_only else "") + ":\n")
        print("| articles | right article in pool: classifier's best / dense + lexical / "
              "union (served) | mean pool | classifier + support CPU p50 / p95 ms: before "
              "(one best_section per article) | classifier's pool batched | union batched "
              "| whole rank() |")
        print("|---|---|---|---|---|---|---|")
        for size, found in pools:
            print(f"| {size:,} | {100 * found['in_classifier']:.1f} / "
                  f"{100 * found['in_retrieval']:.1f} / {100 * found['in_union']:.1f} % "
                  f"| {found['pool_mean']:.0f} | "
                  + " | ".join(f"{found[f'{n}_p50']:.2f} / {found[f'{n}_p95']:.2f}"
                               for n in ("before", "batched", "union", "rank")) + " |")
    print(f"\n{embedder.embedded} texts embedded by the model in this run (the rest cached)")


if __name__ == "__main__":
    main()
