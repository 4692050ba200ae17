"""Embedding benchmark: full-build throughput of each backend against the fp32 bound, and a
chat turn's single-query embedding time on one thread.

    .venv/bin/python bench/embedding.py [--rounds 3] [--queries 200] [--kb knowledge_base]

Throughput: every chunk of the KB is embedded by each backend in turn, round after round;
this machine's fp32 matmul rate (the bound, as in bench/index.py) is measured just before
and just after each pass, so each pass's ratio is to the bound of its own moment (the machine
is shared: the bound moves 2x within minutes). "encode (before)" is what Frontline did before
this change: batches of 64 sorted by characters through sentence-transformers' encode.
Single query: dev questions embedded one at a time, the backends taking turns per question,
torch and onnxruntime each on one thread. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.index import flops_per_text, matmul_gflops
from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, chunk, load_articles
from indexer.embedding import BACKENDS, Embedder, make_embedder, token_lengths


def encode_before(embedder: SentenceTransformerEmbedder) -> Callable[[Sequence[str]], np.ndarray]:
    """The previous path: sorted by characters, 64 at a time, through ``encode``."""
    model = embedder._load()

    def embed(texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), embedder.dim), dtype=np.float32)
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            out[idx] = model.encode([texts[i] for i in idx], batch_size=64,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return out

    return embed


def percentile(values: Sequence[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exports", type=Path, default=None,
                        help="ONNX export folder to use (default: a fresh scratch folder)")
    args = parser.parse_args()
    import torch

    model = default_embedding_model()
    exports = args.exports or Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    articles = load_articles(args.kb).articles
    texts = [c.embedding_text(a.title) for a in articles for c in chunk(a)]
    base = SentenceTransformerEmbedder(model)
    st = base._load()
    lengths = token_lengths(st.tokenizer, texts, st.max_seq_length)
    flops = sum(flops_per_text(st, n) for n in lengths) / len(texts)
    started = time.perf_counter()
    backends: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
        "encode (before)": encode_before(base), "torch": base.embed}
    for name in BACKENDS[1:]:
        backends[name] = make_embedder(model, name, export_root=exports).embed
        backends[name](["warm up"])  # exports on first use
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ONNX exports in "
          f"{exports} ({time.perf_counter() - started:.0f} s to build)")
    print(f"{len(texts)} chunks of {args.kb}, {statistics.mean(lengths):.0f} tokens on "
          f"average (max {max(lengths)}), {flops / 1e6:.1f} MFLOP per chunk")

    reference = base.embed(texts)
    ratios: dict[str, list[float]] = {name: [] for name in backends}
    rates: dict[str, list[float]] = {name: [] for name in backends}
    bounds: list[float] = []
    for _ in range(args.rounds):
        for name, embed in backends.items():
            before = matmul_gflops(1.5)
            t0 = time.perf_counter()
            vectors = embed(texts)
            seconds = time.perf_counter() - t0
            after = matmul_gflops(1.5)
            bound = (before + after) / 2 * 1e9 / flops
            bounds.append(bound)
            rates[name].append(len(texts) / seconds)
            ratios[name].append(len(texts) / seconds / bound)
            assert (vectors * reference).sum(axis=1).min() > 0.9, name
    print(f"\nfull-build throughput, {args.rounds} rounds (fp32 bound {min(bounds):.0f}-"
          f"{max(bounds):.0f} chunks/s over the run)")
    print(f"  {'backend':16} {'chunks/s':>9} {'/ bound':>8} {'per round':>22} {'/ before':>9}")
    before_ratio = statistics.median(ratios["encode (before)"])
    for name in backends:
        ratio = statistics.median(ratios[name])
        per_round = " ".join(f"{r:.2f}" for r in ratios[name])
        print(f"  {name:16} {statistics.median(rates[name]):9.0f} {ratio:8.2f} "
              f"{per_round:>22} {ratio / before_ratio:9.2f}")

    # One chat turn's query, one thread each.
    torch.set_num_threads(1)
    questions = [q.question for q in load_questions(Settings().eval_questions)
                 if q.split == "dev"][:args.queries]
    single: dict[str, Embedder] = {"torch": SentenceTransformerEmbedder(model, threads=1)}
    for name in BACKENDS[1:]:
        single[name] = make_embedder(model, name, export_root=exports, threads=1)
    for embedder in single.values():
        embedder.embed(questions[:5])
    times: dict[str, list[float]] = {name: [] for name in single}
    for question in questions:
        for name, embedder in single.items():
            t0 = time.perf_counter()
            embedder.embed([question])
            times[name].append((time.perf_counter() - t0) * 1000)
    print(f"\nsingle-query embedding, one thread, {len(questions)} dev questions "
          f"(backends in turn per question)")
    torch_p50 = statistics.median(times["torch"])
    for name, ms in times.items():
        p50 = statistics.median(ms)
        print(f"  {name:16} p50 {p50:6.2f} ms  p95 {percentile(ms, 0.95):6.2f} ms  "
              f"(p50 / torch {p50 / torch_p50:.2f})")


if __name__ == "__main__":
    main()
