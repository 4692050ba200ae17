"""torch.compile (Inductor) on the embedding model's module forward, against the shipped path.

    .venv/bin/python bench/embedding_compile.py [--copies 4] [--threads 2]

Embeds the sample KB's chunks (``--copies`` times over) three ways in one run and prints
chunks/s for each: the shipped embedder (``SentenceTransformerEmbedder``: the packed oneDNN
forward, batches side by side), the plain transformers module (batches of 64 sorted by token
length, mean pooling), and the same module through ``torch.compile(dynamic=True)`` (its
compile time printed apart), with the compiled vectors' least cosine to the shipped ones.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from frontline.knowledge.base import default_embedding_model  # noqa: E402
from frontline.settings import get_settings  # noqa: E402
from indexer.articles import load_articles  # noqa: E402
from indexer.chunking import chunk  # noqa: E402
from indexer.embedding import SentenceTransformerEmbedder  # noqa: E402


def module_embedder(forward: Callable[..., object], tokenizer: object,
                    texts: list[str]) -> Callable[[], np.ndarray]:
    """Mean-pooled unit vectors of ``texts`` by ``forward``, 64 texts a batch by length."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(tokenizer(texts[i])["input_ids"]))  # type: ignore[operator]

    def run() -> np.ndarray:
        out = np.zeros((len(texts), 384), np.float32)
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,  # type: ignore[operator]
                              max_length=256, return_tensors="pt")
            with torch.inference_mode():
                hidden = forward(**batch).last_hidden_state  # type: ignore[attr-defined]
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1),
                                                       dim=1)
            out[idx] = pooled.numpy()
        return out

    return run


def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    vectors = run()
    return vectors, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    settings = get_settings()
    texts = [c.embedding_text(a.title) for a in load_articles(settings.kb_dir).articles
             for c in chunk(a, max_chars=settings.chunk_max_chars)] * args.copies
    shipped = SentenceTransformerEmbedder(default_embedding_model())
    shipped.embed(texts[:64])
    reference, seconds = timed(lambda: shipped.embed(texts))
    print(f"{len(texts)} chunks, {args.threads} threads")
    print(f"  shipped embedder: {len(texts) / seconds:.0f} chunks/s")
    model = SentenceTransformer(default_embedding_model(), device="cpu")
    bert = model[0].auto_model.eval()  # type: ignore[union-attr]
    _, seconds = timed(module_embedder(bert, model.tokenizer, texts))
    print(f"  module forward: {len(texts) / seconds:.0f} chunks/s")
    compiled = module_embedder(torch.compile(bert, dynamic=True), model.tokenizer, texts)
    _, seconds = timed(compiled)
    print(f"  compiled, first pass (compiles): {seconds:.1f} s")
    vectors, seconds = timed(compiled)
    print(f"  compiled module forward: {len(texts) / seconds:.0f} chunks/s; least cosine to the"
          f" shipped vectors {float((vectors * reference).sum(1).min()):.6f}")


if __name__ == "__main__":
    main()
