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


# Padded tokens per text in a batch of ``batch_size`` texts: batches are cut by padded tokens
# (``token_batches``), so short texts travel in larger batches and long ones in smaller.
BATCH_TOKENS_PER_TEXT = 64


def token_lengths(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[int]:
    """Each text's token count as the model sees it (special tokens included, truncated)."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    return [len(ids) for ids in encoded["input_ids"]]


def token_batches(lengths: Sequence[int], batch_size: int,
                  tokens_per_text: int | None = None) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches, shortest texts first: each batch's texts ×
    its longest text stays within ``batch_size`` × ``tokens_per_text`` padded tokens (one text
    at least), so a batch pads little and its matrix products stay large."""
    budget = max(1, batch_size * (tokens_per_text or BATCH_TOKENS_PER_TEXT))
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending: the text being added is the batch's longest
        if current and (len(current) + 1) * lengths[i] > budget:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class SentenceTransformerEmbedder:
    """A sentence-transformers model run by torch in fp32, loaded on first use (never at import
    or construction). ``threads`` > 0 sets torch's intra-op threads (process-wide); 0 keeps
    torch's default.

    ``model`` is a local path or a model name already in the local cache: Frontline never
    downloads at run time (the model is loaded with ``local_files_only``).

    ``embed`` tokenizes all texts once, sorts them by token count and runs batches of about
    ``batch_size`` × ``BATCH_TOKENS_PER_TEXT`` padded tokens (``token_batches``) straight through
    the model's modules: sentence-transformers' ``encode`` sorts by character count, so its
    batches padded 37 % more tokens than they held on the sample KB (see README, "Performance").
    The one tokenization is reused for the batches. On CPU the loaded model's products run
    through oneDNN (``use_onednn``; ``onednn=False`` keeps torch's default BLAS), about twice
    torch's default fp32 rate on these machines.
    """

    backend = "torch"

    def __init__(
        self, model: str, *, batch_size: int = 64, device: str = "cpu", threads: int = 0,
        onednn: bool = True,
    ) -> None:
        self.model_name = model
        self.onednn = onednn
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
                    model = load_sentence_transformer(self.model_name, self.device,
                                                      self.threads)
                    if self.onednn and self.device == "cpu":
                        use_onednn(model)
                    self._model = model
        return self._model

    def embed(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        import torch

        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)
        ids = encoded["input_ids"]
        types = encoded.get("token_type_ids")
        pad = model.tokenizer.pad_token_id or 0
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for idx in token_batches([len(x) for x in ids], self.batch_size):
                ids_b, mask_b, types_b = pad_batch(ids, types, idx, pad)
                features = {"input_ids": torch.from_numpy(ids_b),
                            "attention_mask": torch.from_numpy(mask_b)}
                if types_b is not None:
                    features["token_type_ids"] = torch.from_numpy(types_b)
                features = {k: v.to(self.device) for k, v in features.items()}
                vectors = model(features)["sentence_embedding"]
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
                out[idx] = vectors.cpu().numpy().astype(np.float32, copy=False)
                if progress is not None:
                    progress(len(idx))
        return out


def pad_batch(ids: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None,
              idx: Sequence[int], pad: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The texts ``idx`` of a tokenization as int64 ``input_ids``, ``attention_mask`` and
    ``token_type_ids`` (``None`` when the tokenizer gives none), right-padded to the longest."""
    width = max(len(ids[i]) for i in idx)
    input_ids = np.full((len(idx), width), pad, dtype=np.int64)
    mask = np.zeros((len(idx), width), dtype=np.int64)
    token_types = None if types is None else np.zeros((len(idx), width), dtype=np.int64)
    for row, i in enumerate(idx):
        n = len(ids[i])
        input_ids[row, :n] = ids[i]
        mask[row, :n] = 1
        if token_types is not None and types is not None:
            token_types[row, :n] = types[i]
    return input_ids, mask, token_types


def onednn_available() -> bool:
    import torch

    return bool(torch.backends.mkldnn.is_available()) and hasattr(
        torch.ops.mkldnn, "_linear_pointwise")


def _linear_forward(self: Any, x: Any) -> Any:
    import torch

    if torch.is_grad_enabled() and self.weight.requires_grad:
        return torch.nn.functional.linear(x, self.weight, self.bias)
    return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, "none", [], "")


def _linear_gelu_forward(self: Any, hidden: Any) -> Any:  # BertIntermediate
    import torch

    if torch.is_grad_enabled() and self.dense.weight.requires_grad:
        return self.intermediate_act_fn(self.dense(hidden))
    return torch.ops.mkldnn._linear_pointwise(hidden, self.dense.weight, self.dense.bias,
                                              "gelu", [], "none")


def _linear_add_norm_forward(self: Any, hidden: Any, residual: Any) -> Any:  # Bert*Output
    import torch

    if torch.is_grad_enabled() and self.dense.weight.requires_grad:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)
    return self.LayerNorm(torch.ops.mkldnn._linear_pointwise.binary(
        hidden, residual, self.dense.weight, self.dense.bias, "add"))


def use_onednn(module: Any) -> int:
    """Run ``module``'s fp32 matrix products through oneDNN instead of torch's default BLAS.

    On this project's AMD machines torch's ``F.linear`` (MKL) reaches about half of oneDNN's
    fp32 rate for the same products (``bench/index.py`` prints both), so every ``nn.Linear``
    of the inference model is routed through ``torch.ops.mkldnn._linear_pointwise``, with
    BERT's GELU and residual add fused into the products that precede them. The arithmetic is
    fp32 all the way (vectors within 1e-6 of the MKL path). Only without gradients: a module
    that requires grad keeps torch's own forward. Returns how many Linear layers were changed;
    0 (nothing changed) when torch has no oneDNN."""
    import types

    import torch

    if not onednn_available():
        return 0
    changed = 0
    for sub in module.modules():
        kind = type(sub).__name__
        if (kind == "BertIntermediate" and type(sub.intermediate_act_fn).__name__
                == "GELUActivation" and isinstance(sub.dense, torch.nn.Linear)):
            sub.forward = types.MethodType(_linear_gelu_forward, sub)  # exact (erf) GELU
        elif kind in ("BertOutput", "BertSelfOutput") and isinstance(
                getattr(sub, "LayerNorm", None), torch.nn.LayerNorm):
            sub.forward = types.MethodType(_linear_add_norm_forward, sub)
        elif isinstance(sub, torch.nn.Linear):
            sub.forward = types.MethodType(_linear_forward, sub)  # type: ignore[method-assign]
            changed += 1
    return changed


def load_sentence_transformer(model: str, device: str = "cpu", threads: int = 0):  # type: ignore[no-untyped-def]
    """The sentence-transformers model at ``model``, from local files only."""
    import torch
    from sentence_transformers import SentenceTransformer

    if threads > 0:
        # One thread per query keeps tail latency flat: with a multi-thread
        # pool every new input length costs a 0.1-0.5 s stall here (measured).
        torch.set_num_threads(threads)
    logger.info("loading embedding model %s", model)
    return SentenceTransformer(model, device=device, local_files_only=True)


BACKENDS = ("torch", "onnx", "onnx-int8")


def make_embedder(model: str, backend: str = "torch", *, export_root: Path | None = None,
                  batch_size: int = 64, threads: int = 0) -> Embedder:
    """The embedder for ``FRONTLINE_EMBEDDING_BACKEND``: ``torch`` (fp32, the default),
    ``onnx`` (onnxruntime, fp32) or ``onnx-int8`` (onnxruntime, block-wise int8:
    ``onnx_backend._quantize``).
    ONNX exports are kept under ``export_root`` (``indexer.onnx_backend``). Raises
    ``ValueError`` naming the setting for any other value."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size=batch_size, threads=threads)
    if backend not in BACKENDS:
        raise ValueError(f"FRONTLINE_EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, "
                         f"not {backend!r}")
    if export_root is None:
        raise ValueError(f"the {backend} embedding backend needs a folder for its export")
    from indexer.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(model, export_root, int8=backend == "onnx-int8",
                        batch_size=batch_size, threads=threads)
