"""The public FAQ collection as a KB (``make eval-faq``) and its labelled queries."""

from __future__ import annotations

from pathlib import Path

import yaml

from frontline.evaluation.faq import records, too_close, write_kb
from frontline.evaluation.metrics import load_questions
from indexer import load_articles

ROOT = Path(__file__).resolve().parents[3]
QUESTIONS = ROOT / "bench" / "data" / "zaragoza_faq_questions.yml"


def test_every_record_becomes_a_valid_article_with_no_example_questions(tmp_path: Path) -> None:
    folder = write_kb(tmp_path / "faq")
    (folder / "stale.md").write_text("left from an earlier run")
    write_kb(folder)  # rewritten: the stale file goes
    result = load_articles(folder)
    assert result.errors == []
    by_id = {a.id: a for a in result.articles}
    assert len(by_id) == len(records()) == 503
    first = records()[0]
    article = by_id[str(first["id"])]
    assert article.title == first["q"] and article.questions == ()
    assert str(first["a"]) in article.body and "CC BY 4.0" in article.body
    assert all(a.public and not a.questions for a in result.articles)


def test_the_labelled_queries_name_real_articles_and_are_not_their_titles() -> None:
    titles = {str(r["id"]): str(r["q"]) for r in records()}
    labelled = load_questions(QUESTIONS)
    raw = yaml.safe_load(QUESTIONS.read_text())
    assert len(labelled) == len(raw) > 100
    assert {q.split for q in labelled} == {"dev", "test"}
    answerable = [(q.question, q.expected) for q in labelled if q.expected is not None]
    assert all(expected in titles for _, expected in answerable)
    assert not [q for q, expected in answerable if too_close(q, titles[expected])]
    test = [q for q in labelled if q.split == "test"]
    assert len({q.expected for q in test if q.expected is not None}) >= 70
    assert sum(q.expected is None for q in test) >= 20


def test_a_title_reworded_is_too_close_and_a_customer_question_is_not() -> None:
    title = "How long does it take to get a building permit?"
    assert too_close("how long does it take to get a building permit", title)
    assert not too_close("we applied in march, when will the council decide on our extension",
                         title)
