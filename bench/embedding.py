"""Embedding benchmark: full-build throughput of each backend against the fp32 bound, and a
chat turn's single-query embedding time on one thread.

    .venv/bin/python bench/embedding.py [--rounds 3] [--queries 200] [--kb knowledge_base]

Throughput: every chunk of the KB is embedded by each backend in turn, round after round;
this machine's fp32 matmul rate (the bound, as in bench/index.py: the best of torch's BLAS,
oneDNN and onnxruntime) is measured just before and just after each pass, so each pass's ratio
is to the bound of its own moment (the machine is shared: the bound moves 2x within minutes).
"/ MKL bound" is the ratio to torch.matmul's rate alone (the bound's first definition).
"encode (before)" is Frontline's first path: batches of 64 sorted by characters through
sentence-transformers' encode; "torch, MKL" the token-length batches on torch's default BLAS;
"torch, modules" the same batches through oneDNN (indexer.embedding.use_onednn), padded, through
the model's modules; "torch, packed (before)" the packed forward as it was before attention ran
by token length (indexer.embedding.PackedEncoder with by_length=False, reorder=False: no padded
token in any product, attention over each batch padded, plain weights); "torch, reordered" the
same with the weights reordered once for oneDNN; "torch" (the torch backend now) the packed
forward with attention per run of equal token lengths (no padding, mask or gather anywhere),
its batches side by side, one per core on one torch thread each; "torch, one at a time" the same
forward one batch at a time over all threads (the torch backend before that change; the
"before" rows above it are one at a time too).
"/ packed before" is each pass's rate over the "torch, packed (before)" pass of the same round
(median over rounds): the comparison that survives a shared machine's load swings. "min cos" is
each backend's lowest cosine to "torch, MKL" over all chunks.
With --profile, one full pass of "torch, packed (before)" and of "torch" each runs under torch's
profiler first, and the time is broken down: products (GEMM), attention, layer norm, GELU,
gathers and copies, other torch ops, and what is outside torch's ops (tokenization, measured
alone, and Python); plus the padded tokens per real one each path computes products on.
--rounds 0 then skips the rest.
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

from bench.index import flops_per_text, gemm_rates
from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, chunk, load_articles
from indexer.embedding import (
    BACKENDS,
    Embedder,
    PackedEncoder,
    make_embedder,
    token_batches,
    token_lengths,
)


def encode_before(embedder: SentenceTransformerEmbedder) -> Callable[[Sequence[str]], np.ndarray]:
    """The first path: sorted by characters, 64 at a time, through ``encode`` (``embedder`` is
    one with ``onednn=False``: torch's default BLAS)."""
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


def packed_variant(model: str, *, by_length: bool, reorder: bool,
                   threads: int = 0) -> SentenceTransformerEmbedder:
    """The torch embedder with its packed forward built as asked (``PackedEncoder``'s
    ``by_length`` and ``reorder``): both off is the packed forward before this change."""
    embedder = SentenceTransformerEmbedder(model, threads=threads, side_by_side=False)
    embedder._packed = PackedEncoder.of(embedder._load(), by_length=by_length, reorder=reorder)
    assert embedder._packed is not None
    return embedder


# torch profiler operator names → the part of the forward they are (first match wins).
PARTS = (
    ("products (GEMM)", ("_linear_pointwise", "addmm", "aten::mm", "aten::linear")),
    ("attention", ("scaled_dot_product", "bmm", "softmax", "aten::where", "bitwise_and")),
    ("layer norm", ("layer_norm",)),
    ("GELU, tanh", ("gelu", "tanh")),
    ("gathers, scatters, copies", ("index", "embedding", "copy_", "cat", "fill_", "zeros",
                                   "masked_fill", "clone", "contiguous", "repeat_interleave")),
)


def part_of(op: str) -> str:
    for part, names in PARTS:
        if any(name in op for name in names):
            return part
    return "other torch ops"


def profile_pass(name: str, embedder: SentenceTransformerEmbedder,
                 texts: Sequence[str]) -> None:
    """One full pass of ``embedder`` under torch's profiler: where its wall time goes."""
    from torch.profiler import ProfilerActivity, profile

    model = embedder._load()
    embedder.embed(texts[:16])
    started = time.perf_counter()
    lengths = token_lengths(model.tokenizer, texts, model.max_seq_length)
    tokenize = time.perf_counter() - started
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        started = time.perf_counter()
        embedder.embed(texts)
        wall = time.perf_counter() - started
    parts: dict[str, float] = {}
    for event in prof.key_averages():
        part = part_of(event.key)
        parts[part] = parts.get(part, 0.0) + event.self_cpu_time_total / 1e6
    in_ops = sum(parts.values())
    batches = token_batches(lengths, embedder.batch_size)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches) / sum(lengths)
    packed = embedder._packed
    in_products = 1.0 if packed is not None else padded
    in_attention = 1.0 if packed is not None and packed.by_length else padded
    print(f"  {name}: {wall:.1f} s wall for {len(texts)} chunks ({len(texts) / wall:.0f} "
          f"chunks/s, profiled); {in_products:.2f} padded tokens per real one in the products "
          f"(attention: {in_attention:.2f})")
    for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"    {part:28} {seconds:7.2f} s  {seconds / wall:6.1%}")
    outside = wall - in_ops
    print(f"    {'outside torch ops':28} {outside:7.2f} s  {outside / wall:6.1%}  (tokenizing "
          f"alone: {tokenize:.2f} s; the rest is Python)")


def percentile(values: Sequence[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=Path("knowledge_base"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exports", type=Path, default=None,
                        help="ONNX export folder to use (default: a fresh scratch folder)")
    parser.add_argument("--profile", action="store_true",
                        help="break one full pass of each torch path down first")
    args = parser.parse_args()
    import torch

    model = default_embedding_model()
    exports = args.exports or Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    articles = load_articles(args.kb).articles
    texts = [c.embedding_text(a.title) for a in articles for c in chunk(a)]
    base = SentenceTransformerEmbedder(model)
    packed_before = packed_variant(model, by_length=False, reorder=False)
    reordered = packed_variant(model, by_length=False, reorder=True)
    modules = SentenceTransformerEmbedder(model, packed=False)
    blas = SentenceTransformerEmbedder(model, onednn=False)
    st = blas._load()
    lengths = token_lengths(st.tokenizer, texts, st.max_seq_length)
    flops = sum(flops_per_text(st, n) for n in lengths) / len(texts)
    if args.profile:
        print(f"profile of one full pass, {torch.get_num_threads()} threads, {len(texts)} "
              f"chunks (load average {os.getloadavg()[0]:.1f}):")
        profile_pass("torch, packed (before)", packed_before, texts)
        profile_pass("torch (by length)", base, texts)
        if args.rounds == 0:
            return
    started = time.perf_counter()
    backends: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
        "encode (before)": encode_before(blas), "torch, MKL": blas.embed,
        "torch, modules": modules.embed, "torch, packed (before)": packed_before.embed,
        "torch, reordered": reordered.embed,
        "torch, one at a time": SentenceTransformerEmbedder(model, side_by_side=False).embed,
        "torch": base.embed}
    for name in BACKENDS[1:]:
        backends[name] = make_embedder(model, name, export_root=exports).embed
        backends[name](["warm up"])  # exports on first use
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ONNX exports in "
          f"{exports} ({time.perf_counter() - started:.0f} s to build)")
    print(f"{len(texts)} chunks of {args.kb}, {statistics.mean(lengths):.0f} tokens on "
          f"average (max {max(lengths)}), {flops / 1e6:.1f} MFLOP per chunk")

    reference = blas.embed(texts)
    ratios: dict[str, list[float]] = {name: [] for name in backends}
    blas_ratios: dict[str, list[float]] = {name: [] for name in backends}
    rates: dict[str, list[float]] = {name: [] for name in backends}
    bounds: list[float] = []
    libraries: dict[str, list[float]] = {}
    agreement: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, embed in backends.items():
            before = gemm_rates(1.5)
            t0 = time.perf_counter()
            vectors = embed(texts)
            seconds = time.perf_counter() - t0
            after = gemm_rates(1.5)
            for library in before:
                libraries.setdefault(library, []).append((before[library] + after[library]) / 2)
            bound = (max(before.values()) + max(after.values())) / 2 * 1e9 / flops
            blas_bound = (before["torch.matmul"] + after["torch.matmul"]) / 2 * 1e9 / flops
            bounds.append(bound)
            rates[name].append(len(texts) / seconds)
            ratios[name].append(len(texts) / seconds / bound)
            blas_ratios[name].append(len(texts) / seconds / blas_bound)
            agreement[name] = float((vectors * reference).sum(axis=1).min())
            assert agreement[name] > 0.9, name
    print("\nfp32 matrix-product peak per library over the run (GFLOP/s, median): "
          + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in libraries.items())
          + "; the bound is the best library's, measured just before and after each pass")
    print(f"full-build throughput, {args.rounds} rounds (fp32 bound {min(bounds):.0f}-"
          f"{max(bounds):.0f} chunks/s over the run; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"  {'backend':23} {'chunks/s':>9} {'/ bound':>8} {'per round':>22} {'/ before':>9} "
          f"{'/ packed before':>16} {'/ MKL bound':>12} {'min cos':>8}")
    before_ratio = statistics.median(ratios["encode (before)"])
    baseline = rates["torch, packed (before)"]
    for name in backends:
        ratio = statistics.median(ratios[name])
        per_round = " ".join(f"{r:.2f}" for r in ratios[name])
        to_packed = statistics.median(r / b for r, b in zip(rates[name], baseline, strict=True))
        print(f"  {name:23} {statistics.median(rates[name]):9.0f} {ratio:8.2f} "
              f"{per_round:>22} {ratio / before_ratio:9.2f} {to_packed:16.2f} "
              f"{statistics.median(blas_ratios[name]):12.2f} {agreement[name]:8.4f}")

    # One chat turn's query, one thread each.
    torch.set_num_threads(1)
    questions = [q.question for q in load_questions(Settings().eval_questions)
                 if q.split == "dev"][:args.queries]
    single: dict[str, Embedder] = {
        "torch, MKL": SentenceTransformerEmbedder(model, threads=1, onednn=False),
        "torch, modules": SentenceTransformerEmbedder(model, threads=1, packed=False),
        "torch, packed (before)": packed_variant(model, by_length=False, reorder=False,
                                                 threads=1),
        "torch": SentenceTransformerEmbedder(model, threads=1)}
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
    torch_p50 = statistics.median(times["torch, MKL"])
    for name, ms in times.items():
        p50 = statistics.median(ms)
        print(f"  {name:23} p50 {p50:6.2f} ms  p95 {percentile(ms, 0.95):6.2f} ms  "
              f"(p50 / torch MKL {p50 / torch_p50:.2f})")


if __name__ == "__main__":
    main()
