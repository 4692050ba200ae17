"""A light classifier over questions: which article does a query belong to?

Trained at index time on every article's title and ``questions:`` — each article is a class —
with two kinds of features side by side: the sentence embedding (meaning) and TF-IDF of words
and word pairs (the exact terms a domain uses: "top up" vs "transfer" in banking). The
embedding alone reached 96.0 % top-1 on CLINC150 validation and 93.5 % on the BANKING77
held-out part; with TF-IDF beside it 97.0 % and 93.9 %. Its probability is the answer
decision's confidence. Stored as plain arrays (no pickle).

When a KB has internal articles, a second classifier is trained on the public articles alone
(``PUBLIC_FILE``) and serves public searches: its vocabulary, IDF and weights never saw an
internal article, so adding or editing one leaves every public probability as it was.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

FILE = "classifier.npz"
PUBLIC_FILE = "classifier-public.npz"  # trained on public articles only, when there are others
# Part of the index signature: a version with an older classifier is rebuilt (3: the
# public-only classifier beside the full one).
FORMAT = 3
MAX_CLASSES = 2000  # beyond this, training memory and time grow past "seconds"
C = 10.0  # inverse regularization, chosen on CLINC150 validation (1, 10, 100 tried)
NGRAMS = (1, 2)
TFIDF_WEIGHT = 1.0  # of the TF-IDF block next to the unit-length embedding (0.5, 1 tried)
MAX_WEIGHTS = 20_000_000  # classes × features, bounds the file and memory (80 MB)
MAX_TERMS = 30_000
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token pattern


@dataclass(frozen=True)
class ArticleClassifier:
    classes: np.ndarray  # article ids, shape (n,)
    coef: np.ndarray  # (n, dim + terms) float32: embedding weights, then term weights
    intercept: np.ndarray  # (n,) float32
    terms: np.ndarray  # TF-IDF vocabulary, shape (terms,); empty when no text features
    idf: np.ndarray  # (terms,) float32
    digest: str = ""  # of the training examples (``examples_digest``): equal means reusable

    @cached_property
    def _vocabulary(self) -> dict[str, int]:
        return {str(t): i for i, t in enumerate(self.terms)}

    def tfidf(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The TF-IDF row of ``text`` as (sorted term indices, weights): what the training
        ``TfidfVectorizer`` computes (lower-cased words of two or more characters, words and
        word pairs, sublinear term frequency, IDF, unit length) without its per-call
        overhead, which was 40 % of a search."""
        words = TOKEN.findall(text.lower())
        grams = words + [f"{a} {b}" for a, b in pairwise(words)]
        counts: dict[int, int] = {}
        vocabulary = self._vocabulary
        for gram in grams:
            j = vocabulary.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        indices = np.asarray(sorted(counts), dtype=np.int64)
        data = np.asarray([math.log(counts[j]) + 1.0 for j in indices], dtype=np.float64)
        if len(data):
            data *= self.idf[indices]
            data /= math.sqrt(float(np.dot(data, data)))
        return indices, data

    def logits(self, vector: np.ndarray, text: str) -> np.ndarray:
        dim = vector.shape[0]
        logits = self.coef[:, :dim] @ vector + self.intercept
        if len(self.terms):
            indices, data = self.tfidf(text)
            if len(indices):
                logits += (self.coef[:, dim + indices] @ data) * TFIDF_WEIGHT
        return logits

    def probabilities(
        self, vector: np.ndarray, text: str, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Softmax over the classes; classes not ``allowed`` (a boolean mask) get 0."""
        logits = self.logits(vector, text)
        if allowed is not None:
            logits = np.where(allowed, logits, -np.inf)
        logits = logits - logits.max()
        exp = np.exp(logits)
        return exp / exp.sum()

    def save(self, folder: Path, name: str = FILE) -> None:
        np.savez(folder / name, classes=self.classes, coef=self.coef,
                 intercept=self.intercept, terms=self.terms, idf=self.idf,
                 digest=np.asarray(self.digest))

    @classmethod
    def load(cls, folder: Path, name: str = FILE) -> ArticleClassifier | None:
        path = folder / name
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            digest = str(data["digest"]) if "digest" in data else ""
            return cls(data["classes"], data["coef"], data["intercept"], data["terms"],
                       data["idf"], digest)


def stored_digest(folder: Path, name: str = FILE) -> str | None:
    """The training-set digest of the classifier saved in ``folder`` (None without one),
    read without loading its weights — a reindex asks this before deciding to retrain."""
    path = folder / name
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return str(data["digest"]) if "digest" in data else None


def examples_digest(texts: Sequence[str], labels: Sequence[str]) -> str:
    """Identifies a training set: the classifier is a function of its examples (and of the
    embedding model, which an index version never changes), so an edit that leaves every
    title and example question as it was — most body edits — reuses the previous one."""
    digest = hashlib.sha256(f"classifier {FORMAT} C={C} w={TFIDF_WEIGHT}\n".encode())
    for label, text in sorted(zip(labels, texts, strict=True)):
        digest.update(f"{label}\0{text}\n".encode())
    return digest.hexdigest()


def train(vectors: np.ndarray, texts: Sequence[str], labels: Sequence[str]
          ) -> ArticleClassifier | None:
    """Multinomial logistic regression on (embedding + TF-IDF of the text, article id).

    Returns None when there is nothing to learn (fewer than two articles) or too much for
    index time (more than ``MAX_CLASSES`` articles): retrieval scores are used then.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    classes = sorted(set(labels))
    if not 2 <= len(classes) <= MAX_CLASSES:
        return None
    max_terms = min(MAX_TERMS, MAX_WEIGHTS // len(classes))
    vectorizer = TfidfVectorizer(ngram_range=NGRAMS, sublinear_tf=True, max_features=max_terms)
    try:
        words = vectorizer.fit_transform(texts) * TFIDF_WEIGHT
        terms = np.asarray(vectorizer.get_feature_names_out(), dtype=str)
        idf = vectorizer.idf_.astype(np.float32)
    except ValueError:  # no word of two or more letters anywhere: embeddings only
        words, terms, idf = None, np.asarray([], dtype=str), np.asarray([], np.float32)
    features = sp.hstack([sp.csr_matrix(vectors), words]).tocsr() if words is not None \
        else vectors
    model = LogisticRegression(C=C, max_iter=1000)
    model.fit(features, list(labels))
    coef, intercept = model.coef_, model.intercept_
    if len(classes) == 2:  # one logit for the second class: as a softmax over two, ±half
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.hstack([-intercept / 2,
                                                                        intercept / 2])
    return ArticleClassifier(
        classes=np.asarray(model.classes_, dtype=str),
        coef=coef.astype(np.float32),
        intercept=intercept.astype(np.float32),
        terms=terms,
        idf=idf,
        digest=examples_digest(texts, labels),
    )
