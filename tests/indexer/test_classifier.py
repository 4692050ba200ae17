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
