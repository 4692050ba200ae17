"""What an evaluation run computes once instead of once per configuration or per run.

* ``QueryVectors`` — every configuration searches the same questions, so each question is
  embedded once, alone, exactly as a chat turn embeds it (``embed([question])``), and that
  vector is handed to every later search of the same text. The time the first embedding took
  is remembered and added back to every search that reused it (``replayed``), so the latency
  figures still include a query embedding.
* ``index_cache`` — the scratch index of an intent set is kept under
  ``<data dir>/eval-cache/``, one folder per (dataset, embedding model, chunk size): a second
  run of the same evaluation finds the same articles under the same signature and reuses the
  version (its vectors and its article classifier) instead of embedding and training again;
  an edited dataset re-embeds only what changed, as any reindex does.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import numpy as np

from indexer import Embedder

CACHE_FOLDER = "eval-cache"


class QueryVectors:
    """An ``Embedder`` that embeds each single text once and serves it from memory after.

    Calls with more than one text (index builds) go straight to the wrapped embedder.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self._vectors: dict[str, tuple[np.ndarray, float]] = {}
        self._replayed = 0.0
        self._lock = threading.Lock()

    name = property(lambda self: self.inner.name)  # the Embedder protocol, as the wrapped one
    dim = property(lambda self: self.inner.dim)

    @property
    def replayed(self) -> float:
        """Seconds of embedding that reused vectors would have taken (monotonic total)."""
        return self._replayed

    def embed(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts, progress=progress)
        text = texts[0]
        found = self._vectors.get(text)
        if found is not None:
            with self._lock:
                self._replayed += found[1]
            return found[0][None, :]
        started = time.perf_counter()
        vector = self.inner.embed([text])[0]
        self._vectors[text] = (vector, time.perf_counter() - started)
        return vector[None, :]


    def known(self) -> set[str]:
        """The texts embedded so far."""
        return set(self._vectors)

    def entries(self, exclude: Collection[str] = ()) -> dict[str, tuple[np.ndarray, float]]:
        """The stored (vector, seconds) of every text not in ``exclude``: what a worker
        process hands back (``parallel.search_configs``)."""
        return {t: v for t, v in self._vectors.items() if t not in exclude}

    def remember(self, entries: dict[str, tuple[np.ndarray, float]]) -> None:
        """Take vectors computed elsewhere (by ``entries``) as if embedded here."""
        self._vectors.update(entries)


def index_cache(data_dir: Path, dataset: str, model: str, chunk_max_chars: int) -> Path:
    """The folder an intent set's scratch index is kept in between runs."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset)
    key = hashlib.sha256(f"{model}\0{chunk_max_chars}".encode()).hexdigest()[:12]
    return data_dir / CACHE_FOLDER / f"{slug}-{key}"
