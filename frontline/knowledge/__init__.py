"""Knowledge: the KB over the retriever, and the answer decision."""

from frontline.knowledge.base import (
    Audience,
    KnowledgeBase,
    RankedSearch,
    default_embedding_model,
)
from frontline.knowledge.decision import (
    Decision,
    Level,
    Mix,
    Outcome,
    ScoredHit,
    Thresholds,
    decide,
    level,
    rank,
)

__all__ = [
    "Audience",
    "Decision",
    "KnowledgeBase",
    "Level",
    "Mix",
    "Outcome",
    "RankedSearch",
    "ScoredHit",
    "Thresholds",
    "decide",
    "default_embedding_model",
    "level",
    "rank",
]
