"""Text embedders: anything with ``name``, ``dim`` and ``embed(texts)``.

Embeddings are L2-normalized float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    torch's default fp32 rate on these machines. A BERT encoder with mean pooling then runs as
    a ``PackedEncoder`` (no padded token in any product or attention: attention runs per run
    of equal token lengths; ``by_length=False`` pads each batch for attention, as before, and
    ``packed=False`` keeps the modules' padded forward); any other model runs through its
    modules. With more than one torch thread, the packed forward's batches run side by side,
    one per thread, each on one torch thread (``side_by_side``; ``side_by_side=False`` runs one
    batch at a time over all threads, as before). The service embeds with one thread
    (``FRONTLINE_EMBEDDING_THREADS``), so this is what ``frontline index`` and the evaluations'
    builds do.
    """

    backend = "torch"

    def __init__(
        self, model: str, *, batch_size: int = 64, device: str = "cpu", threads: int = 0,
        onednn: bool = True, packed: bool = True, by_length: bool = True,
        side_by_side: bool = True,
    ) -> None:
        self.model_name = model
        self.side_by_side = side_by_side
        self.onednn = onednn
        self.batch_size = batch_size
        self.device = device
        self.threads = threads
        self.packed = packed
        self.by_length = by_length
        self._model: Any = None
        self._packed: PackedEncoder | None = None
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
                        if self.packed:
                            self._packed = PackedEncoder.of(model, by_length=self.by_length)
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
        packed = self._packed
        if packed is not None:
            lengths = [len(x) for x in ids]
            workers = torch.get_num_threads() if self.side_by_side else 1
            batches = token_batches(lengths, self.batch_size)
            # With more than one thread the batches run side by side (``side_by_side``): one
            # batch at a time with every operator split over the cores spends the small
            # operators' time (attention, layer norm, GELU, the gathers) waiting at their
            # barriers. They are the batches one thread runs, so the vectors are bit for bit
            # the same on any number of threads (an evaluation builds on every core and embeds
            # its questions on one). Sample KB, 1,408 chunks, 2 cores, 2026-12-02, ratio to the
            # fp32 bound, 3-6 passes at load 1.5-2.7: one batch of 64 at a time 0.61 (mean);
            # side by side in batches of 64 0.72, of 32 0.75, of 16 0.71, of 8 ~0.6 (smaller
            # batches change the products' shapes, and so the last bits).
            results: Iterator[tuple[list[int], Any]]
            if workers > 1 and len(batches) > 1:
                results = side_by_side(lambda idx: packed(ids, types, idx), batches, workers,
                                       cost=lambda idx: sum(lengths[i] for i in idx))
            else:
                results = ((idx, packed(ids, types, idx)) for idx in batches)
            with torch.inference_mode():
                for idx, vectors in results:
                    out[idx] = vectors.numpy()
                    if progress is not None:
                        progress(len(idx))
            return out
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


def side_by_side(forward: Callable[[list[int]], Any], batches: Sequence[list[int]],
                 workers: int, *, cost: Callable[[list[int]], float]
                 ) -> Iterator[tuple[list[int], Any]]:
    """``(batch, forward(batch))`` for every batch, ``workers`` batches at a time on as many
    threads, each running torch's operators on one thread, costliest batch first so that the
    threads finish together. torch releases the GIL inside its operators, so the threads use
    the cores as one multi-threaded forward would, without waiting at every operator's barrier.
    ``torch.set_num_threads`` is process-wide for threads started later, so the calling
    thread's count (``workers``) is set again afterwards; a thread the process starts meanwhile
    runs torch on one thread until it sets its own."""
    import torch

    def one_thread() -> None:
        torch.set_num_threads(1)

    def run(batch: list[int]) -> Any:
        with torch.inference_mode():
            return forward(batch)

    order = sorted(batches, key=cost, reverse=True)
    try:
        with ThreadPoolExecutor(workers, initializer=one_thread,
                                thread_name_prefix="embed") as pool:
            yield from zip(order, pool.map(run, order), strict=True)
    finally:
        torch.set_num_threads(workers)


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


class PackedEncoder:
    """The fp32 inference forward of a sentence-transformers BERT encoder with mean pooling,
    over packed tokens: a batch's real tokens are one ``(tokens, hidden)`` matrix, so the
    products, GELU and layer norms never touch a padded position (the module forward pads
    every text to the batch's longest: 1.13 tokens per real one on the sample KB, token-sorted).
    Q, K and V are one product (hidden × 3·hidden); the products run through oneDNN with GELU
    and the residual adds fused, as ``use_onednn``, on weights reordered once into oneDNN's
    blocked layout (``torch.ops.mkldnn._reorder_linear_weight``: the plain weights are
    reordered on every call otherwise); BERT's pooler, which mean pooling ignores, is not
    computed. The arithmetic is the model's, in fp32 (vectors within 1e-6 of its module
    forward). Build with ``of``; call it inside ``torch.inference_mode``.

    Attention (``by_length``, the default) runs once per run of consecutive texts of the same
    token length: such a run is a dense ``(texts, length, hidden)`` block of the packed
    matrix, so Q, K and V are strided views of the Q/K/V product, and attention needs no
    padding, no mask (SDPA's fastest path) and no gather or scatter; mean pooling is a plain
    mean over each run's block. Batches from ``token_batches`` are sorted by length, so a
    batch of short texts is a few runs and a batch of long ones one run per distinct length
    (the products stay one per batch either way). A batch of more than ``MAX_RUNS`` runs
    (long texts, few of each length) keeps one padded attention call per layer instead: every
    attention call is a parallel region, and with two threads on a shared machine ~1,100
    small ones a pass cost more in waits at their barriers than the padding they save
    (measured). ``by_length=False`` keeps the previous
    attention: the batch padded to its longest text as a gather of the packed rows, one
    additive mask per batch; with ``reorder=False`` too (plain weights) it is the forward
    before both changes, the bench's baseline."""

    def __init__(self, bert: Any, *, by_length: bool = True, reorder: bool = True) -> None:
        import torch

        config = bert.config
        self.by_length = by_length
        self.heads = int(config.num_attention_heads)
        self.hidden = int(config.hidden_size)
        self.head_dim = self.hidden // self.heads
        emb = bert.embeddings
        self.word = emb.word_embeddings.weight.detach()
        self.position = emb.position_embeddings.weight.detach()
        self.token_type = emb.token_type_embeddings.weight.detach()
        self.norm = _norm(emb.LayerNorm)
        pack = _packed_weight if reorder else (lambda weight: weight)
        self.layers = []
        for layer in bert.encoder.layer:
            own = layer.attention.self
            qkv = torch.cat([own.query.weight, own.key.weight, own.value.weight]).detach()
            qkv_bias = torch.cat([own.query.bias, own.key.bias, own.value.bias]).detach()
            out = layer.attention.output
            self.layers.append((
                pack(qkv.contiguous()), qkv_bias.contiguous(),
                pack(out.dense.weight.detach()), out.dense.bias.detach(), _norm(out.LayerNorm),
                pack(layer.intermediate.dense.weight.detach()),
                layer.intermediate.dense.bias.detach(),
                pack(layer.output.dense.weight.detach()), layer.output.dense.bias.detach(),
                _norm(layer.output.LayerNorm)))

    @classmethod
    def of(cls, st_model: Any, *, by_length: bool = True,
           reorder: bool = True) -> PackedEncoder | None:
        """The packed encoder of ``st_model`` when it is Transformer(BertModel: absolute
        positions, exact GELU, encoder only) → Pooling(mean) [→ Normalize] and oneDNN is
        there; None otherwise (the caller keeps the module forward)."""
        modules = list(st_model)
        if not onednn_available() or len(modules) not in (2, 3):
            return None
        if type(modules[1]).__name__ != "Pooling" or (
                len(modules) == 3 and type(modules[2]).__name__ != "Normalize"):
            return None
        pooling = modules[1].get_config_dict()
        mode = pooling.get("pooling_mode", "mean" if pooling.get("pooling_mode_mean_tokens")
                           else None)
        bert = getattr(modules[0], "auto_model", None)
        config = getattr(bert, "config", None)
        if (mode != "mean" or not pooling.get("include_prompt", True)
                or type(bert).__name__ != "BertModel" or config is None
                or config.hidden_act != "gelu" or config.is_decoder
                or getattr(config, "position_embedding_type", "absolute") != "absolute"):
            return None
        return cls(bert, by_length=by_length, reorder=reorder)

    def __call__(self, ids: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None,
                 idx: Sequence[int]) -> Any:
        """Unit-length mean-pooled vectors (a ``(len(idx), hidden)`` float32 tensor) of the
        texts ``idx`` of a tokenization (``input_ids`` and optional ``token_type_ids``), in
        the order of ``idx`` (any order; sorted by length, attention runs fewest times)."""
        import torch
        import torch.nn.functional as F

        lengths = [len(ids[i]) for i in idx]
        runs = length_runs(lengths)
        if not self.by_length or len(runs) > MAX_RUNS:
            return self._padded_attention(ids, types, idx)
        linear = torch.ops.mkldnn._linear_pointwise
        flat, kinds = _flat_tokens(ids, types, idx, sum(lengths))
        positions = torch.from_numpy(np.concatenate(
            [np.tile(np.arange(length), count) for _, count, length in runs]))
        x = (self.word.index_select(0, flat) + self.position.index_select(0, positions)
             + self.token_type.index_select(0, kinds))
        x = F.layer_norm(x, (self.hidden,), *self.norm)
        heads, head_dim, hidden = self.heads, self.head_dim, self.hidden
        for (qkv_w, qkv_b, out_w, out_b, norm1, up_w, up_b, down_w, down_b,
             norm2) in self.layers:
            qkv = linear(x, qkv_w, qkv_b, "none", [], "")
            parts = []
            for start, count, length in runs:
                rows = qkv[start:start + count * length].view(count, length, 3, heads, head_dim)
                q, k, v = rows.permute(2, 0, 3, 1, 4).unbind(0)
                parts.append(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(
                    count * length, hidden))
            attended = parts[0] if len(parts) == 1 else torch.cat(parts)
            x = F.layer_norm(linear.binary(attended, x, out_w, out_b, "add"), (hidden,),
                             *norm1)
            up = linear(x, up_w, up_b, "gelu", [], "none")
            x = F.layer_norm(linear.binary(up, x, down_w, down_b, "add"), (hidden,), *norm2)
        pooled = [x[start:start + count * length].view(count, length, hidden).mean(1)
                  for start, count, length in runs]
        return F.normalize(pooled[0] if len(pooled) == 1 else torch.cat(pooled), p=2, dim=1)

    def _padded_attention(self, ids: Sequence[Sequence[int]],
                          types: Sequence[Sequence[int]] | None, idx: Sequence[int]) -> Any:
        """The previous forward: attention over the batch padded to its longest text."""
        import torch
        import torch.nn.functional as F

        linear = torch.ops.mkldnn._linear_pointwise
        lengths = torch.tensor([len(ids[i]) for i in idx])
        batch, width = len(idx), int(lengths.max())
        flat, kinds = _flat_tokens(ids, types, idx, int(lengths.sum()))
        sequence = torch.repeat_interleave(torch.arange(batch), lengths)
        starts = torch.cumsum(lengths, 0) - lengths
        positions = torch.arange(len(flat)) - starts[sequence]
        where = sequence * width + positions  # each real token's row in the padded batch
        # Each padded row's token: its own, or (past the text's end) the text's last, whose
        # key the mask hides. A gather: no zero-filled grid, no scatter.
        column = torch.minimum(torch.arange(width)[None, :], lengths[:, None] - 1)
        grid_rows = (starts[:, None] + column).reshape(-1)
        x = (self.word.index_select(0, flat) + self.position.index_select(0, positions)
             + self.token_type.index_select(0, kinds))
        x = F.layer_norm(x, (self.hidden,), *self.norm)
        padded_key = torch.arange(width)[None, :] >= lengths[:, None]
        mask = torch.zeros(batch, 1, 1, width).masked_fill_(padded_key[:, None, None, :],
                                                            float("-inf"))
        for (qkv_w, qkv_b, out_w, out_b, norm1, up_w, up_b, down_w, down_b,
             norm2) in self.layers:
            qkv = linear(x, qkv_w, qkv_b, "none", [], "")
            grid = qkv.index_select(0, grid_rows)
            q, k, v = grid.view(batch, width, 3, self.heads, self.head_dim).permute(
                2, 0, 3, 1, 4).unbind(0)
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            attended = attended.transpose(1, 2).reshape(batch * width, self.hidden
                                                        ).index_select(0, where)
            x = F.layer_norm(linear.binary(attended, x, out_w, out_b, "add"), (self.hidden,),
                             *norm1)
            up = linear(x, up_w, up_b, "gelu", [], "none")
            x = F.layer_norm(linear.binary(up, x, down_w, down_b, "add"), (self.hidden,),
                             *norm2)
        pooled = x.new_zeros(batch, self.hidden).index_add_(0, sequence, x)
        pooled /= lengths[:, None].to(pooled.dtype)
        return F.normalize(pooled, p=2, dim=1)


def length_runs(lengths: Sequence[int]) -> list[tuple[int, int, int]]:
    """``(first row, texts, length)`` of each run of consecutive equal ``lengths``, the rows
    counted in the packed token matrix (each text's tokens one after another)."""
    runs: list[tuple[int, int, int]] = []
    row = 0
    for length in lengths:
        if runs and runs[-1][2] == length:
            start, count, _ = runs[-1]
            runs[-1] = (start, count + 1, length)
        else:
            runs.append((row, 1, length))
        row += length
    return runs


def _flat_tokens(ids: Sequence[Sequence[int]], types: Sequence[Sequence[int]] | None,
                 idx: Sequence[int], total: int) -> tuple[Any, Any]:
    """The texts ``idx``'s token ids and token types, one after another, as int64 tensors
    (types all 0 when the tokenizer gives none)."""
    import itertools

    import torch

    flat = np.fromiter(itertools.chain.from_iterable(ids[i] for i in idx), np.int64, total)
    if types is None:
        return torch.from_numpy(flat), torch.zeros(total, dtype=torch.int64)
    kinds = np.fromiter(itertools.chain.from_iterable(types[i] for i in idx), np.int64, total)
    return torch.from_numpy(flat), torch.from_numpy(kinds)


# Most runs of equal token length a batch's attention is split into (``PackedEncoder``).
MAX_RUNS = 8

# oneDNN picks the blocked weight layout for products of about this many rows (a build
# batch's tokens, ``token_batches``); measured as fast as a query's own hint for one text.
PACKED_ROWS = 4096


def _packed_weight(weight: Any) -> Any:
    """``weight`` reordered once into oneDNN's layout for ``_linear_pointwise`` (same
    arithmetic), or as it is when this torch has no reorder op."""
    import torch

    reorder = getattr(torch.ops.mkldnn, "_reorder_linear_weight", None)
    return weight if reorder is None else reorder(weight, PACKED_ROWS)


def _norm(layer: Any) -> tuple[Any, Any, float]:
    return layer.weight.detach(), layer.bias.detach(), float(layer.eps)


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


BACKENDS = ("torch", "onnx", "onnx-int8", "openvino")


def make_embedder(model: str, backend: str = "torch", *, export_root: Path | None = None,
                  batch_size: int = 64, threads: int = 0) -> Embedder:
    """The embedder for ``FRONTLINE_EMBEDDING_BACKEND``: ``torch`` (fp32, the default),
    ``onnx`` (onnxruntime, fp32), ``onnx-int8`` (onnxruntime, block-wise int8:
    ``onnx_backend._quantize``) or ``openvino`` (the fp32 export compiled by OpenVINO, bf16
    products where the CPU has them: ``onnx_backend.OpenVinoEmbedder``).
    ONNX exports are kept under ``export_root`` (``indexer.onnx_backend``). Raises
    ``ValueError`` naming the setting for any other value."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, batch_size=batch_size, threads=threads)
    if backend not in BACKENDS:
        raise ValueError(f"FRONTLINE_EMBEDDING_BACKEND must be one of {', '.join(BACKENDS)}, "
                         f"not {backend!r}")
    if export_root is None:
        raise ValueError(f"the {backend} embedding backend needs a folder for its export")
    from indexer.onnx_backend import OnnxEmbedder, OpenVinoEmbedder

    if backend == "openvino":
        return OpenVinoEmbedder(model, export_root, batch_size=batch_size, threads=threads)
    return OnnxEmbedder(model, export_root, int8=backend == "onnx-int8",
                        batch_size=batch_size, threads=threads)
