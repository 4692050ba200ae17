"""The article classifier's probabilities mixed with a prototype classifier's, on an intent set's
validation split (CLINC150 or BANKING77), the classifiers alone.

    nice .venv/bin/python bench/classifier_mix.py banking77

Reads the training examples' vectors from the index ``frontline eval --dataset NAME`` cached
(``var/eval-cache/NAME-*``: run ``make eval-clinc150`` / ``make eval-banking77`` once), trains
the product's logistic regression (``indexer.classifier.train``) and the product's prototype
classifier of the same examples (``train_prototypes``), and prints top-1 accuracy on the
validation split (for CLINC150 also in-scope accuracy when a threshold on the top probability
answers at most 20 % of the out-of-scope queries, as ``bench/classifier_sweep.py``) for each
mix ``(1 - a) p_LR + a p_prototypes`` (arithmetic) and ``p_LR^(1-a) p_prototypes^a``
(geometric, renormalized), a in ``MIXES``, the prototypes' softmax at scale ``SCALES``.
Validation only; nothing here reads a test split.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from classifier_sweep import training_examples  # noqa: E402

from frontline.evaluation import datasets  # noqa: E402
from frontline.knowledge.base import default_embedding_model  # noqa: E402
from frontline.settings import get_settings  # noqa: E402
from indexer import classifier  # noqa: E402
from indexer.embedding import make_embedder  # noqa: E402

MIXES = (0.1, 0.2, 0.3, 0.5)
SCALES = (10.0, 20.0, 40.0)
OOS_BUDGET = 0.20


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    return shifted / shifted.sum(1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=("clinc150", "banking77"))
    args = parser.parse_args()
    settings = get_settings()
    data = datasets.load(args.dataset, settings.benchmarks_dir)
    model_name = settings.embedding_model or default_embedding_model()
    embedder = make_embedder(model_name)
    version, vectors, texts, labels = training_examples(args.dataset, embedder.name)
    questions = [q.question for q in data.validation]
    expected = np.array([q.expected or "" for q in data.validation])
    embedded = embedder.embed(questions)
    oos = expected == ""
    regression = classifier.train(vectors, texts, labels)
    prototypes = classifier.train_prototypes(texts, labels, lambda at: vectors[at]).prepare()
    assert regression is not None and list(regression.classes) == list(prototypes.classes)
    own = np.stack([regression.probabilities(v, q)
                    for v, q in zip(embedded, questions, strict=True)])
    # Logits at the product's scale; other scales are the same sums, rescaled.
    logits = np.stack([prototypes.logits(v, q) for v, q in zip(embedded, questions, strict=True)]
                      ) / classifier.PROTOTYPE_SCALE
    print(f"{args.dataset} ({version.name}): {len(texts)} training examples, "
          f"{len(set(labels))} intents, {len(questions)} validation queries "
          f"({int(oos.sum())} out of scope)")

    def line(label: str, probs: np.ndarray) -> None:
        right = regression.classes[probs.argmax(1)] == expected
        text = f"  {label}: top-1 {right[~oos].mean():.4f}"
        if oos.any():
            certainty = probs.max(1)
            cut = np.quantile(certainty[oos], 1 - OOS_BUDGET)
            text += (f", in-scope accuracy within the {OOS_BUDGET:.0%} budget "
                     f"{(right & (certainty > cut))[~oos].mean():.4f}")
        print(text, flush=True)

    line("logistic regression alone", own)
    for scale in SCALES:
        theirs = softmax(scale * logits)
        line(f"prototypes alone, scale {scale:g}", theirs)
        for a in MIXES:
            line(f"scale {scale:g}, arithmetic a={a:g}", (1 - a) * own + a * theirs)
            geometric = np.exp((1 - a) * np.log(own + 1e-12) + a * np.log(theirs + 1e-12))
            line(f"scale {scale:g}, geometric a={a:g}", geometric / geometric.sum(1, keepdims=True))


if __name__ == "__main__":
    main()
