"""Labelled questions and retrieval metrics (Recall@k, MRR, latency).

A questions file is a YAML list of ``{question, expected}`` mappings, where ``expected`` is an
article id or ``none`` for a question the knowledge base cannot answer; optional ``split``
(``dev``/``test``) and ``audience`` (``public``/``internal``) keys.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from frontline.decision import Thresholds, decide
from indexer import Hit, Retriever

SPLITS = ("dev", "test")


class QuestionsError(ValueError):
    """A labelled-questions file that cannot be used; names the file and entry."""


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    expected: str | None  # article id, or None when the KB cannot answer
    split: str = "dev"
    audience: str = "public"


def load_questions(path: Path) -> list[LabelledQuestion]:
    """Read a labelled-questions YAML file; raises ``QuestionsError`` naming the bad entry."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise QuestionsError(f"{path}: cannot read questions: {exc}") from exc
    if not isinstance(data, list):
        raise QuestionsError(f"{path}: expected a YAML list of {{question, expected}} entries")
    out = []
    for n, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise QuestionsError(f"{path}: entry {n} needs a 'question' string")
        expected = item.get("expected")
        if expected in (None, "none", False):
            expected = None
        elif not isinstance(expected, str):
            raise QuestionsError(f"{path}: entry {n}: 'expected' must be an article id or none")
        split = item.get("split", "dev")
        audience = item.get("audience", "public")
        if split not in SPLITS or audience not in ("public", "internal"):
            raise QuestionsError(f"{path}: entry {n}: bad split {split!r} or audience {audience!r}")
        out.append(LabelledQuestion(item["question"], expected, split, audience))
    return out


@dataclass(frozen=True)
class RetrievalMetrics:
    questions: int
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr: float
    p50_ms: float
    p95_ms: float


def retrieval_metrics(
    retriever: Retriever, questions: Sequence[LabelledQuestion], *, k: int = 10
) -> RetrievalMetrics:
    """Recall@1/3/5 and MRR@k over the answerable questions, and per-query latency.

    Each question is searched on its own (as in production), for its own audience.
    """
    answerable = [q for q in questions if q.expected is not None]
    if not answerable:
        raise QuestionsError("no answerable questions to measure retrieval on")
    ranks: list[int | None] = []
    latencies = []
    for item in answerable:
        started = time.perf_counter()
        hits = retriever.search(item.question, item.audience, k)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        ids = [h.article_id for h in hits]
        ranks.append(ids.index(item.expected) + 1 if item.expected in ids else None)
    n = len(answerable)

    def recall(cut: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= cut) / n

    latencies.sort()
    return RetrievalMetrics(
        questions=n,
        recall_at_1=recall(1),
        recall_at_3=recall(3),
        recall_at_5=recall(5),
        mrr=sum(1 / r for r in ranks if r is not None) / n,
        p50_ms=statistics.median(latencies),
        p95_ms=latencies[min(n - 1, int(0.95 * n))],
    )


# -- the answer decision, scored ----------------------------------------------------------
@dataclass(frozen=True)
class Searched:
    """One labelled question with what the retriever returned and how long it took."""

    item: LabelledQuestion
    hits: list[Hit]
    ms: float


def search_all(retriever: Retriever, questions: Sequence[LabelledQuestion],
               k: int = 10) -> list[Searched]:
    """Run every question through the retriever once (the expensive part), timing each."""
    out = []
    for item in questions:
        started = time.perf_counter()
        hits = retriever.search(item.question, item.audience, k)  # type: ignore[arg-type]
        out.append(Searched(item, hits, (time.perf_counter() - started) * 1000))
    return out


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    # Rates over all questions:
    answered_correct: float  # answered, with the expected article
    wrong_answer: float  # answered with another article, or answered an unanswerable one
    abstain: float
    clarify: float
    # Answerable questions:
    covered: float  # expected article given as the answer or among the clarify options
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr: float
    # Unanswerable questions:
    unanswerable_answered: float  # share confidently answered anyway
    abstain_unanswerable: float  # share honestly declined
    p50_ms: float
    p95_ms: float
    # Intent sets (CLINC150 protocol): answered with the right intent / declined out-of-scope.
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def score(searched: Sequence[Searched], thresholds: Thresholds,
          intent_set: bool = False) -> EvalReport:
    """Apply the product's answer decision to searched questions and measure the outcomes."""
    n = len(searched)
    if n == 0:
        raise QuestionsError("no questions to evaluate")
    counts = {"answer_ok": 0, "wrong": 0, "abstain": 0, "clarify": 0, "covered": 0,
              "una_answered": 0, "una_abstain": 0}
    ranks: list[int | None] = []
    for s in searched:
        decision = decide(s.hits, thresholds)
        expected = s.item.expected
        options = [h.article_id for h in decision.options]
        if decision.outcome == "answer":
            if expected is not None and options[0] == expected:
                counts["answer_ok"] += 1
            else:
                counts["wrong"] += 1
                counts["una_answered"] += expected is None
        else:
            counts[decision.outcome] += 1
            counts["una_abstain"] += expected is None and decision.outcome == "abstain"
        if expected is not None:
            counts["covered"] += expected in options
            ids = [h.article_id for h in s.hits]
            ranks.append(ids.index(expected) + 1 if expected in ids else None)
    answerable = len(ranks)
    unanswerable = n - answerable

    def recall(cut: int) -> float:
        return sum(1 for r in ranks if r is not None and r <= cut) / answerable if ranks else 0.0

    latencies = sorted(s.ms for s in searched)
    report = EvalReport(
        questions=n,
        answerable=answerable,
        unanswerable=unanswerable,
        answered_correct=counts["answer_ok"] / n,
        wrong_answer=counts["wrong"] / n,
        abstain=counts["abstain"] / n,
        clarify=counts["clarify"] / n,
        covered=counts["covered"] / answerable if answerable else 0.0,
        recall_at_1=recall(1),
        recall_at_3=recall(3),
        recall_at_5=recall(5),
        mrr=sum(1 / r for r in ranks if r is not None) / answerable if answerable else 0.0,
        unanswerable_answered=counts["una_answered"] / unanswerable if unanswerable else 0.0,
        abstain_unanswerable=counts["una_abstain"] / unanswerable if unanswerable else 0.0,
        p50_ms=statistics.median(latencies),
        p95_ms=latencies[min(n - 1, int(0.95 * n))],
    )
    if intent_set:
        in_scope_ok = counts["answer_ok"] / answerable if answerable else 0.0
        oos_recall = 1 - report.unanswerable_answered if unanswerable else None
        report = replace(report, in_scope_accuracy=in_scope_ok, oos_recall=oos_recall)
    return report


def objective(report: EvalReport, clarify: bool = True) -> tuple[float, ...]:
    """What calibration maximizes, compared in order: the answerable side first — the share
    of answerable questions answered correctly + the share covered (right article answered
    or offered in a clarify) — then the share of unanswerable questions declined, then the
    fewest wrong answers. With ``clarify=False`` (intent benchmarks count only answers) the
    first part alone. Wrong answers to unanswerable questions are bounded by ``calibrate``'s
    budget, not traded here."""
    answered_ok = report.answered_correct * report.questions / (report.answerable or 1)
    if not clarify:
        return (answered_ok, -report.wrong_answer)
    declined = report.abstain_unanswerable if report.unanswerable else 0.0
    return (round(answered_ok + report.covered, 6), declined, -report.wrong_answer)


def calibrate(searched: Sequence[Searched], *, max_unanswerable_answered: float = 0.02,
              clarify: bool = True) -> tuple[Thresholds, EvalReport]:
    """Choose the thresholds with the best ``objective`` on validation questions while
    answering at most ``max_unanswerable_answered`` of the unanswerable ones. With
    ``clarify=False`` the clarify band is closed."""
    scores = sorted({round(h.certainty, 4) for s in searched for h in s.hits[:1]})
    points = scores[:: max(1, len(scores) // 60)]
    # Thresholds halfway between observed scores: the widest margin on both sides.
    candidates = sorted({-1.0, *(round((a + b) / 2, 4) for a, b in pairwise(points)), 1.01})
    best: tuple[tuple[float, ...], Thresholds, EvalReport] | None = None
    for answer in candidates:
        for margin in (0.0, 0.01, 0.02, 0.04) if clarify else (-1.0,):
            floors = [c for c in candidates if c <= answer] if clarify else [answer]
            for floor in floors:
                # Without clarify, no runner-up makes the answer ambiguous (margin -1).
                thresholds = Thresholds(answer, floor, margin if clarify else -1.0)
                report = score(searched, thresholds)
                if report.unanswerable_answered > max_unanswerable_answered:
                    continue
                key = objective(report, clarify)
                if best is None or key > best[0]:
                    best = (key, thresholds, report)
    if best is None:  # pragma: no cover - answer=1.01 answers nothing, so it always fits
        raise RuntimeError("no thresholds satisfy the constraint")
    return best[1], best[2]
