"""The labelled questions are honest data, and the shipped retriever finds customers' articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontline.evaluation import QuestionsError, load_questions, retrieval_metrics
from indexer import Retriever, load_articles
from tests.conftest import REPO, SAMPLE_KB

QUESTIONS = REPO / "bench/data/sample_kb_questions.yml"


def test_every_labelled_question_points_at_an_article_of_its_audience() -> None:
    articles = {a.id: a for a in load_articles(SAMPLE_KB).articles}
    questions = load_questions(QUESTIONS)
    assert {q.split for q in questions} == {"dev", "test"}
    for q in questions:
        if q.expected is not None:
            assert q.expected in articles, q
            assert articles[q.expected].audience == q.audience, q
            assert q.question not in articles[q.expected].questions, "copied from the article"
    assert sum(q.expected is None for q in questions) >= 40


def test_customer_questions_find_their_article(sample_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    retriever = Retriever(sample_index / "index", real_embedder)
    dev = [q for q in load_questions(QUESTIONS) if q.split == "dev"]
    metrics = retrieval_metrics(retriever, dev)
    assert metrics.recall_at_1 >= 0.75
    assert metrics.recall_at_3 >= 0.9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("question: hi", "YAML list"),
        ("- expected: x", "needs a 'question'"),
        ("- {question: hi, expected: 3}", "article id or none"),
        ("- {question: hi, expected: none, split: train}", "bad split"),
    ],
)
def test_malformed_questions_file_names_the_problem(tmp_path: Path, text: str,
                                                    message: str) -> None:
    path = tmp_path / "q.yml"
    path.write_text(text)
    with pytest.raises(QuestionsError, match=message):
        load_questions(path)
