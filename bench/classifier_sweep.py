"""The article classifier's regularization ``C`` and TF-IDF weight, on an intent set's
validation split (CLINC150 or BANKING77), the classifier alone.

    nice .venv/bin/python bench/classifier_sweep.py clinc150 5,10,20,40 0.75,1,1.5,2

Reads the training examples' vectors from the index ``frontline eval --dataset NAME`` cached
(``var/eval-cache/NAME-*``: run ``make eval-clinc150`` / ``make eval-banking77`` once), sets
``indexer.classifier``'s ``C`` and ``TFIDF_WEIGHT`` to each pair in turn, trains with the
product's ``classifier.train`` (embedding and TF-IDF of words and word pairs side by side,
logistic regression) and predicts with its ``probabilities``. Prints top-1 accuracy on the
validation split and, for CLINC150, in-scope accuracy when a threshold on the top probability
answers at most 20 % of the out-of-scope validation queries (the calibration's budget; a
proxy for ``frontline eval --calibrate``, which also chooses the configuration and the mix).
Validation only; nothing here reads a test split.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frontline.evaluation import datasets  # noqa: E402
from frontline.knowledge.base import default_embedding_model  # noqa: E402
from frontline.settings import get_settings  # noqa: E402
from indexer import classifier  # noqa: E402
from indexer.embedding import make_embedder  # noqa: E402

OOS_BUDGET = 0.20


def training_examples(dataset: str, model: str) -> tuple[Path, np.ndarray, list[str], list[str]]:
    """The newest cached index ``frontline eval --dataset`` built for ``dataset`` with the
    embedding model named ``model``: its folder and its training examples' vectors, texts and
    intents."""
    import faiss

    settings = get_settings()
    cached = sorted(
        (p for p in (settings.data_dir / "eval-cache").glob(f"{dataset}-*/versions/v*")
         if f"{dataset}-full-" not in str(p) and (p / "manifest.json").is_file()
         and json.loads((p / "manifest.json").read_text()).get("model") == model),
        key=lambda p: p.name)
    if not cached:
        raise SystemExit(f"no cached index for {dataset} with {model}: run "
                         f"`make eval-{dataset}` once")
    version = cached[-1]
    conn = sqlite3.connect(version / "meta.sqlite")
    rows = conn.execute("SELECT id, article_id, text FROM chunks "
                        "WHERE kind IN ('title', 'question') ORDER BY id").fetchall()
    index = faiss.read_index(str(version / "dense.faiss"))
    vectors = np.vstack([index.reconstruct(int(r[0])) for r in rows])
    return version, vectors, [r[2] for r in rows], [r[1] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=("clinc150", "banking77"))
    parser.add_argument("cs", help="values of C, comma-separated")
    parser.add_argument("weights", help="TF-IDF weights, comma-separated")
    args = parser.parse_args()
    settings = get_settings()
    data = datasets.load(args.dataset, settings.benchmarks_dir)
    embedder = make_embedder(settings.embedding_model or default_embedding_model())
    _, vectors, texts, labels = training_examples(args.dataset, embedder.name)
    questions = [q.question for q in data.validation]
    expected = np.array([q.expected or "" for q in data.validation])
    embedded = embedder.embed(questions)
    oos = expected == ""
    print(f"{args.dataset}: {len(texts)} training examples, {len(set(labels))} intents, "
          f"{len(questions)} validation queries ({int(oos.sum())} out of scope)")
    for c in (float(v) for v in args.cs.split(",")):
        for weight in (float(v) for v in args.weights.split(",")):
            started = time.perf_counter()
            # The product's own training and prediction, with the two constants set.
            classifier.C, classifier.TFIDF_WEIGHT = c, weight
            model = classifier.train(vectors, texts, labels)
            assert model is not None
            probs = np.stack([model.probabilities(v, q) for v, q in zip(embedded, questions,
                                                                        strict=True)])
            top, certainty = model.classes[probs.argmax(1)], probs.max(1)
            right = top == expected
            line = f"  C={c:<4g} TF-IDF weight {weight:<4g}: top-1 {right[~oos].mean():.4f}"
            if oos.any():
                cut = np.quantile(certainty[oos], 1 - OOS_BUDGET)
                line += (f", in-scope accuracy within the {OOS_BUDGET:.0%} budget "
                         f"{(right & (certainty > cut))[~oos].mean():.4f}")
            print(f"{line} ({time.perf_counter() - started:.0f} s)", flush=True)

if __name__ == "__main__":
    main()
