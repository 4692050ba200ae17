"""Why answerable questions are not answered outright: the sample KB's dev questions through
the product's search and answer decision, each one not answered with its article put in one
reason, and how close the unanswerable ones come to being answered.

    nice .venv/bin/python bench/decision_audit.py [--questions FILE] [--split dev]

The search is the one ``frontline eval`` runs for the settings' configuration (the sample KB
indexed into a scratch folder with the model ``frontline eval`` would use, ``ranked_search``
with the settings' ranking and mix, ten hits per question) and the decision is
``frontline.knowledge.decide`` with the thresholds ``frontline eval`` uses for it
(``default_thresholds``). Each question's hits and its ``confidence.unknown_words`` are cached
in ``--cache`` (one search pass), so the table — and ``bench/confidence.py``'s
cross-validation, which reads the same cache — cost no search again; ``--refresh`` redoes it.
Never run with ``--split test``: choices are made on dev (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frontline.evaluation.metrics import load_questions, search_all  # noqa: E402
from frontline.evaluation.parallel import ranked_search  # noqa: E402
from frontline.knowledge import (  # noqa: E402
    Mix,
    ScoredHit,
    Thresholds,
    calibration,
    decide,
    tuning,
)
from frontline.knowledge.base import default_thresholds  # noqa: E402
from frontline.knowledge.decision import Decision, topic_words  # noqa: E402
from frontline.settings import Settings, get_settings  # noqa: E402
from indexer import build_index, terms  # noqa: E402
from indexer.embedding import make_embedder  # noqa: E402
from indexer.retriever import IndexVersion  # noqa: E402

QUESTIONS = REPO / "bench/data/sample_kb_questions.yml"
CACHE = REPO / "var/decision-audit"

# What a learned confidence could read beyond the one certainty (``bench/confidence.py``): all
# KB-agnostic — probabilities, cosines, shares and counts, never an article id or a word — so
# a model trained on one KB's questions could be read on another's. The evidence that a KB
# lacks a topic is a question word no article holds and no spelling correction explains
# (``unknown_words``: Todoist, Quickbooks), weighted by IDF as query-term coverage weighs it.
FEATURES = (
    "certainty",  # the best hit's certainty (what the thresholds compare)
    "margin",  # over the runner-up's certainty
    "probability",  # the article classifier's probability of the best hit
    "entropy",  # of the classifier's probabilities over the shortlist, normalised to [0, 1]
    "cosine",  # the best hit's best entry
    "section_cosine",  # the best hit's best body section
    "coverage",  # the best hit's query-term coverage
    "coverage_gap",  # best hit's coverage minus the best coverage of the others
    "unknown_share",  # IDF share of the question's words no article holds, after correction
    "unknown_words",  # how many such words
    "corrected_words",  # how many words were typos of KB words
    "topic_words",  # the question's topic words (stems, function words left out)
    "dense_agrees",  # the best hit is the shortlist's best by cosine
    "lexical_agrees",  # ... by BM25
    "lexical_share",  # best hit's BM25 over the shortlist's best BM25 (0 without a match)
    "matched_question",  # the best entry was an example question
)


def unknown_words(version: IndexVersion, query: str, public: bool) -> tuple[float, int, int]:
    """(IDF share of ``query``'s topic words that no article holds once typos are corrected,
    how many such words, how many words were corrected). Words are weighed as
    ``terms.coverage`` weighs them; (0, 0, 0) for a version without terms or a question
    without topic words. A delta version is read through its base's terms."""
    version = getattr(version, "base", version)
    words = sorted(set(terms.WORD.findall(query.lower())) - terms.FUNCTION_WORDS)
    if not words or not version.has_terms:
        return 0.0, 0, 0
    public = public and version.has_public_terms
    total = version.public_articles if public else len(version.articles)
    conn = version._conn()
    frequency = terms.document_frequencies(conn, {terms.stem(w) for w in words}, public)
    fixed = terms.corrections(conn, words, public, known=frequency)
    stems = {terms.stem(fixed.get(w, w)) for w in words if fixed.get(w, w)}
    if not stems:
        return 0.0, 0, len(fixed)
    if fixed:
        frequency = terms.document_frequencies(conn, stems, public)
    weight = {s: math.log((total + 1) / (frequency.get(s, 0) + 0.5)) for s in stems}
    unknown = [s for s in stems if not frequency.get(s)]
    return (sum(weight[s] for s in unknown) / sum(weight.values()), len(unknown),
            sum(1 for w in fixed.values() if w))


def features(hits: Sequence[ScoredHit], query: str,
             unknown: tuple[float, int, int]) -> np.ndarray:
    """The ``FEATURES`` of a decision on ``hits`` (ranked, best first; at least one) for
    ``query``, given ``unknown_words``' answer for it."""
    best = hits[0]
    rest = hits[1:]
    probs = np.array([h.confidence or 0.0 for h in hits], np.float64)
    mass = probs.sum()
    if mass > 0 and len(hits) > 1:
        p = probs[probs > 0] / mass
        entropy = float(-(p * np.log(p)).sum() / math.log(len(hits)))
    else:
        entropy = 0.0
    cosines = [h.score for h in hits]
    lexical = [h.lexical_score for h in hits]
    top_lexical = max(lexical)
    coverage = best.coverage if best.coverage is not None else 1.0
    others = max((h.coverage or 0.0 for h in rest), default=0.0)
    return np.array([
        best.certainty,
        best.certainty - (rest[0].certainty if rest else 0.0),
        best.confidence or 0.0,
        entropy,
        best.score,
        best.section_score,
        coverage,
        coverage - others,
        unknown[0],
        float(unknown[1]),
        float(unknown[2]),
        float(topic_words(query)),
        float(best.score >= max(cosines)),
        float(top_lexical > 0 and best.lexical_score >= top_lexical),
        best.lexical_score / top_lexical if top_lexical > 0 else 0.0,
        float(best.matched == "question"),
    ], np.float64)


@dataclass(frozen=True)
class Case:
    """One labelled question with the hits the product's search returned for it."""

    question: str
    expected: str | None
    audience: str
    hits: list[ScoredHit]
    unknown: tuple[float, int, int]  # confidence.unknown_words


@dataclass(frozen=True)
class Cached:
    cases: list[Case]
    thresholds: Thresholds
    model: str
    ranking: str  # what the settings' ranking resolved to on this index
    questions: str  # the questions file and its sha256


def _hit(row: dict) -> ScoredHit:  # type: ignore[type-arg]
    return ScoredHit(**{"snippet": "", "passage": "", **row})


def collect(settings: Settings, questions: Path, split: str, cache: Path,
            refresh: bool = False) -> Cached:
    """Search every ``split`` question of ``questions`` once through the product's path (or
    read the cache of the same file, model, settings and code)."""
    digest = hashlib.sha256(questions.read_bytes()).hexdigest()
    # The search code and the KB are part of the key: an edit to either searches again.
    code = hashlib.sha256(b"".join(
        p.read_bytes() for folder in ("indexer", "frontline/knowledge", "frontline/evaluation")
        for p in sorted((REPO / folder).glob("*.py")))
        + b"".join(p.read_bytes() for p in sorted(settings.kb_dir.rglob("*.md")))).hexdigest()
    key = hashlib.sha256(json.dumps([digest, code, split, settings.ranking, settings.retrieval_mode,
                                     settings.confidence_blend, settings.coverage_weight,
                                     settings.answer_threshold, settings.clarify_threshold,
                                     settings.clarify_margin]).encode()).hexdigest()[:16]
    target = cache / f"{split}-{key}.json"
    if target.is_file() and not refresh:
        data = json.loads(target.read_text())
        return Cached([Case(c["question"], c["expected"], c["audience"],
                            [_hit(h) for h in c["hits"]], tuple(c["unknown"]))  # type: ignore[arg-type]
                       for c in data["cases"]],
                      Thresholds(**data["thresholds"]), data["model"], data["ranking"],
                      data["questions"])
    items = [q for q in load_questions(questions) if q.split == split]
    model = tuning.model_for(settings, settings.kb_dir)
    embedder = make_embedder(model, settings.embedding_backend,
                             export_root=settings.data_dir / "onnx",
                             batch_size=settings.embedding_batch_size, threads=1)
    mix = Mix(settings.confidence_blend, settings.coverage_weight)
    with tempfile.TemporaryDirectory(prefix="decision-audit-") as scratch:
        index = Path(scratch) / "index"
        build_index(settings.kb_dir, index, embedder, full=True,
                    chunk_max_chars=settings.chunk_max_chars)
        search = ranked_search(index, embedder, settings.retrieval_mode,
                               settings.ranking, mix)
        version = search.retriever.current()
        ranking = version.auto_ranking() if settings.ranking == "auto" else settings.ranking
        thresholds = default_thresholds(settings, ranking)
        searched = search_all(search, items)
        cases = [Case(s.item.question, s.item.expected, s.item.audience, s.hits,
                      unknown_words(version, s.item.question, s.item.audience == "public"))
                 for s in searched]
    cached = Cached(cases, thresholds, model, ranking, f"{questions} sha256:{digest[:12]}")
    cache.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({
        "cases": [{"question": c.question, "expected": c.expected, "audience": c.audience,
                   "hits": [{k: v for k, v in h.to_dict().items()
                             if k not in ("snippet", "passage")} for h in c.hits],
                   "unknown": list(c.unknown)} for c in cases],
        "thresholds": {"answer": thresholds.answer, "clarify": thresholds.clarify,
                       "margin": thresholds.margin},
        "model": model, "ranking": ranking, "questions": cached.questions,
    }))
    return cached


def reason(case: Case, decision: Decision) -> str:
    """Why an answerable question was not answered with its article (or "answered")."""
    first = decision.hits[0].article_id if decision.hits else None
    right_first = first == case.expected
    if decision.outcome == "answer":
        return "answered" if right_first else "wrong article answered"
    if decision.outcome == "abstain":
        return "abstained (below the offer floor)"
    if decision.vague:
        return ("vague opener (< MIN_TOPIC_WORDS), right article first" if right_first
                else "vague opener, another article first")
    if decision.ambiguous:
        return "above the answer threshold, runner-up within margin"
    return ("below the answer threshold, right article first" if right_first
            else "below the answer threshold, another article first")


def audit(cached: Cached) -> None:
    t = cached.thresholds
    answerable = [c for c in cached.cases if c.expected is not None]
    unanswerable = [c for c in cached.cases if c.expected is None]
    decisions = {id(c): decide(c.hits, t, c.question) for c in cached.cases}
    print(f"questions: {cached.questions}; model {Path(cached.model).name}; ranking "
          f"{cached.ranking}; thresholds answer {t.answer}, offer {t.clarify}, margin {t.margin}")
    print(f"\nanswerable questions ({len(answerable)}): outcome and why")
    counts = Counter(reason(c, decisions[id(c)]) for c in answerable)
    for name, n in counts.most_common():
        print(f"  {n:4d}  {100 * n / len(answerable):5.1f} %  {name}")

    below = [c for c in answerable
             if reason(c, decisions[id(c)]) == "below the answer threshold, right article first"]
    if below:
        gaps = np.array([t.answer - c.hits[0].certainty for c in below])
        print("\n  below the threshold with the right article first: how far below")
        for cut in (0.02, 0.05, 0.1, 0.2):
            print(f"    within {cut:4.2f}: {int((gaps <= cut).sum()):4d}")
        with_unknown = sum(1 for c in below if c.unknown[1])
        corrected = sum(1 for c in below if c.unknown[2])
        print(f"    with a word no article holds: {with_unknown}; with a corrected typo: "
              f"{corrected}")
        cov = np.array([c.hits[0].coverage or 0.0 for c in below])
        prob = np.array([c.hits[0].confidence or 0.0 for c in below])
        answered = [c.hits[0].coverage or 0.0 for c in answerable
                    if reason(c, decisions[id(c)]) == "answered"]
        print(f"    their coverage median {np.median(cov):.3f} (answered: "
              f"{np.median(answered):.3f}); probability median {np.median(prob):.3f}")

    print(f"\nunanswerable questions ({len(unanswerable)}): outcome")
    outcome = Counter(decisions[id(c)].outcome for c in unanswerable)
    for name in ("answer", "clarify", "abstain"):
        print(f"  {outcome[name]:4d}  {100 * outcome[name] / len(unanswerable):5.1f} %  {name}")
    top = np.array(sorted((c.hits[0].certainty if c.hits else 0.0 for c in unanswerable),
                          reverse=True))
    print("  their best certainty, highest first: "
          + ", ".join(f"{x:.3f}" for x in top[:8]))
    for cut in (0.02, 0.05, 0.1):
        print(f"    within {cut:4.2f} below the answer threshold or above: "
              f"{int((top >= t.answer - cut).sum())}")
    print(f"    with a word no article holds: "
          f"{sum(1 for c in unanswerable if c.unknown[1])} of {len(unanswerable)}")

    # In-sample only (the diagnosis, not a choice): the lowest answer threshold on the
    # certainty that keeps both budgets on this very split.
    allowed_una = 0.02 * len(unanswerable)
    allowed_wrong = 0.02 * len(answerable)
    best = None
    for answer in sorted({round(c.hits[0].certainty, 4) for c in cached.cases if c.hits}):
        trial = Thresholds(answer, t.clarify, t.margin)
        d = [(c, decide(c.hits, trial, c.question)) for c in cached.cases]
        una = sum(1 for c, x in d if c.expected is None and x.outcome == "answer")
        wrong = sum(1 for c, x in d if c.expected is not None and x.outcome == "answer"
                    and x.hits[0].article_id != c.expected)
        ok = sum(1 for c, x in d if c.expected is not None and x.outcome == "answer"
                 and x.hits[0].article_id == c.expected)
        if una <= allowed_una and wrong <= allowed_wrong:
            best = (answer, ok, wrong, una)
            break
    if best is not None:
        print(f"\nin-sample only: the lowest answer threshold within both budgets here is "
              f"{best[0]} — {best[1]} answered right ({100 * best[1] / len(answerable):.1f} %), "
              f"{best[2]} wrong, {best[3]} unanswerable answered")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--split", default="dev", choices=("dev",))
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--refresh", action="store_true")
    args = parser.parse_args()
    settings = calibration.apply(get_settings())
    audit(collect(settings, args.questions, args.split, args.cache, args.refresh))


if __name__ == "__main__":
    main()
