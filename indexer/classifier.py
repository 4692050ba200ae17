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

Above ``MAX_CLASSES`` articles the logistic regression's time and memory grow past index time
(at 1,000 articles a fit took ~23 s), so a **prototype classifier** (``PrototypeClassifier``)
takes over: each article is represented by the mean of its examples' embeddings and by the
TF-IDF of its examples' words and word pairs (hashed into ``HASH_DIMS`` columns, IDF over
articles), and a query's logit for an article is ``PROTOTYPE_SCALE`` × (cosine to the mean +
``PROTOTYPE_TERMS`` × TF-IDF cosine). Each article's row depends on its own examples alone,
and the IDF and row norms are recomputed from stored counts at load, so an incremental reindex
refits only the articles whose title or questions changed (``refitted``) and gives the same
model as a full retrain. Below the threshold the logistic regression stays: it is the better
model where it fits.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

FILE = "classifier.npz"
PUBLIC_FILE = "classifier-public.npz"  # trained on public articles only, when there are others
# A delta version's prototype rows of its own articles (all, public), joined at load to its
# base's prototype classifier (``JoinedPrototypes``).
DELTA_FILE = "classifier-delta.npz"
PUBLIC_DELTA_FILE = "classifier-public-delta.npz"
# Part of the index signature: a version with an older classifier is rebuilt (3: the
# public-only classifier beside the full one).
FORMAT = 3
# Of the prototype classifier's file; part of the signature of KBs above MAX_CLASSES articles.
PROTOTYPE_FORMAT = 2
MAX_CLASSES = 2000  # beyond this, training memory and time grow past "seconds": prototypes
C = 10.0  # inverse regularization, chosen on CLINC150 validation (1, 10, 100 tried)
NGRAMS = (1, 2)
TFIDF_WEIGHT = 1.0  # of the TF-IDF block next to the unit-length embedding (0.5, 1 tried)
MAX_WEIGHTS = 20_000_000  # classes × features, bounds the file and memory (80 MB)
MAX_TERMS = 30_000
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # TfidfVectorizer's default token pattern
# The prototype classifier (above MAX_CLASSES articles): hashed term columns, the weight of the
# TF-IDF cosine next to the embedding cosine, and the softmax scale of their sum.
HASH_DIMS = 2**20
PROTOTYPE_TERMS = 1.5  # on the sample KB's dev split, 0, 0.25, 0.5, 1, 1.5, 2 tried
PROTOTYPE_SHARPNESS = 20.0  # of the soft maximum over an article's examples (10, 20 tried)
PROTOTYPE_SHORTLIST = 256  # articles whose examples are compared one by one
# Softmax scale: 5, 10, 15, 20, 30, 50 tried on the sample KB's dev split with prototypes forced
# (68 articles), with the product's thresholds; 10 covers the most (98.6 %, logistic regression
# 99.3 %) within the 2 % budget of unanswerable questions answered (1.2 %).
PROTOTYPE_SCALE = 10.0


@dataclass(frozen=True)
class ArticleClassifier:
    classes: np.ndarray  # article ids, shape (n,)
    coef: np.ndarray  # (n, dim + terms) float32: embedding weights, then term weights
    intercept: np.ndarray  # (n,) float32
    terms: np.ndarray  # TF-IDF vocabulary, shape (terms,); empty when no text features
    idf: np.ndarray  # (terms,) float32
    digest: str = ""  # of the training examples (``examples_digest``): equal means reusable
    kind = "logistic"

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
        return _softmax(self.logits(vector, text), allowed)

    def save(self, folder: Path, name: str = FILE) -> None:
        np.savez(folder / name, classes=self.classes, coef=self.coef,
                 intercept=self.intercept, terms=self.terms, idf=self.idf,
                 digest=np.asarray(self.digest))

    @classmethod
    def load(cls, folder: Path, name: str = FILE) -> ArticleClassifier | PrototypeClassifier | None:
        """The classifier saved in ``folder`` (either kind), or None without one."""
        path = folder / name
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            if "kind" in data and str(data["kind"]) == PrototypeClassifier.kind:
                return PrototypeClassifier.from_arrays(data).prepare()
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


def stored_kind(folder: Path, name: str = FILE) -> str | None:
    """``"prototypes"`` or ``"logistic"`` for the classifier saved in ``folder``, None without
    one (its weights are not read)."""
    path = folder / name
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return str(data["kind"]) if "kind" in data else ArticleClassifier.kind


def examples_digest(texts: Sequence[str], labels: Sequence[str]) -> str:
    """Identifies a training set: the classifier is a function of its examples (and of the
    embedding model, which an index version never changes), so an edit that leaves every
    title and example question as it was — most body edits — reuses the previous one."""
    header = f"classifier {FORMAT} C={C} w={TFIDF_WEIGHT}\n"
    if len(set(labels)) > MAX_CLASSES:
        header += f"prototypes {PROTOTYPE_FORMAT} hash={HASH_DIMS}\n"
    digest = hashlib.sha256(header.encode())
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


def _softmax(logits: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    if allowed is not None:
        logits = np.where(allowed, logits, -np.inf)
    logits = logits - logits.max()
    exp = np.exp(logits)
    return exp / exp.sum()


def _hashed(text: str) -> dict[int, int]:
    """Counts of ``text``'s words and word pairs (the TF-IDF tokens), hashed into columns."""
    words = TOKEN.findall(text.lower())
    counts: dict[int, int] = {}
    for gram in words + [f"{a} {b}" for a, b in pairwise(words)]:
        j = zlib.crc32(gram.encode()) & (HASH_DIMS - 1)
        counts[j] = counts.get(j, 0) + 1
    return counts


def _class_digest(texts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(sorted(texts)).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PrototypeClassifier:
    """Each article's examples are its prototypes: their embeddings and the counts of their
    hashed words and word pairs. A query's embedding score for an article
    is a soft maximum over its examples' cosines (log-sum-exp at ``PROTOTYPE_SHARPNESS``),
    computed for the ``PROTOTYPE_SHORTLIST`` articles with the best mean-embedding + TF-IDF
    score (the others keep that score). Everything global — IDF over articles, row norms,
    unit-length means — is derived when the model is loaded, so each article's stored rows are
    a function of its own examples only and an edit refits that article alone."""

    classes: np.ndarray  # article ids, sorted, shape (n,)
    offsets: np.ndarray  # (n + 1,): article i's examples are rows offsets[i]:offsets[i + 1]
    # (examples, dim) float32 embeddings (float16 halved the memory but converting the
    # shortlist's rows back took 10 ms a query)
    examples: np.ndarray
    term_indptr: np.ndarray  # CSR rows (n × HASH_DIMS) of the article's term counts
    term_indices: np.ndarray  # int32 hashed columns, sorted within a row
    term_counts: np.ndarray  # float32 counts
    digests: np.ndarray  # (n,) of each article's examples (``_class_digest``)
    refitted: np.ndarray  # the articles whose rows were fitted when this model was made
    digest: str = ""  # of all the training examples (``examples_digest``)
    kind = "prototypes"

    def prepare(self) -> PrototypeClassifier:
        """Derive what searches read (IDF, term rows, means) now rather than on the first
        search; a model that is only refitted and saved never needs them."""
        self._by_term  # noqa: B018
        return self

    @cached_property
    def _means(self) -> np.ndarray:
        """Each article's unit-length mean embedding (the shortlist's first score)."""
        sums = np.add.reduceat(self.examples, self.offsets[:-1], axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    @cached_property
    def _idf(self) -> np.ndarray:
        df = np.bincount(self.term_indices, minlength=HASH_DIMS)
        n = len(self.classes)
        return (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)

    @cached_property
    def _by_term(self):  # type: ignore[no-untyped-def]
        """(HASH_DIMS × n): each article's unit-length TF-IDF row (sublinear term frequency),
        by term, so a query reads only its own terms' rows."""
        import scipy.sparse as sp

        weights = (np.log(self.term_counts) + 1) * self._idf[self.term_indices]
        rows = sp.csr_matrix((weights, self.term_indices, self.term_indptr),
                             shape=(len(self.classes), HASH_DIMS))
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
        rows = sp.diags((1 / np.where(norms > 0, norms, 1.0)).astype(np.float32)) @ rows
        self._means  # noqa: B018
        return rows.T.tocsr()

    def _terms(self, text: str) -> np.ndarray:
        """TF-IDF cosine of ``text`` with every article's examples."""
        counts = _hashed(text)
        if not counts:
            return np.zeros(len(self.classes), np.float32)
        indices = np.asarray(sorted(counts), dtype=np.int64)
        query = (np.log(np.asarray([counts[j] for j in indices], np.float32)) + 1) * (
            self._idf[indices])
        query /= np.linalg.norm(query)
        return np.asarray(self._by_term[indices].T @ query, np.float32)

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each article id's index in ``classes``."""
        return {str(c): i for i, c in enumerate(self.classes)}

    def logits(self, vector: np.ndarray, text: str,
               also: np.ndarray | None = None) -> np.ndarray:
        """``also``: class indices scored exactly (by their examples) besides the shortlist —
        articles another retriever found, so that their score does not depend on how they
        came into the candidates."""
        terms = PROTOTYPE_TERMS * self._terms(text)
        scores = self._means @ vector + terms
        n = len(self.classes)
        top = np.arange(n) if n <= PROTOTYPE_SHORTLIST else (
            np.argpartition(-scores, PROTOTYPE_SHORTLIST - 1)[:PROTOTYPE_SHORTLIST])
        if also is not None and len(also) and n > PROTOTYPE_SHORTLIST:
            top = np.union1d(top, np.asarray(also, np.int64))
        starts, ends = self.offsets[top], self.offsets[top + 1]
        lengths = ends - starts
        rows = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(
            lengths.sum())
        cosines = self.examples[rows] @ vector
        first = np.cumsum(lengths) - lengths
        soft = np.log(np.add.reduceat(np.exp(PROTOTYPE_SHARPNESS * (cosines - 1)), first))
        scores[top] = soft / PROTOTYPE_SHARPNESS + 1 + terms[top]
        return PROTOTYPE_SCALE * scores

    def probabilities(
        self, vector: np.ndarray, text: str, allowed: np.ndarray | None = None,
        also: np.ndarray | None = None,
    ) -> np.ndarray:
        """Softmax over the classes; classes not ``allowed`` (a boolean mask) get 0. ``also``:
        as for ``logits``."""
        return _softmax(self.logits(vector, text, also), allowed)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Article ``i``'s stored (example embeddings, term columns, term counts)."""
        lo, hi = self.term_indptr[i], self.term_indptr[i + 1]
        return (self.examples[self.offsets[i]:self.offsets[i + 1]],
                self.term_indices[lo:hi], self.term_counts[lo:hi])

    def save(self, folder: Path, name: str = FILE) -> None:
        np.savez(folder / name, kind=np.asarray(self.kind), format=np.asarray(PROTOTYPE_FORMAT),
                 classes=self.classes, offsets=self.offsets,
                 examples=self.examples, term_indptr=self.term_indptr,
                 term_indices=self.term_indices, term_counts=self.term_counts,
                 digests=self.digests, refitted=self.refitted, digest=np.asarray(self.digest))

    @classmethod
    def from_arrays(cls, data) -> PrototypeClassifier:  # type: ignore[no-untyped-def]
        return cls(data["classes"], data["offsets"], data["examples"],
                   data["term_indptr"], data["term_indices"], data["term_counts"],
                   data["digests"], data["refitted"], str(data["digest"]))


def train_prototypes(texts: Sequence[str], labels: Sequence[str],
                     vectors: Callable[[np.ndarray], np.ndarray],
                     previous: PrototypeClassifier | None = None) -> PrototypeClassifier:
    """The prototype classifier of (text, article id) examples. ``vectors(positions)`` gives
    the embeddings of the examples at those positions; it is asked only for the articles
    whose examples differ from ``previous`` (all of them without one)."""
    by_class: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        by_class.setdefault(label, []).append(position)
    classes = sorted(by_class)
    digests = [_class_digest([texts[p] for p in by_class[c]]) for c in classes]
    old = {str(c): i for i, c in enumerate(previous.classes)} if previous is not None else {}
    todo = [i for i, (c, d) in enumerate(zip(classes, digests, strict=True))
            if c not in old or str(previous.digests[old[c]]) != d]  # type: ignore[union-attr]
    fitted = _fit_rows(texts, [by_class[classes[i]] for i in todo], vectors)
    if previous is not None and fitted and (
            fitted[0][0].shape[1:] != previous.examples.shape[1:]):
        return train_prototypes(texts, labels, vectors)  # another embedding size: refit all
    new = dict(zip(todo, fitted, strict=True))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [
        new[i] if i in new else previous.row(old[c])  # type: ignore[union-attr]
        for i, c in enumerate(classes)
    ]

    def offsets_of(arrays: list[np.ndarray]) -> np.ndarray:
        out = np.zeros(len(arrays) + 1, np.int64)
        np.cumsum([len(x) for x in arrays], out=out[1:])
        return out

    return PrototypeClassifier(
        classes=np.asarray(classes, dtype=str),
        offsets=offsets_of([p[0] for p in parts]),
        examples=np.vstack([p[0] for p in parts]).astype(np.float32, copy=False),
        term_indptr=offsets_of([p[1] for p in parts]),
        term_indices=np.concatenate([p[1] for p in parts]).astype(np.int32, copy=False),
        term_counts=np.concatenate([p[2] for p in parts]).astype(np.float32, copy=False),
        digests=np.asarray(digests, dtype=str),
        refitted=np.asarray([classes[i] for i in todo], dtype=str),
        digest=examples_digest(texts, labels),
    )


def _fit_rows(texts: Sequence[str], groups: list[list[int]],
              vectors: Callable[[np.ndarray], np.ndarray]
              ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(embeddings, sorted term columns, term counts) of each group of examples."""
    if not groups:
        return []
    positions = np.asarray([p for group in groups for p in group], np.int64)
    matrix = np.asarray(vectors(positions), dtype=np.float32)
    starts = np.cumsum([0] + [len(g) for g in groups[:-1]])
    rows = []
    for k, group in enumerate(groups):
        counts: dict[int, int] = {}
        for p in group:
            for j, n in _hashed(texts[p]).items():
                counts[j] = counts.get(j, 0) + n
        columns = np.asarray(sorted(counts), np.int32)
        rows.append((matrix[starts[k]:starts[k] + len(group)], columns,
                     np.asarray([counts[j] for j in columns], np.float32)))
    return rows


def _stored_prototypes(path: Path | None) -> PrototypeClassifier | None:
    """The prototype classifier at ``path`` when it is one of this format (a previous index
    version's), else None — a logistic regression's weights are not even read."""
    if path is None or not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        if "kind" not in data or str(data["kind"]) != PrototypeClassifier.kind:
            return None
        if int(data["format"]) != PROTOTYPE_FORMAT:
            return None
        return PrototypeClassifier.from_arrays(data)


def fit(texts: Sequence[str], labels: Sequence[str],
        vectors: Callable[[np.ndarray], np.ndarray], previous: Path | None = None
        ) -> ArticleClassifier | PrototypeClassifier | None:
    """The article classifier for these examples: None with fewer than two articles, the
    logistic regression (``train``) up to ``MAX_CLASSES`` articles, prototypes above — refitting
    only the articles whose examples changed since the classifier stored at ``previous``."""
    n = len(set(labels))
    if n < 2:
        return None
    if n <= MAX_CLASSES:
        return train(vectors(np.arange(len(texts), dtype=np.int64)), texts, labels)
    return train_prototypes(texts, labels, vectors, _stored_prototypes(previous))


class JoinedPrototypes:
    """A base version's prototype classifier with a delta's rows (``DELTA_FILE``) beside it:
    the base's classes that the delta replaced or deleted (``hidden``) and those not
    ``base_allowed`` never get probability; the others and the delta's compete in one softmax.
    Each part's logits are its own ``PrototypeClassifier.logits`` (the same formula as one
    model over all articles); the delta's IDF is computed over both parts (the base's counts
    without its hidden articles), while the base's keeps the IDF it was loaded with — the one
    difference from a model refitted on everything, small while a delta is a few per cent of
    its base."""

    kind = PrototypeClassifier.kind

    def __init__(self, base: PrototypeClassifier, base_allowed: np.ndarray | None,
                 hidden: set[str], delta: PrototypeClassifier | None) -> None:
        gone = np.isin(base.classes, np.asarray(sorted(hidden), dtype=base.classes.dtype))
        keep = ~gone if base_allowed is None else ~gone & base_allowed
        self.base, self.delta = base, delta
        if delta is not None:
            df = base.__dict__.get("_df")
            if df is None:  # the base's document frequencies, kept for the next delta
                df = base.__dict__["_df"] = np.bincount(base.term_indices, minlength=HASH_DIMS)
            df = df.copy()
            for i in np.flatnonzero(~keep):
                df[base.row(int(i))[1]] -= 1
            df += np.bincount(delta.term_indices, minlength=HASH_DIMS)
            n = int(keep.sum()) + len(delta.classes)
            # the delta's rows weigh terms by the IDF of every article it serves with
            delta.__dict__["_idf"] = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
            delta.prepare()
            keep = np.concatenate([keep, np.ones(len(delta.classes), bool)])
        self.classes = np.concatenate([base.classes, delta.classes]) if delta is not None \
            else base.classes
        self._keep = keep

    @cached_property
    def positions(self) -> dict[str, int]:
        """Each article id's index in ``classes`` (an edited article: its delta row)."""
        return {str(c): i for i, c in enumerate(self.classes) if self._keep[i]}

    def logits(self, vector: np.ndarray, text: str,
               also: np.ndarray | None = None) -> np.ndarray:
        split = len(self.base.classes)
        also = np.asarray([] if also is None else also, np.int64)
        parts = [self.base.logits(vector, text, also[also < split])]
        if self.delta is not None:
            parts.append(self.delta.logits(vector, text, also[also >= split] - split))
        return np.concatenate(parts)

    def probabilities(
        self, vector: np.ndarray, text: str, allowed: np.ndarray | None = None,
        also: np.ndarray | None = None,
    ) -> np.ndarray:
        """Softmax over the classes served; hidden classes and those not ``allowed`` get 0.
        ``also``: class indices scored exactly (``PrototypeClassifier.logits``)."""
        mask = self._keep if allowed is None else self._keep & allowed
        return _softmax(self.logits(vector, text, also), mask)
