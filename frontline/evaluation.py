"""Labelled questions and retrieval metrics (Recall@k, MRR, latency).

A questions file is a YAML list of ``{question, expected}`` mappings, where ``expected`` is an
article id or ``none`` for a question the knowledge base cannot answer; optional ``split``
(``dev``/``test``) and ``audience`` (``public``/``internal``) keys.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from indexer import Retriever

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
