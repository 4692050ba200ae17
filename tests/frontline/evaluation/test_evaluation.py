"""The labelled questions are honest data, and the shipped retriever finds customers' articles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from frontline.evaluation.metrics import QuestionsError, load_questions, retrieval_metrics
from indexer import Retriever, load_articles
from tests.conftest import REPO, SAMPLE_KB

QUESTIONS = REPO / "bench/data/sample_kb_questions.yml"


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_every_labelled_question_points_at_an_article_of_its_audience() -> None:
    articles = {a.id: a for a in load_articles(SAMPLE_KB).articles}
    examples = {_words(q) for a in articles.values() for q in (a.title, *a.questions)}
    questions = load_questions(QUESTIONS)
    assert {q.split for q in questions} == {"dev", "test"}
    for q in questions:
        assert _words(q.question) not in examples, f"in an article's questions: {q.question}"
        if q.expected is not None:
            assert q.expected in articles, q
            assert articles[q.expected].audience == q.audience, q
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


# -- frontline eval: the harness end to end on small data ----------------------------------
def _hit(article_id: str, score: float):  # type: ignore[no-untyped-def]
    from frontline.knowledge.decision import NO_MIX, rank
    from indexer import Hit

    return rank([Hit(article_id, article_id, None, "public", "", "", "", score, "question")],
                NO_MIX)[0]


def test_score_counts_answers_clarifications_and_abstentions() -> None:
    from frontline.evaluation.metrics import LabelledQuestion, Searched, score
    from frontline.knowledge.decision import Thresholds

    searched = [
        Searched(LabelledQuestion("a", "x"), [_hit("x", 0.9), _hit("y", 0.5)], 5.0),  # right
        Searched(LabelledQuestion("b", "x"), [_hit("y", 0.9), _hit("x", 0.5)], 5.0),  # wrong
        Searched(LabelledQuestion("c", "x"), [_hit("y", 0.6), _hit("x", 0.55)], 5.0),  # clarify
        Searched(LabelledQuestion("d", None), [_hit("y", 0.3)], 5.0),  # abstain, right
        Searched(LabelledQuestion("e", None), [_hit("y", 0.95)], 5.0),  # answered: wrong
    ]
    report = score(searched, Thresholds(0.8, 0.5, 0.02), intent_set=True)
    assert (report.answered_correct, report.wrong_answer) == (0.2, 0.4)
    assert (report.clarify, report.abstain) == (0.2, 0.2)
    assert report.covered == 2 / 3 and report.recall_at_1 == 1 / 3 and report.recall_at_3 == 1
    assert report.in_scope_accuracy == 1 / 3 and report.oos_recall == 0.5


def test_calibration_respects_the_budget_for_unanswerable_questions() -> None:
    from frontline.evaluation.metrics import LabelledQuestion, Searched, calibrate

    searched = [Searched(LabelledQuestion(f"q{i}", "x"), [_hit("x", 0.5 + i / 100)], 1.0)
                for i in range(40)]
    searched += [Searched(LabelledQuestion(f"n{i}", None), [_hit("y", 0.6 + i / 100)], 1.0)
                 for i in range(10)]
    thresholds, report = calibrate(searched, max_unanswerable_answered=0.0, clarify=False)
    assert report.unanswerable_answered == 0.0
    assert thresholds.answer > 0.69 and report.answered_correct > 0


@pytest.mark.parametrize("clarify", [True, False])
def test_calibration_finds_the_best_thresholds_on_its_grid(clarify: bool) -> None:
    """The vectorised search agrees with scoring every grid point through ``decide``."""
    import random
    from itertools import pairwise

    from frontline.evaluation.metrics import (
        MARGINS,
        LabelledQuestion,
        Searched,
        calibrate,
        objective,
        score,
    )
    from frontline.knowledge.decision import Thresholds

    rng = random.Random(7)
    searched = []
    for i in range(120):
        expected = rng.choice(["a", "b", "c", "d", None])
        hits = sorted((_hit(a, round(rng.random(), 3)) for a in rng.sample("abcd", 4)),
                      key=lambda h: -h.score)
        # A fifth are vague openers (one topic word), which ``decide`` never answers.
        question = f"opener{i}" if i % 5 == 0 else f"question {i} about exports"
        searched.append(Searched(LabelledQuestion(question, expected), hits, 1.0))
    thresholds, report = calibrate(searched, max_unanswerable_answered=0.05, clarify=clarify)

    scores = sorted({round(s.hits[0].certainty, 4) for s in searched})
    points = scores[:: max(1, len(scores) // 60)]
    grid = sorted({-1.0, *(round((a + b) / 2, 4) for a, b in pairwise(points)), 1.01})
    best = max(
        objective(r, clarify)
        for answer in grid
        for margin in (MARGINS if clarify else (-1.0,))
        for floor in ([f for f in grid if f <= answer] if clarify else [answer])
        if (r := score(searched, Thresholds(answer, floor, margin), not clarify)
            ).unanswerable_answered <= 0.05
    )
    assert objective(report, clarify) == best
    assert report == score(searched, thresholds, not clarify)


def test_eval_cli_on_a_kb_and_questions_file(small_kb: Path, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    questions = tmp_path / "q.yml"
    questions.write_text(
        '- {question: "I cannot remember my password", expected: reset-password, split: dev}\n'
        '- {question: "can I get my money back for the annual plan", expected: refund-policy,'
        ' split: dev}\n'
        '- {question: "what is the capital of Peru", expected: none, split: dev}\n'
        '- {question: "does the app work on a plane", expected: mobile-offline, split: test}\n'
        '- {question: "recommend a pizza place", expected: none, split: test}\n'
    )
    env = {**os.environ, "FRONTLINE_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "frontline.cli", "eval", "--kb", str(small_kb), "--questions",
         str(questions), "--calibrate", "--split", "test", "--json"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    for key in ("answered_correct", "wrong_answer", "abstain", "clarify", "recall_at_1",
                "recall_at_3", "recall_at_5", "mrr", "p95_ms"):
        assert 0 <= report[key] <= (1 if key != "p95_ms" else 10_000), key
    # The five configurations, and "auto" — what the product runs by default (settings).
    assert set(report["modes"]) == {"dense", "lexical", "hybrid", "hybrid+classifier",
                                    "classifier", "auto"}
    # The configuration with the best validation objective is the one reported.
    assert report["chosen_by"] == "validation" and report["mode"] in report["modes"]
    from frontline.evaluation.metrics import EvalReport, objective

    on_validation = {m: objective(EvalReport(**r)) for m, r in report["calibration"].items()}
    assert on_validation[report["mode"]] == max(on_validation.values())
    assert report["questions"] == 2 and report["recall_at_1"] == 1.0
    assert set(report["thresholds"]) == {"answer_threshold", "clarify_threshold",
                                         "clarify_margin", "confidence_blend", "coverage_weight"}
    if report["ranking"] != "retrieval":  # the mix is chosen with the thresholds
        from frontline.evaluation.run import BLENDS, COVERAGE_WEIGHTS

        assert report["thresholds"]["confidence_blend"] in BLENDS
        assert report["thresholds"]["coverage_weight"] in COVERAGE_WEIGHTS
    assert list((tmp_path / "data" / "eval").glob("*.json"))
    assert not (tmp_path / "data" / "calibration.json").exists()  # not the product's KB


def test_intent_datasets_in_faq_mode(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    import json

    from frontline.evaluation import datasets
    from frontline.evaluation.metrics import score, search_all
    from frontline.knowledge import RankedSearch
    from frontline.knowledge.decision import NO_MIX, Thresholds
    from indexer import build_index

    root = tmp_path / "benchmarks"
    (root / "clinc150").mkdir(parents=True)
    real = json.loads((REPO.parent / "shared/benchmarks/clinc150/data_full.json").read_text()) \
        if (REPO.parent / "shared/benchmarks/clinc150/data_full.json").exists() else None
    intents = ("balance", "freeze_account", "weather")
    if real is not None:
        def pick(split: str, n: int) -> list[list[str]]:
            return [r for i in intents for r in [r for r in real[split] if r[1] == i][:n]]
        data = {"train": pick("train", 20), "val": pick("val", 3), "test": pick("test", 5),
                "oos_train": [], "oos_val": real["oos_val"][:3], "oos_test": real["oos_test"][:5]}
    else:  # outside this workplace: a tiny set in the same format
        data = {"train": [["what is my balance", "balance"], ["freeze my card", "freeze_account"],
                          ["is it raining", "weather"]],
                "val": [["how much money do I have", "balance"]],
                "test": [["lock my account", "freeze_account"], ["forecast today", "weather"]],
                "oos_train": [], "oos_val": [["tell me a joke", "oos"]],
                "oos_test": [["who won the game", "oos"]]}
    (root / "clinc150" / "data_full.json").write_text(json.dumps(data))
    dataset = datasets.load("clinc150", root)
    assert set(dataset.train) == set(intents) and dataset.has_oos
    kb = datasets.write_kb(dataset.train, tmp_path / "kb")
    build_index(kb, tmp_path / "index", real_embedder)
    searched = search_all(RankedSearch(Retriever(tmp_path / "index", real_embedder), NO_MIX),
                          dataset.test)
    report = score(searched, Thresholds(0.5, 0.5, 0.0), intent_set=True)
    assert report.in_scope_accuracy is not None and report.in_scope_accuracy >= 0.8
    assert report.oos_recall is not None


def test_entry_points_apply_calibrated_thresholds_unless_set(tmp_path: Path) -> None:
    import json

    from frontline.knowledge.calibration import apply
    from frontline.settings import Settings

    (tmp_path / "calibration.json").write_text(json.dumps(
        {"answer_threshold": 0.81, "clarify_threshold": 0.33, "clarify_margin": 0.03}))
    calibrated = apply(Settings(_env_file=None, data_dir=tmp_path))  # type: ignore[call-arg]
    assert (calibrated.answer_threshold, calibrated.clarify_threshold) == (0.81, 0.33)
    explicit = apply(Settings(_env_file=None, data_dir=tmp_path, answer_threshold=0.9))  # type: ignore[call-arg]
    assert (explicit.answer_threshold, explicit.clarify_margin) == (0.9, 0.03)


def test_banking77_slice_end_to_end_calibrates_then_scores_on_all_of_train(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """FAQ mode with validation held out of train: the variant is chosen on the held-out part,
    then the test split is scored on an index of the whole training split."""
    import csv

    from frontline.evaluation import run as eval_run
    from tests.conftest import make_settings

    real = REPO.parent / "shared/benchmarks/banking77"
    intents = ("card_arrival", "exchange_rate", "lost_or_stolen_card")
    root = tmp_path / "benchmarks"
    (root / "banking77").mkdir(parents=True)
    for name, per_intent in (("train.csv", 20), ("test.csv", 4)):
        if (real / name).exists():
            with open(real / name, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if r["category"] in intents]
            rows = [r for i in intents
                    for r in [r for r in rows if r["category"] == i][:per_intent]]
        else:  # outside this workplace: a tiny set in the same format
            rows = [{"text": f"{i.replace('_', ' ')} question {n}", "category": i}
                    for i in intents for n in range(per_intent)]
        with open(root / "banking77" / name, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["text", "category"])
            writer.writeheader()
            writer.writerows(rows)
    built: list[int] = []
    original = eval_run.build_index

    def counting_build(kb: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(sum(len(a.questions) for a in load_articles(kb).articles))
        return original(kb, *args, **kwargs)

    monkeypatch.setattr(eval_run, "build_index", counting_build)
    settings = make_settings(tmp_path / "data", tmp_path / "kb")
    run = eval_run.evaluate(settings, dataset="banking77", benchmarks=root, split="test",
                            do_calibrate=True, variants=("dense", "classifier"))
    assert run.chosen_by == "validation" and run.chosen in ("dense", "classifier")
    assert set(run.reports) >= {"dense", "classifier"}
    assert len(built) == 2 and built[1] > built[0]  # the scored index holds all of train
    assert run.reports[run.chosen].questions == 12
    assert run.reports[run.chosen].in_scope_accuracy is not None
    assert run.to_dict()["ranking"] in ("retrieval", "classifier")
    # No out-of-scope queries: scored by accuracy, every query answered (no threshold chosen).
    assert run.thresholds[run.chosen]["answer_threshold"] == -1.0
    assert run.reports[run.chosen].abstain == 0.0


def test_the_two_turn_set_is_well_formed_and_points_at_real_articles(tmp_path: Path) -> None:
    from frontline.evaluation.metrics import load_followups

    items = load_followups(REPO / "bench/data/sample_kb_followups.yml")
    ids = {a.id for a in load_articles(SAMPLE_KB).articles}
    assert {i.split for i in items} == {"dev", "test"}
    assert {i.kind for i in items} == {"follow_up", "topic_change"}
    assert all(i.expected is None or i.expected in ids for i in items)
    bad = tmp_path / "bad.yml"
    bad.write_text("- {previous: a, followup: b, kind: sideways, split: dev}\n")
    with pytest.raises(QuestionsError, match="entry 1: kind must be"):
        load_followups(bad)


def test_follow_ups_are_scored_alone_and_in_context(small_kb: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                    real_embedder) -> None:
    from frontline.evaluation.metrics import FollowUp, score_followups
    from frontline.knowledge import Mix, RankedSearch
    from frontline.knowledge.decision import Thresholds
    from indexer import build_index

    build_index(small_kb, tmp_path / "index", real_embedder)
    search = RankedSearch(Retriever(tmp_path / "index", real_embedder, ranking="retrieval"),
                          Mix())
    items = [FollowUp("how do refunds work", "and for monthly plans?", "refund-policy",
                      "follow_up", "dev"),
             FollowUp("how do refunds work", "I forgot my password", "reset-password",
                      "topic_change", "dev")]
    scored = score_followups(search, Thresholds(0.9, 0.1, 0.0), items)
    assert scored["all"]["n"] == 2 and set(scored) == {"all", "follow_up", "topic_change"}
    assert scored["topic_change"]["top1_in_context"] == 1.0  # context did not pull it back
    assert scored["follow_up"]["top1_in_context"] >= scored["follow_up"]["top1_alone"]
