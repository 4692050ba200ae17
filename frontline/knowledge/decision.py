"""The answer decision (ARCHITECTURE.md), all in one place: how certain each hit is, how the
shortlist is ordered by it, the thresholds in force, and ``decide`` — answer, clarify or
abstain.

The assistant's KB action, the Slack suggestions, the help-centre search and ``frontline eval``
all go through ``KnowledgeBase``, which calls these; nothing else computes certainty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from indexer import Hit
from indexer.terms import query_terms

Outcome = Literal["answer", "clarify", "abstain"]
Level = Literal["high", "medium", "low"]
MAX_OPTIONS = 3  # articles a clarification offers at most
# With the classifier, this many of the ranking's best articles are re-ordered by certainty.
SHORTLIST = 10
MAX_COVERAGE_WEIGHT = 4.0
# A message with fewer topic words than this ("billing", "my account", "it's broken") is too
# vague to be answered with one article, however sure the ranking is: it is clarified with the
# likeliest topics instead. Topic words are the question's words minus function words
# (indexer.terms.query_terms). Chosen on the sample KB's dev split, vague openers included
# (docs/evaluation.md, "Vague openers").
MIN_TOPIC_WORDS = 2


@dataclass(frozen=True)
class Mix:
    """How the confidence is made from the retriever's signals (chosen per KB on validation).

    ``blend``: weight of the cosine score next to the classifier's probability (0: the
    probability alone). ``coverage_weight``: exponent of query-term coverage (0: ignored).
    """

    blend: float = 0.0
    coverage_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.blend <= 1.0:
            raise ValueError(f"blend must be between 0 and 1, not {self.blend}")
        if not 0.0 <= self.coverage_weight <= MAX_COVERAGE_WEIGHT:
            raise ValueError(f"coverage_weight must be between 0 and {MAX_COVERAGE_WEIGHT:g}, "
                             f"not {self.coverage_weight}")


NO_MIX = Mix()


@dataclass(frozen=True)
class ScoredHit(Hit):
    """A retriever hit with the certainty the decision compares with its thresholds."""

    certainty: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def certainty(hit: Hit, mix: Mix) -> float:
    """Without a classifier, the cosine score; with one, its probability mixed with the cosine
    score by ``mix.blend``; either times ``coverage ** mix.coverage_weight`` — a question whose
    salient words the article never uses is less likely answered by it."""
    if hit.confidence is None:
        base = hit.score
    else:
        base = (1 - mix.blend) * hit.confidence + mix.blend * max(hit.score, 0.0)
    if hit.coverage is None or mix.coverage_weight == 0:
        return base
    return base * hit.coverage**mix.coverage_weight


_HIT_FIELDS = tuple(f.name for f in fields(Hit))


def scored(hit: Hit, mix: Mix) -> ScoredHit:
    return ScoredHit(**{name: getattr(hit, name) for name in _HIT_FIELDS},
                     certainty=certainty(hit, mix))


def rank(hits: Sequence[Hit], mix: Mix, k: int | None = None) -> list[ScoredHit]:
    """Score ``hits`` (the retriever's ranking, best first) and order them: with the
    classifier, by certainty (stable, so ties keep the ranking's order) — the best hit is the
    one the decision is most certain of; without it, the retrieval ranking stands."""
    out = [scored(h, mix) for h in hits]
    if out and out[0].confidence is not None:
        out.sort(key=lambda h: -h.certainty)
    return out if k is None else out[:k]


@dataclass(frozen=True)
class Thresholds:
    answer: float  # the best hit must score at least this to be given as the answer
    clarify: float  # hits between this and ``answer`` are offered as options, not asserted
    margin: float  # a runner-up this close to an answerable best hit makes it ambiguous
    max_options: int = MAX_OPTIONS

    def as_dict(self) -> dict[str, float]:
        return {"answer": self.answer, "clarify": self.clarify, "margin": self.margin}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    hits: list[ScoredHit]  # everything the knowledge base returned, best first
    options: list[ScoredHit] = field(default_factory=list)  # answer: [best]; clarify: 1-3
    thresholds: Thresholds | None = None
    # clarify only: True when the best hit was answerable but a runner-up came too close;
    # False when no hit was certain enough to answer.
    ambiguous: bool = False
    # True when the message had too few topic words to be answered (``MIN_TOPIC_WORDS``): the
    # options are the likeliest topics, and the customer is asked what about.
    vague: bool = False

    @property
    def best(self) -> ScoredHit | None:
        return self.options[0] if self.options else None

    @property
    def certainty(self) -> float | None:
        """The certainty the decision compared: the best hit's."""
        return self.hits[0].certainty if self.hits else None

    @property
    def answer(self) -> ScoredHit | None:
        return self.best if self.outcome == "answer" else None

    def summary(self) -> dict[str, Any]:
        """What an event records about this decision."""
        return {
            "decision": self.outcome,
            "certainty": self.certainty,
            "thresholds": self.thresholds.as_dict() if self.thresholds else {},
            "ambiguous": self.ambiguous,
        }


def topic_words(query: str) -> int:
    """How many distinct topic words (stems, function words left out) ``query`` has."""
    return len(query_terms(query))


def decide(hits: Sequence[ScoredHit], thresholds: Thresholds,
           query: str | None = None) -> Decision:
    """``answer`` when the best hit clears ``answer`` and no other hit is within ``margin`` of
    it; ``clarify`` with the close hits (ambiguous), or — when the best hit clears only
    ``clarify`` — with the top ``max_options`` hits in ranking order (the ranking fuses
    evidence a single hit's certainty does not carry, e.g. a body passage the classifier never
    saw); ``abstain`` when the best hit does not reach ``clarify``.

    Given the ``query``, a message with fewer than ``MIN_TOPIC_WORDS`` topic words is never
    answered: it is clarified with the top ``max_options`` hits (``vague``: the customer is
    asked what about), or abstains when none reaches ``clarify``."""
    decision = _decide(list(hits), thresholds)
    if query is None or decision.outcome == "abstain" or (
            topic_words(query) >= MIN_TOPIC_WORDS):
        return decision
    return Decision("clarify", decision.hits, decision.hits[: thresholds.max_options],
                    thresholds, vague=True)


def _decide(hits: list[ScoredHit], thresholds: Thresholds) -> Decision:
    if not hits or hits[0].certainty < thresholds.clarify:
        return Decision("abstain", hits, thresholds=thresholds)
    top = hits[0].certainty
    if top >= thresholds.answer:
        close = [
            h for h in hits[1 : thresholds.max_options]
            if top - h.certainty <= thresholds.margin
        ]
        if not close:
            return Decision("answer", hits, [hits[0]], thresholds)
        return Decision("clarify", hits, [hits[0], *close], thresholds, ambiguous=True)
    return Decision("clarify", hits, hits[: thresholds.max_options], thresholds)


OUTCOME_RANK = {"abstain": 0, "clarify": 1, "answer": 2}


def in_context(decide_on: Callable[[str], Decision], query: str,
               previous: str | None) -> tuple[Decision, str]:
    """The decision for ``query`` as a possible follow-up of ``previous``, and the query it
    was made on. A follow-up is recognised from its own evidence, not a word list: the
    message is decided alone and together with the previous question, and the context is
    used only when the message alone would not be answered and together they are decided at
    least as well and more certainly ("and on mobile?" after a question about
    notifications; "my invoice shows the wrong VAT" stands alone)."""
    alone = decide_on(query)
    if not previous or not previous.strip() or alone.outcome == "answer":
        return alone, query
    together = f"{previous.strip().rstrip('?!. ')} {query.strip()}"
    combined = decide_on(together)
    better = OUTCOME_RANK[combined.outcome] >= OUTCOME_RANK[alone.outcome] and (
        (combined.certainty or 0.0) > (alone.certainty or 0.0))
    return (combined, together) if better else (alone, query)


def level(hit: ScoredHit, thresholds: Thresholds) -> Level:
    """How sure a match is, for people: high (would be answered), medium (would be offered),
    low (below what the assistant would show a customer)."""
    if hit.certainty >= thresholds.answer:
        return "high"
    return "medium" if hit.certainty >= thresholds.clarify else "low"
