"""The article classifier's own TF-IDF transform computes what scikit-learn's does."""

from __future__ import annotations

import numpy as np

from indexer import classifier, load_articles
from tests.conftest import SAMPLE_KB


def test_tfidf_rows_equal_scikit_learns() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    articles = load_articles(SAMPLE_KB).articles
    texts = [q for a in articles for q in (a.title, *a.questions)]
    labels = [a.id for a in articles for _ in (a.title, *a.questions)]
    vectors = np.random.default_rng(0).standard_normal((len(texts), 8)).astype(np.float32)
    model = classifier.train(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), texts,
                             labels)
    assert model is not None and len(model.terms) > 1000
    reference = TfidfVectorizer(ngram_range=classifier.NGRAMS, sublinear_tf=True,
                                vocabulary=[str(t) for t in model.terms])
    reference.idf_ = model.idf
    queries = [*texts[::7], "Can't log in: PASSWORD reset e-mail never came!!", "", "ü ä 42",
               "refund refund refund my annual plan plan"]
    for query in queries:
        row = reference.transform([query]).tocsr()
        indices, data = model.tfidf(query)
        assert np.array_equal(indices, row.indices), query
        assert np.allclose(data, row.data, rtol=1e-12, atol=0), query


def _trained(dim: int = 16):  # type: ignore[no-untyped-def]
    articles = load_articles(SAMPLE_KB).articles
    texts = [q for a in articles for q in (a.title, *a.questions)]
    labels = [a.id for a in articles for _ in (a.title, *a.questions)]
    vectors = np.random.default_rng(1).standard_normal((len(texts), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return classifier.train(vectors, texts, labels), vectors, texts


def test_probabilities_mix_the_logistic_regression_with_its_prototypes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, vectors, _ = _trained()
    assert model is not None and model.prototypes is not None
    assert list(model.prototypes.classes) == list(model.classes)
    query, text = vectors[3], "refund for my annual plan"
    own = classifier._softmax(model.logits(query, text), None)
    theirs = model.prototypes.probabilities(query, text)
    mixed = model.probabilities(query, text)
    a = classifier.PROTOTYPE_MIX
    assert 0 < a < 1
    assert np.allclose(mixed, (1 - a) * own + a * theirs, atol=1e-7)
    assert abs(float(mixed.sum()) - 1) < 1e-5
    # The audience mask holds for both parts: a class not allowed gets exactly 0.
    allowed = np.ones(len(model.classes), bool)
    allowed[int(mixed.argmax())] = False
    masked = model.probabilities(query, text, allowed)
    assert masked[~allowed].max() == 0 and abs(float(masked.sum()) - 1) < 1e-5
    # Saved and loaded, the prototypes come back and give the same probabilities.
    model.save(tmp_path)
    loaded = classifier.ArticleClassifier.load(tmp_path)
    assert isinstance(loaded, classifier.ArticleClassifier) and loaded.prototypes is not None
    assert np.allclose(loaded.probabilities(query, text), mixed, atol=1e-7)
    assert classifier.stored_kind(tmp_path) == "logistic"


def test_without_the_mix_no_prototypes_are_trained(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with_mix, vectors, _ = _trained()
    monkeypatch.setattr(classifier, "PROTOTYPE_MIX", 0.0)
    model, _, _ = _trained()
    assert model is not None and model.prototypes is None
    assert with_mix is not None and model.digest != with_mix.digest  # a stored one retrains
    query = vectors[5]
    assert np.allclose(model.probabilities(query, "x"),
                       classifier._softmax(model.logits(query, "x"), None))


def test_prototype_logits_over_every_article_equal_the_shortlisted_path(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    model, vectors, texts = _trained()
    assert model is not None and model.prototypes is not None
    prototypes = model.prototypes.prepare()
    n = len(prototypes.classes)
    every = [prototypes.logits(v, t) for v, t in zip(vectors[::9], texts[::9], strict=True)]
    # A shortlist one short of every article gathers the rows of the n - 1 it scores exactly:
    # those are the same; the one left out keeps its mean-embedding score.
    monkeypatch.setattr(classifier, "PROTOTYPE_SHORTLIST", n - 1)
    for (v, t), expected in zip(zip(vectors[::9], texts[::9], strict=True), every, strict=True):
        same = np.isclose(prototypes.logits(v, t), expected, atol=1e-5)
        assert same.sum() >= n - 1, t
