"""What an evaluation computes once: query vectors across configurations, the intent set's
index across runs — and that reusing them changes no figure but the time taken."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from frontline.evaluation.metrics import LabelledQuestion, search_all
from frontline.evaluation.reuse import QueryVectors, index_cache
from frontline.knowledge import RankedSearch
from frontline.knowledge.decision import NO_MIX
from indexer import Retriever, build_index, store

REPO = Path(__file__).resolve().parents[3]


class SlowEmbedder:
    """The real embedder, ``delay`` (50 ms) slower per call, counting the texts it embeds."""

    def __init__(self, inner, delay: float = 0.05) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.texts, self.delay = inner, 0, delay

    name = property(lambda self: self.inner.name)
    dim = property(lambda self: self.inner.dim)

    def embed(self, texts, *, progress=None):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        self.texts += len(texts)
        return self.inner.embed(texts, progress=progress)


def test_each_question_is_embedded_once_and_its_time_is_counted_in_every_search(
    small_kb: Path, tmp_path: Path, real_embedder
) -> None:  # type: ignore[no-untyped-def]
    slow = SlowEmbedder(real_embedder)
    vectors = QueryVectors(slow)
    question = "how do I reset my password"
    first = vectors.embed([question])
    assert np.array_equal(first, real_embedder.embed([question]))  # the single-query path
    assert np.array_equal(vectors.embed([question]), first) and slow.texts == 1
    assert vectors.replayed >= 0.05
    vectors.embed(["a", "b"])  # index builds pass through, uncached
    vectors.embed(["a", "b"])
    assert slow.texts == 5

    build_index(small_kb, tmp_path / "index", real_embedder)
    search = RankedSearch(Retriever(tmp_path / "index", vectors), NO_MIX)
    questions = [LabelledQuestion(q, None, "dev", "public")
                 for q in ("refund after two weeks", "does the app work offline")]
    once = search_all(search, questions, replayed=lambda: vectors.replayed)
    again = search_all(search, questions, replayed=lambda: vectors.replayed)
    assert slow.texts == 7  # embedded by the first pass only
    assert [s.hits for s in again] == [s.hits for s in once]
    assert all(s.ms >= 50 for s in again)  # the replayed embedding is in the latency


def _banking_slice(root: Path) -> None:
    real = REPO.parent / "shared/benchmarks/banking77"
    intents = ("card_arrival", "exchange_rate", "lost_or_stolen_card")
    (root / "banking77").mkdir(parents=True)
    for name, per_intent in (("train.csv", 20), ("test.csv", 4)):
        rows = [{"text": f"{i.replace('_', ' ')} question {n}", "category": i}
                for i in intents for n in range(per_intent)]
        if (real / name).exists():
            with open(real / name, newline="") as fh:
                found = [r for r in csv.DictReader(fh) if r["category"] in intents]
            rows = [r for i in intents for r in [r for r in found if r["category"] == i][
                :per_intent]]
        with open(root / "banking77" / name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["text", "category"])
            writer.writeheader()
            writer.writerows(rows)


def test_a_rerun_reuses_the_intent_sets_index_and_measures_the_same(tmp_path: Path) -> None:
    from frontline.evaluation import run as eval_run
    from tests.conftest import make_settings

    root = tmp_path / "benchmarks"
    _banking_slice(root)
    settings = make_settings(tmp_path / "data", tmp_path / "kb")

    def evaluate():  # type: ignore[no-untyped-def]
        return eval_run.evaluate(settings, dataset="banking77", benchmarks=root, split="test",
                                 do_calibrate=True, variants=("hybrid", "classifier"))

    first = evaluate()
    cached = sorted(p.name for p in (settings.data_dir / "eval-cache").iterdir())
    assert len(cached) == 2  # the calibration index and the one of all of train
    versions = {name: store.current_version(settings.data_dir / "eval-cache" / name)
                for name in cached}
    second = evaluate()
    assert {name: store.current_version(settings.data_dir / "eval-cache" / name)
            for name in cached} == versions  # nothing rebuilt
    assert second.index_seconds < first.index_seconds

    def figures(run):  # type: ignore[no-untyped-def]
        out = run.to_dict()
        for report in (out, *out["modes"].values(), *out["calibration"].values()):
            for key in ("p50_ms", "p95_ms", "seconds", "index_seconds"):
                report.pop(key, None)
        return out

    assert figures(second) == figures(first)
    assert index_cache(settings.data_dir, "banking77", "m", 800) != index_cache(
        settings.data_dir, "banking77", "m", 400)
