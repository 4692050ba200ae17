"""The answer decision: the one function the assistant, Slack and `frontline eval` call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frontline.decision import Thresholds, decide
from indexer import Hit


def _hit(article_id: str, confidence: float) -> Hit:
    return Hit(article_id, article_id, None, "public", "", "", "", 0.5, "question",
               confidence=confidence)


THRESHOLDS = Thresholds(answer=0.7, clarify=0.1, margin=0.05)


def test_a_sure_best_hit_is_the_answer() -> None:
    decision = decide([_hit("a", 0.9), _hit("b", 0.05)], THRESHOLDS)
    assert decision.outcome == "answer" and [h.article_id for h in decision.options] == ["a"]


def test_a_close_runner_up_makes_it_a_clarify_between_the_two() -> None:
    decision = decide([_hit("a", 0.74), _hit("b", 0.71), _hit("c", 0.01)], THRESHOLDS)
    assert decision.outcome == "clarify"
    assert [h.article_id for h in decision.options] == ["a", "b"]


def test_an_unsure_best_hit_offers_the_top_ranked_options_in_order() -> None:
    # "c" has a low probability but the ranking (which also weighs retrieval) put it third.
    hits = [_hit("a", 0.3), _hit("b", 0.2), _hit("c", 0.02), _hit("d", 0.01)]
    decision = decide(hits, THRESHOLDS)
    assert decision.outcome == "clarify"
    assert [h.article_id for h in decision.options] == ["a", "b", "c"]


def test_below_the_clarify_threshold_or_with_no_hits_it_abstains() -> None:
    assert decide([_hit("a", 0.09), _hit("b", 0.08)], THRESHOLDS).outcome == "abstain"
    assert decide([], THRESHOLDS).outcome == "abstain"


def test_certainty_mixes_probability_and_cosine_by_the_blend() -> None:
    from dataclasses import replace

    hit = Hit("a", "a", None, "public", "", "", "", 0.8, "question", confidence=0.2)
    assert hit.certainty == 0.2  # blend 0: the classifier's probability alone
    assert replace(hit, blend=0.5).certainty == pytest.approx(0.5)
    assert replace(hit, score=-0.3, blend=0.5).certainty == pytest.approx(0.1)  # cosine ≥ 0
    without_classifier = Hit("a", "a", None, "public", "", "", "", 0.8, "question", blend=0.5)
    assert without_classifier.certainty == 0.8


def test_certainty_is_scaled_by_coverage_to_its_weight() -> None:
    from dataclasses import replace

    hit = Hit("a", "a", None, "public", "", "", "", 0.8, "question", confidence=0.6,
              coverage=0.5)
    assert hit.certainty == 0.6  # weight 0: coverage ignored
    assert replace(hit, coverage_weight=1.0).certainty == pytest.approx(0.3)
    assert replace(hit, coverage_weight=2.0).certainty == pytest.approx(0.15)
    assert replace(hit, coverage_weight=2.0, blend=0.5).certainty == pytest.approx(0.175)
    no_terms = replace(hit, coverage=None, coverage_weight=2.0)  # an index without terms
    assert no_terms.certainty == 0.6
    without_classifier = replace(hit, confidence=None, coverage_weight=1.0)
    assert without_classifier.certainty == pytest.approx(0.4)


def test_calibrated_ranking_and_thresholds_are_read_and_checked(tmp_path: Path) -> None:
    from frontline.settings import Settings

    (tmp_path / "calibration.json").write_text(json.dumps(
        {"answer_threshold": 0.7, "ranking": "fused", "retrieval_mode": "dense",
         "confidence_blend": 0.25, "coverage_weight": 1.0}))
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert (settings.ranking, settings.retrieval_mode, settings.answer_threshold,
            settings.confidence_blend, settings.coverage_weight) == ("fused", "dense", 0.7,
                                                                     0.25, 1.0)
    (tmp_path / "calibration.json").write_text(json.dumps({"ranking": "magic"}))
    with pytest.raises(ValueError, match=r"calibration\.json: invalid ranking 'magic'"):
        Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    (tmp_path / "calibration.json").write_text(json.dumps({"coverage_weight": 9}))
    with pytest.raises(ValueError, match=r"calibration\.json: invalid coverage_weight 9"):
        Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["dense", "lexical", "hybrid", "hybrid+classifier",
                                  "dense+classifier", "classifier"])
def test_variant_names_and_configurations_correspond(name: str) -> None:
    from frontline.eval_run import variant_config, variant_name

    assert variant_name(*variant_config(name)) == name
