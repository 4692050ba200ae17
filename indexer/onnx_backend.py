"""The embedding model exported to ONNX and run by onnxruntime (fp32 or int8) or OpenVINO.

``export`` turns a local sentence-transformers model (the base model or a ``frontline tune``d
one) into ``<root>/<model identity>/``: ``model.onnx`` (the transformer, exported with
``torch.onnx.export``), ``model-int8.onnx`` (its int8 quantization, on request: block-wise
int8 weights and int8 products, ``_quantize``), the model's own tokenizer, and
``embedding.json`` (pooling, length limit, dim). The folder is keyed by ``model_identity``, so
a tuned model gets its own export and a changed model a new one; an existing export is reused,
never rebuilt, never downloaded.

``OnnxEmbedder`` has the interface of ``SentenceTransformerEmbedder``: the same tokenizer, the
same batches (``token_batches``), then pooling and L2 normalization in numpy.
``OpenVinoEmbedder`` runs the same fp32 export through OpenVINO, which compiles it for the CPU
(bf16 products where the CPU has them).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedding import (
    load_sentence_transformer,
    model_identity,
    pad_batch,
    token_batches,
)

logger = logging.getLogger(__name__)

FP32 = "model.onnx"
INT8 = "model-int8.onnx"
INFO = "embedding.json"
FORMAT = 2  # part of embedding.json: a change to how exports are made rebuilds them
POOLING = ("mean", "cls")
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class ExportError(RuntimeError):
    """The model cannot be exported (unsupported modules, or the export failed)."""


def export_dir(root: Path, model: str) -> Path:
    return root / model_identity(model).replace("/", "_")


def _describe(st_model: Any) -> dict[str, Any]:
    """Pooling and normalization of a Transformer → Pooling [→ Normalize] model, or raise."""
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    modules = list(st_model)
    kinds = [type(m).__name__ for m in modules]
    if (len(modules) not in (2, 3) or not isinstance(modules[1], Pooling)
            or (len(modules) == 3 and not isinstance(modules[2], Normalize))):
        raise ExportError(f"the ONNX backend supports Transformer → Pooling [→ Normalize] "
                          f"models; this one is {' → '.join(kinds)}")
    config = modules[1].get_config_dict()
    mode = config.get("pooling_mode") or ("cls" if config.get("pooling_mode_cls_token")
                                          else "mean")
    if mode not in POOLING:
        raise ExportError(f"the ONNX backend supports {' or '.join(POOLING)} pooling, "
                          f"not {mode!r}")
    return {"format": FORMAT, "pooling": mode, "max_length": int(st_model.max_seq_length),
            "dim": int(st_model.get_embedding_dimension())}


def export(model: str, root: Path, *, int8: bool = False) -> Path:
    """The export folder of ``model`` under ``root``, built now if missing (and the int8 file
    if ``int8`` and missing). Built in a scratch folder and moved into place, so a crash or a
    concurrent build never leaves half an export. Raises ``ExportError``."""
    folder = export_dir(root, model)
    info = folder / INFO
    fresh = info.is_file() and json.loads(info.read_text()).get("format") == FORMAT
    if fresh and (folder / FP32).is_file() and (not int8 or (folder / INT8).is_file()):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=root))
    try:
        started = time.perf_counter()
        if fresh and (folder / FP32).is_file():
            shutil.copytree(folder, scratch, dirs_exist_ok=True)
        else:
            _export_fp32(model, scratch)
        if int8 and not (scratch / INT8).is_file():
            _quantize(scratch / FP32, scratch / INT8)
        _replace(scratch, folder)
        logger.info("exported %s to ONNX in %s (%.1f s)", model, folder,
                    time.perf_counter() - started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _export_fp32(model: str, out: Path) -> None:
    import torch

    st_model = load_sentence_transformer(model)
    info = _describe(st_model)
    transformer = st_model[0].auto_model.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    # Two texts of different lengths, so the traced graph handles padding.
    sample = st_model.tokenizer(["a short text", "a somewhat longer text with more words"],
                                padding=True, return_tensors="pt")
    args = tuple(sample.get(name, torch.zeros_like(sample["input_ids"])) for name in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    try:
        torch.onnx.export(Encoder().eval(), args, str(out / FP32), input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    except Exception as exc:  # the exporter raises many kinds
        raise ExportError(f"exporting {model} to ONNX failed: {exc}") from exc
    st_model.tokenizer.save_pretrained(str(out / "tokenizer"))
    (out / INFO).write_text(json.dumps({**info, "source": model_identity(model)}, indent=2))


# int8 weights in blocks of this many input rows, one scale a block (symmetric, no zero point).
INT8_BLOCK = 32


def _quantize(source: Path, target: Path) -> None:
    """Write ``source`` with every weight product as onnxruntime's ``MatMulNBits`` at 8 bits:
    int8 weights scaled per block of ``INT8_BLOCK`` input rows, and ``accuracy_level`` 4,
    which quantizes the activations to int8 per block of each row at run time and multiplies
    in int8. Each text is quantized on its own, so a text's vector does not depend on the batch
    it travels in. (onnxruntime's ``quantize_dynamic`` scales a whole batch's activations
    together: minimum cosine to fp32 torch 0.9856 batched, 0.9915 alone, on the agreement
    test's sample; blocks: 0.9991 both. See README, "Embedding backends".)"""
    try:
        import onnx
        from onnx import helper, numpy_helper
        from onnxruntime.capi._pybind_state import quantize_matmul_8bits
    except ImportError as exc:  # the export needs the onnx package
        raise ExportError(f"FRONTLINE_EMBEDDING_BACKEND=onnx-int8 needs the onnx package "
                          f"for quantization ({exc})") from exc

    model = onnx.load(str(source))
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    nodes = []
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        matrix = numpy_helper.to_array(weight).astype(np.float32)
        rows, cols = matrix.shape
        blocks = -(-rows // INT8_BLOCK)
        padded = np.zeros((blocks * INT8_BLOCK, cols), dtype=np.float32)
        padded[:rows] = matrix
        packed = np.zeros((cols, blocks, INT8_BLOCK), dtype=np.uint8)
        scales = np.zeros((cols, blocks), dtype=np.float32)
        zero_points = np.zeros((cols, blocks), dtype=np.uint8)  # unused: symmetric
        quantize_matmul_8bits(packed, padded, scales, zero_points, INT8_BLOCK, cols, rows, True)
        packed_name, scales_name = f"{weight.name}_int8", f"{weight.name}_int8_scales"
        graph.initializer.extend([numpy_helper.from_array(packed, packed_name),
                                  numpy_helper.from_array(scales, scales_name)])
        nodes.append(helper.make_node(
            "MatMulNBits", [node.input[0], packed_name, scales_name], list(node.output),
            name=f"{node.name}_int8", domain="com.microsoft", K=rows, N=cols, bits=8,
            block_size=INT8_BLOCK, accuracy_level=4))
    if not any(n.op_type == "MatMulNBits" for n in nodes):
        raise ExportError("the ONNX export has no weight products to quantize")
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for n in nodes for name in n.input}
    kept = [w for w in graph.initializer if w.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))


def _replace(scratch: Path, folder: Path) -> None:
    """Move ``scratch`` to ``folder``; a folder another process finished first is kept."""
    if folder.exists():
        old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
        try:
            folder.rename(old)
        except FileNotFoundError:
            pass
        else:
            shutil.rmtree(old, ignore_errors=True)
    try:
        scratch.rename(folder)
    except OSError:
        if not (folder / INFO).is_file():
            raise


class OnnxEmbedder:
    """``model`` (a local sentence-transformers folder) run by onnxruntime from its export
    under ``root``, exported on first use when missing. ``int8`` runs the dynamically quantized
    export. ``threads`` > 0 is onnxruntime's intra-op thread count; 0 is its default (all
    cores). ``name`` is the model's identity plus the backend, so an index built with one
    backend is re-embedded by another."""

    def __init__(self, model: str, root: Path, *, int8: bool = False, batch_size: int = 64,
                 threads: int = 0) -> None:
        self.model_name = model
        self.root = Path(root)
        self.int8 = int8
        self.batch_size = batch_size
        self.threads = threads
        self.backend = "onnx-int8" if int8 else "onnx"
        self._lock = threading.Lock()
        self._runtime: Any = None  # the onnxruntime session, or OpenVINO's compiled model
        self._tokenizer: Any = None
        self._info: dict[str, Any] = {}
        self._inputs: list[str] = []
        self._name: str | None = None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = f"{model_identity(self.model_name)}+{self.backend}"
        return self._name

    @property
    def dim(self) -> int:
        self._load()
        return int(self._info["dim"])

    def _load(self) -> None:
        if self._runtime is not None:
            return
        with self._lock:
            if self._runtime is not None:
                return
            from transformers import AutoTokenizer

            folder = export(self.model_name, self.root, int8=self.int8)
            logger.info("loading %s embedding model from %s", self.backend, folder)
            self._info = json.loads((folder / INFO).read_text())
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"))
            self._runtime = self._open(folder)

    def _open(self, folder: Path) -> Any:
        """The runtime for the export in ``folder`` (sets ``_inputs``)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.threads > 0:
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(folder / (INT8 if self.int8 else FP32)), options,
                                       providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in session.get_inputs()]
        return session

    def embed(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        self._load()
        dim = int(self._info["dim"])
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        limit = int(self._info["max_length"])
        encoded = self._tokenizer(list(texts), truncation=True, max_length=limit)
        ids = encoded["input_ids"]
        types = encoded.get("token_type_ids")
        out = np.empty((len(texts), dim), dtype=np.float32)
        pad = self._tokenizer.pad_token_id or 0

        batches = token_batches([len(x) for x in ids], self.batch_size)

        def feeds() -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
            for idx in batches:
                input_ids, mask, token_types = pad_batch(ids, types, idx, pad)
                feed = {"input_ids": input_ids, "attention_mask": mask}
                if "token_type_ids" in self._inputs:
                    feed["token_type_ids"] = (np.zeros_like(input_ids) if token_types is None
                                              else token_types)
                yield idx, feed

        for idx, vectors in self._pooled(feeds(), several=len(batches) > 1):
            out[idx] = vectors
            if progress is not None:
                progress(len(idx))
        return out

    def _pooled(self, feeds: Iterator[tuple[list[int], dict[str, np.ndarray]]], *,
                several: bool) -> Iterator[tuple[list[int], np.ndarray]]:
        """(rows, their pooled unit vectors) of each batch (``several``: more than one)."""
        for idx, feed in feeds:
            hidden = self._runtime.run(["last_hidden_state"], feed)[0]
            yield idx, _pool(hidden, feed["attention_mask"], self._info["pooling"])


class OpenVinoEmbedder(OnnxEmbedder):
    """The fp32 ONNX export (``export``) compiled by OpenVINO for the CPU, at the precision
    OpenVINO infers best there: bf16 products on a CPU with bf16 instructions (AMX or
    AVX512-BF16, as on these machines), fp32 otherwise. ``name`` carries the precision, so an
    index built at one is re-embedded at the other. ``threads`` > 0 (the service's one query
    at a time) compiles for latency on that many threads; 0 (a build) for throughput, one
    stream per core, the batches side by side as the torch path runs them."""

    # OpenVINO's thread pool does not survive ``fork``: a forked child's first inference
    # never returns. Nothing in the product forks; ``frontline eval`` searches in one process
    # with this embedder (``frontline.evaluation.parallel``).
    fork_safe = False

    def __init__(self, model: str, root: Path, *, batch_size: int = 64, threads: int = 0
                 ) -> None:
        super().__init__(model, root, batch_size=batch_size, threads=threads)
        self.backend = "openvino"

    @property
    def name(self) -> str:
        if self._name is None:
            self._load()
            self._name = f"{model_identity(self.model_name)}+openvino-{self.precision}"
        return self._name

    @property
    def precision(self) -> str:
        """The precision OpenVINO compiled the products at: ``bf16`` or ``f32``."""
        self._load()
        return str(self._runtime.get_property("INFERENCE_PRECISION_HINT").to_string())

    def _open(self, folder: Path) -> Any:
        import openvino as ov

        config: dict[str, Any] = {"PERFORMANCE_HINT": "THROUGHPUT"}
        if self.threads > 0:
            config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": self.threads}
        core = ov.Core()
        compiled = core.compile_model(core.read_model(str(folder / FP32)), "CPU", config)
        self._inputs = [i.get_any_name() for i in compiled.inputs]
        return compiled

    def _pooled(self, feeds: Iterator[tuple[list[int], dict[str, np.ndarray]]], *,
                several: bool) -> Iterator[tuple[list[int], np.ndarray]]:
        import openvino as ov

        pooling = self._info["pooling"]
        if not several or self.threads > 0:
            request = self._runtime.create_infer_request()
            for idx, feed in feeds:
                hidden = request.infer(feed)[self._runtime.output(0)]
                yield idx, _pool(hidden, feed["attention_mask"], pooling)
            return
        # Batches side by side, one per stream; each is pooled in its callback, so only
        # vectors are kept, never a build's hidden states (``start_async`` waits for a free
        # request, so the padded batches are made as they are needed, too).
        done: list[tuple[list[int], np.ndarray]] = []
        queue = ov.AsyncInferQueue(self._runtime)

        def finished(request: Any, job: tuple[list[int], np.ndarray]) -> None:
            idx, mask = job
            done.append((idx, _pool(request.get_output_tensor(0).data, mask, pooling)))

        queue.set_callback(finished)
        for idx, feed in feeds:
            queue.start_async(feed, (idx, feed["attention_mask"]))
        queue.wait_all()
        yield from done


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    if mode == "cls":
        pooled = hidden[:, 0]
    else:
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
