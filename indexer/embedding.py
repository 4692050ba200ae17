"""Text embedders: anything with ``name``, ``dim`` and ``embed(texts)``.

Embeddings are L2-normalized float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """Identity of the model; embeddings are reused only under the same name."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array of unit-length rows."""
        ...


def model_identity(model: str) -> str:
    """A stable name for a model given as a hub name or a local path.

    For a local folder the name is the folder name plus a digest of its config and weight sizes,
    so moving a virtualenv does not force a re-embed, but swapping the weights does.
    """
    path = Path(model)
    if not path.is_dir():
        return model
    digest = hashlib.sha256()
    for item in sorted(path.rglob("*")):
        if item.is_file() and item.suffix in {".json", ".txt", ".safetensors", ".bin"}:
            digest.update(item.relative_to(path).as_posix().encode())
            digest.update(str(item.stat().st_size).encode())
            if item.suffix == ".json":
                digest.update(item.read_bytes())
    name = path.parent.name if path.name == "model" else path.name
    return f"{name}@{digest.hexdigest()[:12]}"


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (never at import or construction).
    ``threads`` > 0 sets torch's intra-op threads (process-wide); 0 keeps torch's default.

    ``model`` is a local path or a model name already in the local cache: Frontline never
    downloads at run time (the model is loaded with ``local_files_only``).
    """

    def __init__(
        self, model: str, *, batch_size: int = 64, device: str = "cpu", threads: int = 0
    ) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._name: str | None = None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = model_identity(self.model_name)
        return self._name

    @property
    def dim(self) -> int:
        return int(self._load().get_embedding_dimension())

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self.threads > 0:
                        # One thread per query keeps tail latency flat: with a multi-thread
                        # pool every new input length costs a 0.1-0.5 s stall here (measured).
                        torch.set_num_threads(self.threads)

                    logger.info("loading embedding model %s", self.model_name)
                    self._model = SentenceTransformer(self.model_name, device=self.device,
                                                      local_files_only=True)
        return self._model

    def embed(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sort by length so each batch pads little; restore the order afterwards.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            vectors = model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vectors.astype(np.float32, copy=False)
            if progress is not None:
                progress(len(idx))
        return out
