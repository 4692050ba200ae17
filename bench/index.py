"""Indexing benchmark: embedding throughput against this machine's fp32 bound, and the time from
editing one article to it being searchable in a large generated knowledge base.

    .venv/bin/python bench/index.py [--articles 10000] [--kb knowledge_base]

Prints figures; asserts nothing. Every figure is measured in this run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from frontline.knowledge import default_embedding_model
from indexer import Retriever, SentenceTransformerEmbedder, build_index, load_articles, store, terms
from indexer.chunking import chunk


def gemm_rates(seconds: float = 3.0) -> dict[str, float]:
    """This machine's peak fp32 matrix-product rate (GFLOP/s) in each library a backend runs
    on: torch's default BLAS (``torch.matmul``: MKL), oneDNN (``torch.ops.mkldnn``, what the
    torch embedder runs) and onnxruntime's ``MatMul`` (MLAS, the onnx backend's), each the best
    of square products of 512, 1024 and 2048, ``seconds`` in all per library."""
    import torch

    from indexer.embedding import onednn_available

    def best(make: Callable[[int], Callable[[], object]]) -> float:
        top = 0.0
        for n in (512, 1024, 2048):
            run = make(n)
            run()
            reps, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds / 3:
                run()
                reps += 1
            top = max(top, 2 * n**3 * reps / (time.perf_counter() - started) / 1e9)
        return top

    def blas(n: int) -> Callable[[], object]:
        a, b = torch.randn(n, n), torch.randn(n, n)
        return lambda: torch.matmul(a, b)

    def onednn(n: int) -> Callable[[], object]:
        a, b = torch.randn(n, n), torch.randn(n, n)

        def run() -> object:
            with torch.inference_mode():
                return torch.ops.mkldnn._linear_pointwise(a, b, None, "none", [], "")
        return run

    def mlas(n: int) -> Callable[[], object]:
        import numpy as np
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        weight = numpy_helper.from_array(np.random.randn(n, n).astype(np.float32), "w")
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [weight])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        session = ort.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        x = np.random.randn(n, n).astype(np.float32)
        return lambda: session.run(None, {"x": x})

    rates = {"torch.matmul": best(blas)}
    if onednn_available():
        rates["oneDNN"] = best(onednn)
    with contextlib.suppress(ImportError):  # onnx / onnxruntime not installed
        rates["onnxruntime"] = best(mlas)
    return rates


def matmul_gflops(seconds: float = 3.0) -> float:
    """The fp32 bound: the best matrix-product rate of any library here (``gemm_rates``), so
    no backend can beat the bound by using a faster library than the one measured."""
    return max(gemm_rates(seconds).values())


def flops_per_text(model, n_tokens: int) -> float:  # type: ignore[no-untyped-def]
    """Forward-pass FLOPs of a BERT-style encoder for one text of ``n_tokens`` tokens."""
    config = model[0].auto_model.config
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    dense = 2 * (4 * h * h + 2 * h * i)  # Q, K, V, O projections + the two FFN matrices
    attention = 2 * 2 * n_tokens * h  # scores and weighted sum, per token
    return layers * n_tokens * (dense + attention)


def sample_kb_throughput(kb: Path, embedder: SentenceTransformerEmbedder, gflops: float) -> None:
    """Full build of the sample KB against the fp32 bound. The machine is shared and its matmul
    rate moves 2x within minutes, so the bound is the mean of the rate measured just before
    and just after the build (``gflops`` is the one measured at the start, printed beside)."""
    work = Path(tempfile.mkdtemp(prefix="bench-sample-"))
    try:
        articles = load_articles(kb).articles
        texts = [c.embedding_text(a.title) for a in articles for c in chunk(a)]
        model = embedder._load()
        limit = model.max_seq_length
        tokens = [min(len(model.tokenizer(t)["input_ids"]), limit) for t in texts]
        flops = sum(flops_per_text(model, n) for n in tokens)
        before = matmul_gflops(1.5)
        summary = build_index(kb, work / "index", embedder, full=True)
        after = matmul_gflops(1.5)
        embed_s = summary.embedded_chunks / summary.chunks_per_s
        print(f"  fp32 matmul just before / after the build: {before:.0f} / {after:.0f} GFLOP/s "
              f"(at the start: {gflops:.0f})")
        gflops = (before + after) / 2
        bound_chunks_s = gflops * 1e9 / (flops / len(texts))
        print(f"sample KB: {summary.articles} articles, {summary.chunks} chunks, "
              f"{statistics.mean(tokens):.0f} tokens/chunk on average (max {max(tokens)})")
        print(f"  full build: {summary.seconds:.1f} s in all, {embed_s:.1f} s embedding, "
              f"{summary.chunks_per_s:.0f} chunks/s")
        print(f"  fp32 bound at {gflops:.0f} GFLOP/s and {flops / len(texts) / 1e6:.1f} "
              f"MFLOP/chunk: {bound_chunks_s:.0f} chunks/s")
        print(f"  achieved / bound: {summary.chunks_per_s / bound_chunks_s:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


WORDS = [
    "account", "billing", "invoice", "project", "board", "task", "sprint", "label", "export",
    "import", "calendar", "report", "workspace", "seat", "plan", "upgrade", "notification",
    "mobile", "offline", "webhook", "token", "password", "login", "integration", "permission",
    "guest", "archive", "template", "dashboard", "reminder", "comment", "attachment",
    "timeline", "milestone", "filter", "search", "sync", "backup", "audit", "policy", "region",
    "vendor", "contract",
]


def generate_kb(folder: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        topic = " ".join(rng.sample(WORDS, 3))
        body = "\n\n".join(
            f"## {rng.choice(WORDS).title()} {rng.choice(WORDS)}\n"
            + " ".join(rng.choice(WORDS) for _ in range(40)) + "."
            for _ in range(2)
        )
        (folder / f"gen-{i:05d}.md").write_text(
            f"---\nid: gen-{i:05d}\ntitle: About {topic} {i}\naudience: public\n"
            f"questions:\n  - how does {topic} work\n  - problem with {topic}\n---\n"
            f"Article {i} explains {topic}.\n\n{body}\n"
        )


def edit_to_searchable(kb: Path, embedder: SentenceTransformerEmbedder, label: str) -> None:
    """Full build of ``kb`` (a scratch copy: it is edited), then three one-article edits, each
    timed until the running retriever finds the edit. The article classifier retrains on every
    reindex when the KB has 2 to 2,000 articles, so it is part of these figures."""
    index = kb.parent / "index"
    started = time.perf_counter()
    first = build_index(kb, index, embedder)
    assert first.version is not None
    classifier = (store.version_path(index, first.version) / "classifier.npz").exists()
    print(f"{label}: {first.articles} articles, {first.chunks} chunks, article classifier "
          f"{'trained' if classifier else 'not trained (too many articles)'}; full build "
          f"{time.perf_counter() - started:.0f} s ({first.chunks_per_s:.0f} chunks/s)")
    # The served version is what is measured; lexical ranking finds the made-up marker word
    # at once, whatever the article classifier thinks of it.
    retriever = Retriever(index, embedder, mode="lexical", ranking="retrieval")
    retriever.search("warm up", "public", 1)

    timings = []
    paths = sorted(kb.glob("*.md"))
    for attempt in range(3):
        marker = f"zebracorn{attempt} quarterly escalation drill"
        target = paths[(attempt * 997) % len(paths)]
        text = target.read_text()
        target.write_text(text.rstrip() + f"\n\n## Drill\nThe {marker} procedure.\n")
        edited = time.perf_counter()
        summary = build_index(kb, index, embedder)
        indexed = time.perf_counter()
        while True:
            hits = retriever.search(marker, "internal", 3)
            if any(h.article_id == target.stem for h in hits):  # file name = id here
                break
            if time.perf_counter() - indexed > 60:
                raise SystemExit(f"{target.stem} not found 60 s after its reindex")
        found = time.perf_counter()
        timings.append((indexed - edited, found - edited, summary.reembedded))
    for index_s, total_s, reembedded in timings:
        print(f"  edit one article → searchable: {total_s:.2f} s "
              f"(reindex {index_s:.2f} s, re-embedded {reembedded})")
    median = statistics.median(t[1] for t in timings)
    print(f"  median edit→searchable: {median:.2f} s; full build / incremental: "
          f"{first.seconds / median:.0f}x")


def article_terms_cost(kb: Path, copies: int) -> None:
    """What query-term coverage costs at scale, with real vocabulary: the sample KB's articles
    stored ``copies`` times under distinct ids — time to write their terms, the size they add
    to meta.sqlite, and the two coverage lookups of one search (10 candidates), against the
    lexical (FTS5) search the same queries already make."""
    import sqlite3

    articles = load_articles(kb).articles
    texts = [(f"{a.id}-{i}", "\n".join([a.title, *a.questions, a.body]), True)
             for i in range(copies) for a in articles]
    work = Path(tempfile.mkdtemp(prefix="bench-terms-"))
    try:
        db = work / "terms.sqlite"
        conn = sqlite3.connect(db)
        conn.executescript(terms.SCHEMA)
        conn.execute("CREATE VIRTUAL TABLE fts USING fts5(text, tokenize = 'porter unicode61')")
        started = time.perf_counter()
        terms.write(conn, texts)
        conn.commit()
        write_s = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM article_terms").fetchone()[0]
        terms_mb = db.stat().st_size / 1e6
        conn.executemany("INSERT INTO fts (rowid, text) VALUES (?, ?)",
                         [(i, t) for i, (_, t, _) in enumerate(texts)])
        conn.commit()
        rng = random.Random(3)
        queries = [rng.choice(a.questions) for a in articles if a.questions for _ in range(3)]
        cover, lexical = [], []
        for query in queries:
            candidates = [rng.choice(texts)[0] for _ in range(10)]
            t0 = time.perf_counter()
            terms.coverage(conn, query, candidates, len(texts))
            t1 = time.perf_counter()
            match = " OR ".join(f'"{w}"' for w in sorted(set(terms.WORD.findall(query.lower()))))
            conn.execute("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT 50",
                         (match,)).fetchall()
            lexical.append(time.perf_counter() - t1)
            cover.append(t1 - t0)
        conn.close()

        def p95(xs: list[float]) -> float:
            return sorted(xs)[int(0.95 * (len(xs) - 1))] * 1000

        print(f"article terms, {len(texts):,} articles (sample KB x {copies}): {rows:,} rows, "
              f"written in {write_s:.1f} s, {terms_mb:.0f} MB in SQLite")
        ratio = statistics.median(cover) / statistics.median(lexical)
        print(f"  coverage lookups per search: p50 {statistics.median(cover) * 1000:.2f} ms, "
              f"p95 {p95(cover):.2f} ms; the lexical search beside it: p50 "
              f"{statistics.median(lexical) * 1000:.2f} ms, p95 {p95(lexical):.2f} ms "
              f"(coverage / lexical at p50: {ratio:.2f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scratch_copy(source: Path | None, generated: int = 0) -> Path:
    work = Path(tempfile.mkdtemp(prefix="bench-edit-"))
    if source is not None:
        shutil.copytree(source, work / "kb")
    else:
        generate_kb(work / "kb", generated)
    return work / "kb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder(default_embedding_model())
    embedder.embed(["warm up"])
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rates = gemm_rates()
    gflops = max(rates.values())
    print("fp32 matmul peak: " + ", ".join(f"{k} {v:.0f}" for k, v in rates.items())
          + f" GFLOP/s; the bound is the best, {gflops:.0f}")
    sample_kb_throughput(args.kb, embedder, gflops)
    article_terms_cost(args.kb, copies=max(1, args.articles // 68))
    for label, source, generated in (("sample KB", args.kb, 0),
                                     ("generated KB", None, 1_000),
                                     ("generated KB", None, args.articles)):
        kb = scratch_copy(source, generated)
        try:
            edit_to_searchable(kb, embedder, label)
        finally:
            shutil.rmtree(kb.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
