"""Embedding backends (FRONTLINE_EMBEDDING_BACKEND): the torch path's batching, and the ONNX
exports (fp32 and dynamic int8) agreeing with fp32 torch on real KB chunks and questions."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pydantic
import pytest

from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.knowledge.tuning import ServingEmbedder
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, chunk, load_articles, onnx_backend
from indexer.embedding import (
    PackedEncoder,
    _linear_gelu_forward,
    length_runs,
    make_embedder,
    token_batches,
    token_lengths,
    use_onednn,
)
from tests.conftest import SAMPLE_KB, make_settings

logger = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def questions() -> list[str]:
    """Every 6th question of the sample KB's dev split."""
    return [q.question for q in load_questions(Settings().eval_questions)
            if q.split == "dev"][::6]


@pytest.fixture(scope="module")
def sample_texts(questions: list[str]) -> list[str]:
    """Every 10th chunk of the sample KB (short and long), then the questions."""
    articles = load_articles(SAMPLE_KB).articles
    return [c.embedding_text(a.title) for a in articles for c in chunk(a)][::10] + questions


@pytest.fixture(scope="module")
def reference(real_embedder: SentenceTransformerEmbedder,
              sample_texts: list[str]) -> np.ndarray:
    return real_embedder.embed(sample_texts)


@pytest.fixture(scope="module")
def export_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


def test_torch_path_matches_sentence_transformers_encode(
        real_embedder: SentenceTransformerEmbedder, sample_texts: list[str],
        reference: np.ndarray) -> None:
    # The batches are cut by tokens, not characters, and the products run through oneDNN; the
    # vectors, and their order, must be what sentence-transformers' own encode gives on an
    # untouched model (torch's default BLAS).
    assert real_embedder.onednn and use_onednn_active(real_embedder._load())
    assert real_embedder._packed is not None  # the packed forward (no padded products)
    plain = SentenceTransformerEmbedder(default_embedding_model(), onednn=False)
    model = plain._load()
    assert not use_onednn_active(model)
    expected = model.encode(sample_texts, normalize_embeddings=True, convert_to_numpy=True)
    cosine = (expected * reference).sum(axis=1)
    assert cosine.min() > 0.99999
    assert np.abs(expected - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(reference, axis=1), 1.0, atol=1e-5)
    # One text alone (a chat turn's query) and the same texts in another order: same vectors.
    order = list(range(len(sample_texts)))[::-1]
    again = real_embedder.embed([sample_texts[i] for i in order])
    assert np.abs(again - reference[order]).max() < 1e-5
    alone = real_embedder.embed(sample_texts[-1:])
    assert np.abs(alone - expected[-1:]).max() < 1e-5


def test_the_packed_forward_is_the_module_forward_and_only_for_models_it_knows(
        real_embedder: SentenceTransformerEmbedder, sample_texts: list[str],
        reference: np.ndarray) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    modules = SentenceTransformerEmbedder(default_embedding_model(), packed=False)
    assert modules._load() is not None and modules._packed is None
    # Texts of very different lengths in one batch: padding must not leak into any vector.
    mixed = [sample_texts[i] for i in np.argsort([len(t) for t in sample_texts])[::7]]
    assert np.abs(real_embedder.embed(mixed) - modules.embed(mixed)).max() < 1e-5
    assert np.abs(modules.embed(sample_texts) - reference).max() < 1e-5
    # CLS pooling is not what the packed forward computes: such a model keeps its modules.
    st = real_embedder._load()
    cls = SentenceTransformer(modules=[st[0], Pooling(st.get_embedding_dimension(), "cls")])
    assert PackedEncoder.of(cls) is None
    assert PackedEncoder.of(st) is not None


def test_attention_by_token_length_matches_encode_for_runs_of_equal_and_mixed_lengths(
        real_embedder: SentenceTransformerEmbedder, sample_texts: list[str]) -> None:
    # Attention runs once per run of consecutive texts of one token length (no mask, no
    # padding), and pooling is a plain mean of each run: a batch holding runs of several equal
    # lengths, lone lengths between them, and the same texts out of order must give what
    # encode gives on the untouched model, text by text, in the batch's order.
    model = real_embedder._load()
    packed = real_embedder._packed
    assert packed is not None and packed.by_length
    tokens = token_lengths(model.tokenizer, sample_texts, model.max_seq_length)
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(tokens):
        by_length.setdefault(n, []).append(i)
    shared = [group for group in by_length.values() if len(group) >= 3][:3]
    lone = [group[0] for group in by_length.values() if len(group) == 1][:4]
    assert len(shared) == 3 and len(lone) == 4
    chosen = sorted([i for group in shared for i in group] + lone, key=tokens.__getitem__)
    shuffled = chosen[1::2] + chosen[::2]
    encoded = model.tokenizer([sample_texts[i] for i in range(len(sample_texts))],
                              truncation=True, max_length=model.max_seq_length)
    ids, types = encoded["input_ids"], encoded.get("token_type_ids")
    runs = length_runs([tokens[i] for i in chosen])
    assert len(runs) == 7 and sorted(count for _, count, _ in runs)[-3:] == sorted(
        len(group) for group in shared)
    plain = SentenceTransformerEmbedder(default_embedding_model(), onednn=False)._load()
    import torch

    with torch.inference_mode():
        for order in (chosen, shuffled):
            vectors = packed(ids, types, order).numpy()
            expected = plain.encode([sample_texts[i] for i in order],
                                    normalize_embeddings=True, convert_to_numpy=True)
            assert vectors.shape == expected.shape
            assert np.abs(vectors - expected).max() < 1e-6
    # The previous forward (the batch padded for attention, one mask) agrees too.
    before = PackedEncoder.of(model, by_length=False, reorder=False)
    assert before is not None and not before.by_length
    with torch.inference_mode():
        assert np.abs(before(ids, types, chosen).numpy()
                      - packed(ids, types, chosen).numpy()).max() < 1e-6


def test_a_build_on_two_threads_runs_its_batches_side_by_side_with_the_same_vectors(
        sample_texts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # With two torch threads the packed forward's batches run one per thread (each on one
    # torch thread); the vectors (bit for bit), their order and the progress count are
    # one-at-a-time's, and the caller's thread count is what it was.
    import torch

    from indexer import embedding

    calls: list[int] = []
    real = embedding.side_by_side

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(embedding, "side_by_side", spy)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        one_at_a_time = SentenceTransformerEmbedder(default_embedding_model(),
                                                    side_by_side=False)
        expected = one_at_a_time.embed(sample_texts)
        assert calls == []
        side = SentenceTransformerEmbedder(default_embedding_model())
        done: list[int] = []
        vectors = side.embed(sample_texts, progress=done.append)
        assert len(calls) == 1 and calls[0] >= 2  # one-at-a-time's batches, one per thread
        assert sum(done) == len(sample_texts)
        assert np.array_equal(vectors, expected)  # the same batches: the same bits
        assert torch.get_num_threads() == 2
        alone = side.embed(sample_texts[:1])  # one batch: no threads started
        assert len(calls) == 1 and np.abs(alone - expected[:1]).max() < 1e-5
    finally:
        torch.set_num_threads(before)


def test_length_runs_count_rows_of_the_packed_matrix() -> None:
    assert length_runs([3, 3, 5, 7, 7, 7, 3]) == [(0, 2, 3), (6, 1, 5), (11, 3, 7), (32, 1, 3)]
    assert length_runs([4]) == [(0, 1, 4)]
    assert length_runs([]) == []


def use_onednn_active(model: object) -> bool:
    """Whether the model's first layer runs its products through oneDNN (``use_onednn``)."""
    layer = model[0].auto_model.encoder.layer[0]  # type: ignore[index]
    return getattr(layer.intermediate.forward, "__func__", None) is _linear_gelu_forward


def test_use_onednn_changes_every_linear_and_keeps_training_on_torch() -> None:
    import torch

    model = SentenceTransformerEmbedder(default_embedding_model(), onednn=False)._load()
    linears = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert use_onednn(model) == linears == 37  # 6 x (Q, K, V, O, FFN up, down) + the pooler
    # With gradients on, torch's own forward runs (a model being trained keeps autograd).
    features = model.preprocess(["how do I reset my password"])
    vector = model(features)["sentence_embedding"]
    assert vector.requires_grad
    with torch.inference_mode():
        fast = model(features)["sentence_embedding"]
    assert torch.allclose(vector.detach(), fast, atol=1e-5)


def test_token_batches_pad_less_than_character_sorted_batches(
        real_embedder: SentenceTransformerEmbedder) -> None:
    articles = load_articles(SAMPLE_KB).articles
    texts = [c.embedding_text(a.title) for a in articles for c in chunk(a)]
    model = real_embedder._load()
    lengths = token_lengths(model.tokenizer, texts, model.max_seq_length)
    batches = token_batches(lengths, 64)
    assert sorted(i for b in batches for i in b) == list(range(len(texts)))
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 64 * 64
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    by_chars = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    char_padded = sum(len(by_chars[s:s + 64]) * max(lengths[i] for i in by_chars[s:s + 64])
                      for s in range(0, len(texts), 64))
    assert padded < 0.9 * char_padded
    assert padded < 1.2 * sum(lengths)  # 1.13 on the sample KB; 1.37 sorted by characters


# The lowest cosine to fp32 torch each backend must keep, for texts embedded in index-build
# batches and for questions embedded alone (a chat turn's query): the 0.99. int8 is
# quantized per block of each text, so batching does not move it (measured minimum 0.9991 both
# ways; onnxruntime's quantize_dynamic, per batch: 0.9856 batched, 0.9915 alone); fp32 onnx:
# 1.0000 (rounded) for both. openvino runs bf16 products on these machines' CPUs (fp32 on a
# CPU without bf16 instructions): measured minimum 0.99997 batched, 0.99999 alone.
FLOORS = {"onnx": (0.999, 0.999), "onnx-int8": (0.99, 0.99), "openvino": (0.999, 0.999)}


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8", "openvino"])
def test_onnx_backends_agree_with_fp32_torch(backend: str, export_root: Path,
                                             sample_texts: list[str], questions: list[str],
                                             reference: np.ndarray) -> None:
    embedder = make_embedder(default_embedding_model(), backend, export_root=export_root)
    vectors = embedder.embed(sample_texts)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert embedder.dim == reference.shape[1]
    cosine = (vectors * reference).sum(axis=1)
    alone = np.stack([embedder.embed([q])[0] for q in questions])
    at_query = (alone * reference[-len(questions):]).sum(axis=1)
    logger.warning("%s vs fp32 torch: %d texts batched, min cosine %.4f (mean %.5f); %d "
                   "questions alone, min %.4f", backend, len(sample_texts), cosine.min(),
                   cosine.mean(), len(questions), at_query.min())
    batched_floor, query_floor = FLOORS[backend]
    assert cosine.min() >= batched_floor and cosine.mean() >= 0.995
    assert at_query.min() >= query_floor
    # Each text's nearest neighbour among the fp32 vectors is its own.
    assert (np.argmax(vectors @ reference.T, axis=1) == np.arange(len(sample_texts))).all()
    # The same model, but its own name: an index built with another backend is re-embedded
    # (openvino's names the precision it compiled at as well).
    if backend == "openvino":
        assert isinstance(embedder, onnx_backend.OpenVinoEmbedder)
        assert embedder.precision in ("bf16", "f32")
        assert embedder.name.endswith(f"+openvino-{embedder.precision}")
    else:
        assert embedder.name.endswith(f"+{backend}")
    assert embedder.name != SentenceTransformerEmbedder(default_embedding_model()).name


def test_the_export_is_reused_on_the_second_start(
        export_root: Path, sample_texts: list[str], reference: np.ndarray,
        monkeypatch: pytest.MonkeyPatch) -> None:
    model = default_embedding_model()
    first = onnx_backend.export(model, export_root, int8=True)
    files = {p.name: p.stat().st_mtime_ns for p in first.iterdir() if p.is_file()}
    # The int8 file is int8: every weight product is an 8-bit MatMulNBits, none is left fp32,
    # and the file is 30 MB smaller than the fp32 one (the 47 MB word-embedding table stays
    # fp32: 60 of 90 MB).
    import onnx

    graph = onnx.load(str(first / onnx_backend.INT8)).graph
    weights = {w.name for w in graph.initializer}
    kinds = [n.op_type for n in graph.node]
    assert kinds.count("MatMulNBits") == 36  # 6 layers x (Q, K, V, O, FFN up, FFN down)
    assert not [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    assert {a.name: a.i for n in graph.node if n.op_type == "MatMulNBits"
            for a in n.attribute if a.name in ("bits", "accuracy_level")} == {
                "bits": 8, "accuracy_level": 4}
    size = (first / onnx_backend.INT8).stat().st_size
    assert size < (first / onnx_backend.FP32).stat().st_size - 25e6

    def rebuilt(*args: object, **kwargs: object) -> None:
        raise AssertionError("the export was built again")

    monkeypatch.setattr(onnx_backend, "_export_fp32", rebuilt)
    monkeypatch.setattr(onnx_backend, "_quantize", rebuilt)
    again = make_embedder(model, "onnx-int8", export_root=export_root)  # a new process's
    vectors = again.embed(sample_texts[:5])
    assert (vectors * reference[:5]).sum(axis=1).min() >= 0.99
    assert {p.name: p.stat().st_mtime_ns for p in first.iterdir() if p.is_file()} == files
    assert [p.name for p in export_root.iterdir()] == [first.name]  # no scratch left behind


def test_a_bad_backend_setting_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError, match="embedding_backend"):
        Settings(embedding_backend="onnx-fp16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"FRONTLINE_EMBEDDING_BACKEND.*'tensorrt'"):
        make_embedder(default_embedding_model(), "tensorrt", export_root=tmp_path)


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_the_service_embeds_with_the_configured_backend(
        backend: str, tmp_path: Path, export_root: Path, sample_texts: list[str],
        reference: np.ndarray) -> None:
    settings = make_settings(tmp_path / "var", SAMPLE_KB, embedding_backend=backend)
    serving = ServingEmbedder(settings)
    assert f"+{backend}" in serving.base.name
    assert isinstance(serving.base, onnx_backend.OnnxEmbedder)
    assert serving.base.root == tmp_path / "var" / "onnx"
    # Exported under the data dir at first use.
    (tmp_path / "var").mkdir(parents=True, exist_ok=True)
    vectors = serving.embed(sample_texts[:3])
    assert (vectors * reference[:3]).sum(axis=1).min() >= 0.99
    assert (tmp_path / "var" / "onnx" / onnx_backend.export_dir(
        export_root, default_embedding_model()).name / onnx_backend.FP32).is_file()
