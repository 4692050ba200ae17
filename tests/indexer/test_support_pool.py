"""The prototype classifier's support pool (``retriever._supported``) is built from several
retrievers: the classifier's most probable articles plus the articles dense and lexical search
found, so an article whose title and example questions the classifier ranks low, but whose body
answers the question, is still re-scored. Real model, real FAISS, real SQLite FTS5; the
classifier's threshold and the pool's size are lowered so a 40-article KB exercises them."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer import Retriever, build_index, classifier, store
from indexer import retriever as retriever_module
from indexer.retriever import DeltaVersion, retrieved_classes, support_pool
from tests.conftest import write_article

QUERY = "how do I download my invoices as a CSV spreadsheet"
NOUNS = ("project", "task", "contact", "report", "comment", "team", "workspace", "label",
         "milestone", "calendar", "form", "board")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One article answers QUERY in its body only (its title and question name neither
    invoices nor CSV); 39 others repeat the question's wording about other things, with bodies
    that do not answer it."""
    folder = tmp_path_factory.mktemp("support-pool") / "kb"
    folder.mkdir()
    write_article(folder, "billing-records", "Billing records",
                  "## Invoices\nOpen Billing and choose Invoices. Download invoices as a CSV "
                  "spreadsheet with Export, or as PDF files one by one.\n",
                  questions=("where is my payment history",))
    rng = random.Random(7)
    for i in range(39):
        noun = NOUNS[i % len(NOUNS)]
        write_article(folder, f"near-{i:02d}", f"Download {noun} data {i}",
                      f"## {noun.title()} list\nThe {noun} page lists every {noun} by the date "
                      f"it was {rng.choice(('created', 'changed', 'shared'))}.\n",
                      questions=(f"how do I download my {noun}s as a spreadsheet",
                                 f"download {noun} {i} data"))
    return folder


@pytest.fixture
def prototypes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifier, "MAX_CLASSES", 2)
    monkeypatch.setattr(retriever_module, "SUPPORT_POOL", 8)


def _index(kb: Path, folder: Path, real_embedder) -> Retriever:  # type: ignore[no-untyped-def]
    build_index(kb, folder, real_embedder)
    return Retriever(folder, real_embedder, ranking="classifier")


def test_the_pool_holds_an_article_only_its_body_matches(  # type: ignore[no-untyped-def]
        kb: Path, tmp_path: Path, real_embedder, prototypes, monkeypatch) -> None:
    retriever = _index(kb, tmp_path / "index", real_embedder)
    version = retriever.current()
    model, allowed = version.classifier_for("public")
    assert isinstance(model, classifier.PrototypeClassifier)
    vector = real_embedder.embed([QUERY])[0]
    target = model.positions["billing-records"]

    alone = support_pool(model.probabilities(vector, QUERY, allowed))
    assert len(alone) == 8 and target not in alone  # the classifier prefers the look-alikes
    best_dense, best_lexical = retriever.retrieved(version, QUERY, vector, "public")
    assert "billing-records" in best_lexical  # its body has the question's words
    found = retrieved_classes(model, best_dense, best_lexical)
    pool = support_pool(model.probabilities(vector, QUERY, allowed, found), found)
    assert target in pool and set(alone) <= set(pool)

    served = [h.article_id for h in retriever.search(QUERY, "public", 5)]
    assert served[0] == "billing-records"  # re-scored by its body, it wins
    monkeypatch.setattr(retriever_module, "SUPPORT_RETRIEVED", False)
    assert "billing-records" not in [h.article_id for h in retriever.search(QUERY, "public", 5)]


def test_retrieved_articles_are_scored_exactly_by_the_classifier(  # type: ignore[no-untyped-def]
        kb: Path, tmp_path: Path, real_embedder, prototypes, monkeypatch) -> None:
    """An article outside the classifier's shortlist keeps its mean-embedding score; scored
    with ``also=`` it gets the same logit as in a model that compares every article's
    examples (its score does not depend on how it came into the pool)."""
    retriever = _index(kb, tmp_path / "index", real_embedder)
    model = retriever.current().classifier
    assert isinstance(model, classifier.PrototypeClassifier)
    vector = real_embedder.embed([QUERY])[0]
    monkeypatch.setattr(classifier, "PROTOTYPE_SHORTLIST", 4)
    short = model.logits(vector, QUERY)
    target = model.positions["billing-records"]
    also = model.logits(vector, QUERY, np.asarray([target]))
    monkeypatch.setattr(classifier, "PROTOTYPE_SHORTLIST", 1000)
    exact = model.logits(vector, QUERY)
    assert abs(also[target] - exact[target]) < 1e-4
    assert abs(short[target] - exact[target]) > 1e-3  # it was not in the shortlist
    others = np.arange(len(exact)) != target
    assert np.allclose(also[others], short[others])


def test_batched_best_sections_equal_one_at_a_time(  # type: ignore[no-untyped-def]
        kb: Path, tmp_path: Path, real_embedder, prototypes) -> None:
    """``best_sections`` (one product over every pool article) gives ``best_section``'s
    cosine, on a full version and on a delta over it."""
    kb = Path(shutil.copytree(kb, tmp_path / "kb"))
    index = tmp_path / "index"
    build_index(kb, index, real_embedder, delta_above=5, delta_share=0.5)
    write_article(kb, "billing-records", "Billing records",
                  "## Invoices\nDownload invoices as a CSV spreadsheet with Export.\n\n"
                  "## Receipts\nReceipts arrive by email after each payment.\n",
                  questions=("where is my payment history",))
    vector = real_embedder.embed([QUERY])[0]
    full = Retriever(index, real_embedder).current()
    build_index(kb, index, real_embedder, delta_above=5, delta_share=0.5)
    delta = Retriever(index, real_embedder).current()
    assert isinstance(delta, DeltaVersion) and not isinstance(full, DeltaVersion)
    for version in (full, delta):
        ids = [*sorted(version.articles), "no-such-article"]
        batched = version.best_sections(ids, vector)
        one = [version.best_section(a, vector)[0] for a in ids]
        assert np.allclose(batched, one, atol=1e-6) and batched[-1] == 0
    assert store.base_of(store.version_path(index, delta.name)) == full.name
