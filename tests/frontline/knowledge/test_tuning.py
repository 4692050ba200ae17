"""KB-tuned embeddings: trained for real (the shipped model, a few pairs, CPU), stored under
the data dir by fingerprint, used to build the index only while fresh, and followed by the
service's query embedder without waiting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from frontline.knowledge import KnowledgeBase, tuning
from indexer import load_articles
from indexer.embedding import model_identity
from tests.conftest import make_settings, write_article


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The small KB tuned once for the module (one epoch over its pairs: seconds)."""
    root = tmp_path_factory.mktemp("tuned")
    kb = root / "kb"
    kb.mkdir()
    write_article(kb, "reset-password", "Reset your password", """
        Open the sign-in page and choose **Forgot password**.

        ## Email link
        The reset link is valid for 30 minutes.
        """, questions=("I forgot my password", "can't log in", "locked out of my account"))
    write_article(kb, "refund-policy", "Refund policy", """
        Annual plans are refunded in full within 14 days.

        ## Monthly plans
        Monthly plans are not refunded.
        """, questions=("can I get my money back", "how do refunds work"))
    write_article(kb, "mobile-offline", "Use the mobile app offline", """
        Recent projects stay available without a connection.
        """, questions=("does the app work without internet", "airplane mode"))
    settings = make_settings(root / "data", kb, embedding_tuned="auto")
    result = tuning.tune(settings, epochs=4)  # a few steps: 9 pairs make one batch
    return settings, result


def test_tune_stores_a_model_keyed_by_what_it_was_trained_on(tuned) -> None:  # type: ignore[no-untyped-def]
    settings, result = tuned
    assert not result.reused and result.articles == 3
    assert result.pairs == 7 + 2  # every example question and heading, paired with its title
    assert result.path == settings.data_dir / "tuned" / result.fingerprint / "model"
    assert (result.path / "config.json").is_file()
    assert tuning.fresh_model(settings) == result.path
    again = tuning.tune(settings)
    assert again.reused and again.path == result.path  # unchanged KB: reused, not retrained
    assert tuning.fresh_model(settings.model_copy(update={"embedding_tuned": "off"})) is None


def test_the_fingerprint_follows_questions_and_headings_not_body_text(tuned, tmp_path: Path  # type: ignore[no-untyped-def]
                                                                      ) -> None:
    settings, result = tuned
    base = tuning.base_model(settings)
    articles = load_articles(settings.kb_dir).articles
    assert tuning.fingerprint(articles, base) == result.fingerprint
    kb = tmp_path / "kb"
    kb.mkdir()
    for article in articles:
        (kb / article.path.name).write_text(article.path.read_text())
    page = kb / "refund-policy.md"
    page.write_text(page.read_text().replace("within 14 days", "within fourteen days"))
    assert tuning.fingerprint(load_articles(kb).articles, base) == result.fingerprint
    page.write_text(page.read_text().replace("how do refunds work", "how do refunds work?!"))
    assert tuning.fingerprint(load_articles(kb).articles, base) != result.fingerprint
    # A stale model is not used: the base model builds the index until tune runs again.
    stale = settings.model_copy(update={"kb_dir": kb})
    assert tuning.fresh_model(stale) is None


def test_the_tuned_model_moves_questions_towards_their_articles(tuned) -> None:  # type: ignore[no-untyped-def]
    settings, result = tuned
    from indexer import SentenceTransformerEmbedder

    base = SentenceTransformerEmbedder(tuning.base_model(settings))
    tuned_model = SentenceTransformerEmbedder(str(result.path))
    titles = ["Reset your password", "Refund policy", "Use the mobile app offline"]
    questions = ["I forgot my password", "can I get my money back", "airplane mode"]

    def margin(embedder: SentenceTransformerEmbedder) -> float:
        sims = embedder.embed(questions) @ embedder.embed(titles).T
        own = np.diag(sims)
        return float(np.mean(own - (sims.sum(axis=1) - own) / 2))

    assert margin(tuned_model) > margin(base)


def test_the_service_serves_the_base_model_until_a_tuned_index_is_published(tuned) -> None:  # type: ignore[no-untyped-def]
    settings, result = tuned
    off = settings.model_copy(update={"embedding_tuned": "off"})
    knowledge = KnowledgeBase(off)
    knowledge.reindex()
    base_name = model_identity(tuning.base_model(settings))
    assert knowledge.retriever.current().manifest.model == base_name
    assert knowledge.embedder.name == base_name
    assert knowledge.search("I forgot my password")[0].article_id == "reset-password"
    # A second process (``frontline tune``) publishes an index built with the tuned model;
    # this one follows it on its next search, without a restart.
    KnowledgeBase(settings).reindex()
    tuned_name = model_identity(str(result.path))
    assert knowledge.search("can I get my money back")[0].article_id == "refund-policy"
    assert knowledge.retriever.current().manifest.model == tuned_name
    assert knowledge.embedder.name == tuned_name
    # Switching tuning off goes back to the base model at the next reindex.
    knowledge.reindex()
    assert knowledge.retriever.current().manifest.model == base_name


def test_a_kb_with_nothing_to_pair_is_refused(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    write_article(kb, "only", "The only article", "Just a body.")
    with pytest.raises(tuning.TuningError, match="at least two articles"):
        tuning.tune(make_settings(tmp_path / "data", kb))
