"""The article classifier above ``MAX_CLASSES`` articles: prototypes, trained at 5,000 articles,
refitting only what changed, and never learning internal articles for public searches."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from indexer import Retriever, build_index, classifier, load_articles, store
from tests.conftest import SAMPLE_KB, write_article

WORD = re.compile(r"[a-z]{4,}")


@pytest.fixture(scope="module")
def word_vectors(real_embedder) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """The real model's embedding of 300 of the sample KB's question words."""
    articles = load_articles(SAMPLE_KB).articles
    words = sorted({w for a in articles for q in a.questions for w in WORD.findall(q.lower())})
    words = random.Random(3).sample(words, 300)
    return dict(zip(words, real_embedder.embed(words), strict=True))


def _vector(text: str, words: dict[str, np.ndarray]) -> np.ndarray:
    """A text's vector: the normalized sum of its words' real embeddings."""
    total = np.sum([words[w] for w in text.split() if w in words], axis=0)
    return (total / np.linalg.norm(total)).astype(np.float32)


def _generated(n: int, words: dict[str, np.ndarray], seed: int = 5
               ) -> tuple[list[str], list[str], np.ndarray]:
    """``n`` articles, each a title and two questions of four real words."""
    rng = random.Random(seed)
    vocabulary = sorted(words)
    texts, labels = [], []
    for i in range(n):
        for _ in range(3):
            texts.append(" ".join(rng.sample(vocabulary, 4)))
            labels.append(f"a{i:05d}")
    return texts, labels, np.stack([_vector(t, words) for t in texts])


def test_5000_articles_are_classified_by_prototypes(word_vectors) -> None:  # type: ignore[no-untyped-def]
    texts, labels, vectors = _generated(5000, word_vectors)
    asked: list[int] = []

    def lookup(at: np.ndarray) -> np.ndarray:
        asked.extend(at.tolist())
        return vectors[at]

    model = classifier.fit(texts, labels, lookup)
    assert isinstance(model, classifier.PrototypeClassifier)  # trained, not skipped
    assert len(model.classes) == 5000 and sorted(asked) == list(range(len(texts)))
    rng = random.Random(1)
    sample = rng.sample(range(len(texts)), 200)
    first = [model.classes[int(np.argmax(model.probabilities(vectors[i], texts[i])))]
             == labels[i] for i in sample]
    assert np.mean(first) >= 0.98
    # A question worded differently (two of its four words, reordered) still finds it mostly.
    partial = []
    for i in sample:
        query = " ".join(texts[i].split()[2:0:-1])
        probs = model.probabilities(_vector(query, word_vectors), query)
        partial.append(labels[i] in model.classes[np.argsort(-probs)[:10]])
    assert np.mean(partial) >= 0.6
    allowed = np.asarray([not c.endswith("7") for c in model.classes])
    probs = model.probabilities(vectors[0], texts[0], allowed)
    assert probs[~allowed].max() == 0 and abs(probs.sum() - 1) < 1e-5


def test_an_incremental_fit_refits_only_what_changed_and_equals_a_full_one(  # type: ignore[no-untyped-def]
        word_vectors, tmp_path: Path) -> None:
    texts, labels, vectors = _generated(2100, word_vectors)
    first = classifier.fit(texts, labels, lambda at: vectors[at])
    assert isinstance(first, classifier.PrototypeClassifier)
    first.save(tmp_path)  # as a previous index version holds it

    # a00010 gets a new question, a00020 is deleted, a09999 is new.
    edited = list(zip(texts, labels, vectors, strict=True))
    question = " ".join(sorted(word_vectors)[:4])
    edited.insert(32, (question, "a00010", _vector(question, word_vectors)))
    edited = [e for e in edited if e[1] != "a00020"]
    edited += [("brand new article title", "a09999", vectors[0])]
    texts2, labels2 = [e[0] for e in edited], [e[1] for e in edited]
    vectors2 = np.stack([e[2] for e in edited])
    asked: list[int] = []

    def lookup(at: np.ndarray) -> np.ndarray:
        asked.extend(at.tolist())
        return vectors2[at]

    incremental = classifier.fit(texts2, labels2, lookup, tmp_path / classifier.FILE)
    assert isinstance(incremental, classifier.PrototypeClassifier)
    assert sorted(incremental.refitted) == ["a00010", "a09999"]
    assert sorted({labels2[i] for i in asked}) == ["a00010", "a09999"]  # only their vectors
    full = classifier.fit(texts2, labels2, lambda at: vectors2[at])
    assert isinstance(full, classifier.PrototypeClassifier) and len(full.refitted) == 2100
    assert list(incremental.classes) == list(full.classes) and "a00020" not in full.classes
    for i in [*random.Random(2).sample(range(len(texts2)), 100), 32, len(texts2) - 1]:
        assert np.allclose(incremental.probabilities(vectors2[i], texts2[i]),
                           full.probabilities(vectors2[i], texts2[i]), atol=1e-6)
    assert classifier.fit(texts2, labels2, lookup, tmp_path / "missing.npz") is not None


def test_a_reindex_refits_the_edited_article_only(small_kb: Path, tmp_path: Path,
                                                  embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Through the index build: with prototypes in force (threshold lowered to this small KB),
    a question edit refits that article in both classifiers, and the result serves what a
    full rebuild serves."""
    monkeypatch.setattr(classifier, "MAX_CLASSES", 2)
    index = tmp_path / "index"
    first = build_index(small_kb, index, embedder)
    folder = store.version_path(index, first.version or "")
    model = classifier.ArticleClassifier.load(folder)
    public = classifier.ArticleClassifier.load(folder, classifier.PUBLIC_FILE)
    assert isinstance(model, classifier.PrototypeClassifier) and len(model.refitted) == 4
    assert isinstance(public, classifier.PrototypeClassifier)
    assert "refund-exceptions" not in public.classes  # the public one never sees internal

    article = small_kb / "refund-policy.md"
    article.write_text(article.read_text().replace(
        "questions:\n", "questions:\n  - charged twice this month\n", 1))
    edit = build_index(small_kb, index, embedder)
    folder = store.version_path(index, edit.version or "")
    for name in (classifier.FILE, classifier.PUBLIC_FILE):
        refit = classifier.ArticleClassifier.load(folder, name)
        assert isinstance(refit, classifier.PrototypeClassifier)
        assert list(refit.refitted) == ["refund-policy"], name

    rebuilt = tmp_path / "rebuilt"
    build_index(small_kb, rebuilt, embedder, full=True)
    queries = ("I was charged twice", "forgot my password", "app without internet",
               "customer wants a refund after 14 days")
    for audience in ("public", "internal"):
        for query in queries:
            a = Retriever(index, embedder, ranking="classifier").search(query, audience, 3)
            b = Retriever(rebuilt, embedder, ranking="classifier").search(query, audience, 3)
            assert [h.article_id for h in a] == [h.article_id for h in b]
            assert np.allclose([h.confidence for h in a], [h.confidence for h in b], atol=1e-4)
    charged = Retriever(index, embedder, ranking="classifier").search(
        "I was charged twice this month", "public", 1)
    assert charged[0].article_id == "refund-policy"


def test_internal_articles_never_change_public_prototype_scores(  # type: ignore[no-untyped-def]
        small_kb: Path, tmp_path: Path, embedder, monkeypatch) -> None:
    monkeypatch.setattr(classifier, "MAX_CLASSES", 2)
    index = tmp_path / "index"
    build_index(small_kb, index, embedder)
    queries = ("refund after 14 days", "I forgot my password", "refund my annual plan")

    def public() -> list[list[tuple[str, float | None]]]:
        retriever = Retriever(index, embedder, ranking="classifier")
        return [[(h.article_id, h.confidence) for h in retriever.search(q, "public", 3)]
                for q in queries]

    before = public()
    write_article(small_kb, "refund-runbook", "Refund runbook for annual plan refunds",
                  "## Refund after 14 days\nRefund the annual plan after 14 days.\n",
                  audience="internal",
                  questions=("refund after 14 days", "annual plan refund", "forgot password"))
    build_index(small_kb, index, embedder)
    assert public() == before
    reps = Retriever(index, embedder, ranking="classifier").search(queries[0], "internal", 3)
    assert "refund-runbook" in [h.article_id for h in reps]


def test_prototype_confidence_holds_as_near_topic_articles_are_added(  # type: ignore[no-untyped-def]
        small_kb: Path, tmp_path: Path, embedder, monkeypatch) -> None:
    """The prototype classifier's confidence (``retriever._supported``): a softmax over a
    fixed number of contenders, re-scored by their body's support. Articles that repeat
    half of a question but whose bodies do not answer it keep the right article first and
    take far less of its confidence than of the classifier's probability over every article."""
    monkeypatch.setattr(classifier, "MAX_CLASSES", 2)
    query = "I forgot my password and can't sign in"
    index = tmp_path / "index"
    build_index(small_kb, index, embedder)
    alone = Retriever(index, embedder, ranking="classifier").search(query, "public", 3)
    assert alone[0].article_id == "reset-password"
    rng = random.Random(4)
    for i in range(120):  # near-topic neighbours: half a real question, an unrelated body
        noun = rng.choice(("invoice", "team", "workspace", "report", "plan", "export"))
        write_article(small_kb, f"near-{i:03d}", f"{noun.title()} settings {i}",
                      f"## {noun.title()}\nThe {noun} page lists every {noun} by date.\n",
                      questions=(f"forgot my {noun} password", f"can't sign in to {noun} {i}"))
    build_index(small_kb, index, embedder)
    retriever = Retriever(index, embedder, ranking="classifier")
    crowded = retriever.search(query, "public", 3)
    assert crowded[0].article_id == "reset-password"
    version = retriever.current()
    model, allowed = version.classifier_for("public")
    probs = model.probabilities(embedder.embed([query])[0], query, allowed)
    before = float(probs[list(model.classes).index("reset-password")])
    assert alone[0].confidence is not None and crowded[0].confidence is not None
    # with every article in one softmax the neighbours take a large share; over the
    # supported contenders the right article keeps nearly all of its confidence
    assert alone[0].confidence - crowded[0].confidence < 0.5 * (alone[0].confidence - before)
    assert crowded[0].confidence > 0.5
    assert all(h.confidence is not None and 0 <= h.confidence <= 1 for h in crowded)
