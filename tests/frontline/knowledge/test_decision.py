"""The answer decision: the one function the assistant, Slack and `frontline eval` call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frontline.knowledge.decision import (
    NO_MIX,
    Mix,
    ScoredHit,
    Thresholds,
    certainty,
    decide,
    level,
    rank,
)
from indexer import Hit


def _hit(article_id: str, confidence: float) -> ScoredHit:
    return rank([Hit(article_id, article_id, None, "public", "", "", "", 0.5, "question",
                     confidence=confidence)], NO_MIX)[0]


THRESHOLDS = Thresholds(answer=0.7, clarify=0.1, margin=0.05)


def test_a_sure_best_hit_is_the_answer() -> None:
    decision = decide([_hit("a", 0.9), _hit("b", 0.05)], THRESHOLDS)
    assert decision.outcome == "answer" and [h.article_id for h in decision.options] == ["a"]
    assert decision.certainty == 0.9 and not decision.ambiguous
    assert decision.summary() == {"decision": "answer", "certainty": 0.9, "ambiguous": False,
                                  "thresholds": {"answer": 0.7, "clarify": 0.1, "margin": 0.05}}
    assert level(decision.hits[0], THRESHOLDS) == "high"
    assert level(decision.hits[1], THRESHOLDS) == "low"


def test_a_close_runner_up_makes_it_a_clarify_between_the_two() -> None:
    decision = decide([_hit("a", 0.74), _hit("b", 0.71), _hit("c", 0.01)], THRESHOLDS)
    assert decision.outcome == "clarify" and decision.ambiguous
    assert [h.article_id for h in decision.options] == ["a", "b"]


def test_an_unsure_best_hit_offers_the_top_ranked_options_in_order() -> None:
    # "c" has a low probability but the ranking (which also weighs retrieval) put it third.
    hits = [_hit("a", 0.3), _hit("b", 0.2), _hit("c", 0.02), _hit("d", 0.01)]
    decision = decide(hits, THRESHOLDS)
    assert decision.outcome == "clarify" and not decision.ambiguous
    assert [h.article_id for h in decision.options] == ["a", "b", "c"]
    assert level(decision.hits[0], THRESHOLDS) == "medium"


def test_a_vague_opener_is_clarified_with_the_top_topics_never_answered() -> None:
    from frontline.knowledge.decision import topic_words

    hits = [_hit("invoices", 0.95), _hit("payment-methods", 0.02), _hit("refunds", 0.01),
            _hit("vat", 0.005)]
    assert [topic_words(q) for q in ("billing", "my account", "it's broken", "vat id")] == [
        1, 1, 1, 2]
    for opener in ("billing", "it's broken"):
        decision = decide(hits, THRESHOLDS, opener)
        assert decision.outcome == "clarify" and decision.vague and not decision.ambiguous
        assert [h.article_id for h in decision.options] == ["invoices", "payment-methods",
                                                            "refunds"]
    # Two topic words, or no query given (the calibration grid's view): as before.
    assert decide(hits, THRESHOLDS, "invoice download").outcome == "answer"
    assert decide(hits, THRESHOLDS).outcome == "answer"
    # Nothing close enough: still an abstain, not a list of unrelated articles.
    assert decide([_hit("a", 0.05)], THRESHOLDS, "billing").outcome == "abstain"


def test_below_the_clarify_threshold_or_with_no_hits_it_abstains() -> None:
    assert decide([_hit("a", 0.09), _hit("b", 0.08)], THRESHOLDS).outcome == "abstain"
    assert decide([], THRESHOLDS).outcome == "abstain"


def test_certainty_mixes_probability_and_cosine_by_the_blend() -> None:
    from dataclasses import replace

    hit = Hit("a", "a", None, "public", "", "", "", 0.8, "question", confidence=0.2)
    assert certainty(hit, NO_MIX) == 0.2  # blend 0: the classifier's probability alone
    assert certainty(hit, Mix(blend=0.5)) == pytest.approx(0.5)
    assert certainty(replace(hit, score=-0.3), Mix(blend=0.5)) == pytest.approx(0.1)  # cos ≥ 0
    without_classifier = Hit("a", "a", None, "public", "", "", "", 0.8, "question")
    assert certainty(without_classifier, Mix(blend=0.5)) == 0.8
    with pytest.raises(ValueError, match="blend must be between 0 and 1"):
        Mix(blend=1.5)


def test_certainty_is_scaled_by_coverage_to_its_weight() -> None:
    from dataclasses import replace

    hit = Hit("a", "a", None, "public", "", "", "", 0.8, "question", confidence=0.6,
              coverage=0.5)
    assert certainty(hit, NO_MIX) == 0.6  # weight 0: coverage ignored
    assert certainty(hit, Mix(coverage_weight=1.0)) == pytest.approx(0.3)
    assert certainty(hit, Mix(coverage_weight=2.0)) == pytest.approx(0.15)
    assert certainty(hit, Mix(0.5, 2.0)) == pytest.approx(0.175)
    no_terms = replace(hit, coverage=None)  # an index without terms
    assert certainty(no_terms, Mix(coverage_weight=2.0)) == 0.6
    without_classifier = replace(hit, confidence=None)
    assert certainty(without_classifier, Mix(coverage_weight=1.0)) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="coverage_weight must be between 0 and 4"):
        Mix(coverage_weight=-1.0)


def test_with_the_classifier_hits_are_ordered_by_certainty_without_it_by_ranking() -> None:
    a = Hit("a", "a", None, "public", "", "", "", 0.9, "question", confidence=0.3,
            coverage=1.0)
    b = Hit("b", "b", None, "public", "", "", "", 0.2, "question", confidence=0.4,
            coverage=0.2)
    assert [h.article_id for h in rank([a, b], NO_MIX)] == ["b", "a"]
    assert [h.article_id for h in rank([a, b], Mix(coverage_weight=1.0))] == ["a", "b"]
    plain = [Hit(x, x, None, "public", "", "", "", s, "question") for x, s in (("a", 0.2),
                                                                               ("b", 0.9))]
    assert [h.article_id for h in rank(plain, Mix(coverage_weight=2.0))] == ["a", "b"]
    assert rank([a, b], NO_MIX, k=1)[0].article_id == "b"


def test_calibrated_ranking_and_thresholds_are_applied_and_checked(tmp_path: Path) -> None:
    from frontline.knowledge import calibration
    from frontline.settings import Settings

    (tmp_path / "calibration.json").write_text(json.dumps(
        {"answer_threshold": 0.7, "ranking": "fused", "retrieval_mode": "dense",
         "confidence_blend": 0.25, "coverage_weight": 1.0}))
    plain = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert plain.ranking == "auto"  # settings are data: they never read the file
    settings = calibration.apply(plain)
    assert (settings.ranking, settings.retrieval_mode, settings.answer_threshold,
            settings.confidence_blend, settings.coverage_weight) == ("fused", "dense", 0.7,
                                                                     0.25, 1.0)
    explicit = Settings(_env_file=None, data_dir=tmp_path, ranking="retrieval")  # type: ignore[call-arg]
    assert calibration.apply(explicit).ranking == "retrieval"  # set explicitly: kept
    (tmp_path / "calibration.json").write_text(json.dumps({"ranking": "magic"}))
    with pytest.raises(ValueError, match=r"calibration\.json: invalid ranking 'magic'"):
        calibration.apply(plain)
    (tmp_path / "calibration.json").write_text(json.dumps({"coverage_weight": 9}))
    with pytest.raises(ValueError, match=r"calibration\.json: invalid coverage_weight 9"):
        calibration.apply(plain)
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"calibration\.json: cannot read it"):
        calibration.apply(plain)


@pytest.mark.parametrize("name", ["dense", "lexical", "hybrid", "hybrid+classifier",
                                  "dense+classifier", "classifier"])
def test_variant_names_and_configurations_correspond(name: str) -> None:
    from frontline.evaluation.run import variant_config, variant_name

    assert variant_name(*variant_config(name)) == name
