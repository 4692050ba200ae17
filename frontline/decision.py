"""The answer decision (ARCHITECTURE.md): turn scored hits into answer, clarify or abstain.

This is the one implementation: the assistant's KB action, the Slack suggestions and
``frontline eval`` all call ``decide``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from indexer import Hit

Outcome = Literal["answer", "clarify", "abstain"]
MAX_OPTIONS = 3  # articles a clarification offers at most


@dataclass(frozen=True)
class Thresholds:
    answer: float  # the best hit must score at least this to be given as the answer
    clarify: float  # hits between this and ``answer`` are offered as options, not asserted
    margin: float  # a runner-up this close to an answerable best hit makes it ambiguous
    max_options: int = MAX_OPTIONS


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    hits: list[Hit]  # everything the retriever returned, best first
    options: list[Hit] = field(default_factory=list)  # answer: [best]; clarify: 1-3 titles

    @property
    def best(self) -> Hit | None:
        return self.options[0] if self.options else None


def decide(hits: Sequence[Hit], thresholds: Thresholds) -> Decision:
    """``answer`` when the best hit clears ``answer`` and no other hit is within ``margin`` of
    it; ``clarify`` with the close hits, or — when the best hit clears only ``clarify`` — with
    the top ``max_options`` hits in ranking order (the ranking fuses evidence a single hit's
    certainty does not carry, e.g. a body passage the classifier never saw); ``abstain`` when
    the best hit does not reach ``clarify``."""
    hits = list(hits)
    if not hits or hits[0].certainty < thresholds.clarify:
        return Decision("abstain", hits)
    top = hits[0].certainty
    if top >= thresholds.answer:
        close = [
            h for h in hits[1 : thresholds.max_options]
            if top - h.certainty <= thresholds.margin
        ]
        if not close:
            return Decision("answer", hits, [hits[0]])
        return Decision("clarify", hits, [hits[0], *close])
    return Decision("clarify", hits, hits[: thresholds.max_options])
