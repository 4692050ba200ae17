"""Query-term coverage in the confidence of a KB without example questions, out of fold.

    nice .venv/bin/python bench/bare_coverage.py [--repeats 5]

On a KB without example questions the default ranks by hybrid retrieval and compares the
cosine alone with its thresholds. This searches the sample KB with every ``questions:`` list
removed (``frontline.evaluation.bare``) once, through ``frontline eval``'s path, and compares
certainty = cosine × coverage^w for w in ``WEIGHTS``:

* in-sample, each w's thresholds chosen by ``calibrate`` on all of dev and scored on it;
* out of fold (repeated stratified 5-fold over dev): ``A`` the cosine alone, ``T2`` w chosen
  too, both by the product's ``calibrate`` with the 2 % budget on the training folds, ``T1``
  the same with a 1 % cushion; each held-out fold scored by ``score``, pooled per repeat;
* the thresholds chosen on all of the bare dev split, moved unchanged to the Swedish
  Construction FAQ's dev split (another KB without questions).

Dev splits only; nothing here reads a test split.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frontline.evaluation import bare, faq  # noqa: E402
from frontline.evaluation.metrics import (  # noqa: E402
    EvalReport,
    Searched,
    calibrate,
    load_questions,
    objective,
    score,
)
from frontline.evaluation.parallel import search_configs  # noqa: E402
from frontline.evaluation.reuse import QueryVectors  # noqa: E402
from frontline.evaluation.run import _config  # noqa: E402
from frontline.knowledge import Thresholds, tuning  # noqa: E402
from frontline.knowledge.decision import Mix, rank  # noqa: E402
from frontline.settings import get_settings  # noqa: E402
from indexer import build_index  # noqa: E402
from indexer.embedding import make_embedder  # noqa: E402

WEIGHTS = (0.0, 0.5, 1.0, 2.0)
BUDGET = 0.02
SEED = 20261203


def searched_dev(kb: Path, questions: Path) -> list[Searched]:
    """The dev questions of ``questions`` searched on ``kb`` by hybrid retrieval, as
    ``frontline eval`` searches them."""
    settings = get_settings()
    embedder = QueryVectors(make_embedder(tuning.model_for(settings, kb)))
    with tempfile.TemporaryDirectory() as scratch:
        index = Path(scratch) / "index"
        build_index(kb, index, embedder, full=True, chunk_max_chars=settings.chunk_max_chars)
        dev = [q for q in load_questions(questions) if q.split == "dev"]
        return search_configs(index, embedder, [_config("hybrid")], dev, workers=2)["hybrid"]


def with_coverage(searched: list[Searched], weight: float) -> list[Searched]:
    """The same searches with certainty = cosine × coverage^weight (the ranking unchanged)."""
    mix = Mix(0.0, weight)
    return [replace(s, hits=rank(s.hits, mix)) if s.hits else s for s in searched]


def shares(report: EvalReport) -> tuple[float, float, float, float]:
    """(answered right, answered wrong) as shares of answerable; unanswerable answered;
    covered — counts recovered from the report's shares of all questions."""
    n, answerable, unanswerable = report.questions, report.answerable, report.unanswerable
    una = report.unanswerable_answered * unanswerable
    return (report.answered_correct * n / (answerable or 1),
            (report.wrong_answer * n - una) / (answerable or 1),
            report.unanswerable_answered, report.covered)


def choose(by_weight: dict[float, list[Searched]], rows: np.ndarray, weights: tuple[float, ...],
           budget: float) -> tuple[float, Thresholds]:
    """The weight and thresholds with the best ``objective`` on ``rows``."""
    best: tuple[tuple[float, ...], float, Thresholds] | None = None
    for weight in weights:
        thresholds, report = calibrate([by_weight[weight][i] for i in rows],
                                       max_unanswerable_answered=budget)
        key = objective(report)
        if best is None or key > best[0]:
            best = (key, weight, thresholds)
    assert best is not None
    return best[1], best[2]


def out_of_fold(by_weight: dict[float, list[Searched]], weights: tuple[float, ...],
                budget: float, repeats: int) -> list[tuple[float, float, float, float]]:
    """Per repeat: answered right, wrong (of answerable), unanswerable answered, covered."""
    first = by_weight[weights[0]]
    unanswerable = np.array([s.item.expected is None for s in first])
    n_una, n_ans = int(unanswerable.sum()), int((~unanswerable).sum())
    rng = np.random.default_rng(SEED)
    out = []
    for _ in range(repeats):
        folds = np.zeros(len(first), int)
        for group in (True, False):
            members = np.flatnonzero(unanswerable == group)
            rng.shuffle(members)
            folds[members] = np.arange(len(members)) % 5
        right = wrong = una = covered = 0.0
        for fold in range(5):
            weight, thresholds = choose(by_weight, np.flatnonzero(folds != fold), weights,
                                        budget)
            report = score([by_weight[weight][i] for i in np.flatnonzero(folds == fold)],
                           thresholds)
            r, w, u, c = shares(report)
            right += r * report.answerable
            wrong += w * report.answerable
            una += u * report.unanswerable
            covered += c * report.answerable
        out.append((right / n_ans, wrong / n_ans, una / n_una, covered / n_ans))
    return out


def print_repeats(label: str, repeats: list[tuple[float, float, float, float]]) -> None:
    """One line: ``out_of_fold``'s mean and range over the repeats, and in how many of them
    both budgets held."""
    rows = np.array(repeats)
    held = int(((rows[:, 1] <= BUDGET) & (rows[:, 2] <= BUDGET)).sum())
    print(f"  {label}: answered ✓ {rows[:, 0].mean():.1%} ({rows[:, 0].min():.1%}–"
          f"{rows[:, 0].max():.1%}), wrong {rows[:, 1].mean():.1%}, unanswerable answered"
          f" {rows[:, 2].mean():.1%} ({rows[:, 2].min():.1%}–{rows[:, 2].max():.1%}),"
          f" covered {rows[:, 3].mean():.1%}, budgets held {held}/{len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()
    bare_kb = bare.without_questions(settings.kb_dir, settings.data_dir / "kb-no-questions")
    faq_kb = faq.write_kb(settings.data_dir / "faq-zaragoza")
    bare_dev = searched_dev(bare_kb, settings.eval_questions)
    faq_dev = searched_dev(faq_kb, REPO / "bench" / "data" / "zaragoza_faq_questions.yml")
    by_weight = {w: with_coverage(bare_dev, w) for w in WEIGHTS}

    print("in-sample (thresholds chosen on all of the bare dev split and scored on it), and the"
          " same thresholds on the FAQ's dev split:")
    for weight in WEIGHTS:
        thresholds, report = calibrate(by_weight[weight], max_unanswerable_answered=BUDGET)
        right, wrong, una, covered = shares(report)
        f_right, f_wrong, f_una, f_covered = shares(score(with_coverage(faq_dev, weight),
                                                          thresholds))
        print(f"  w={weight:<3g} answer ≥ {thresholds.answer:.4f}: answered ✓ {right:.1%}, wrong"
              f" {wrong:.1%}, unanswerable answered {una:.1%}, covered {covered:.1%} | FAQ dev:"
              f" answered ✓ {f_right:.1%}, wrong {f_wrong:.1%}, unanswerable answered"
              f" {f_una:.1%}, covered {f_covered:.1%}")

    print(f"out of fold ({args.repeats} × 5-fold, mean (min–max) over repeats):")
    for name, weights, budget in (("A  cosine alone", (0.0,), BUDGET),
                                  ("T2 w chosen, 2 %", WEIGHTS, BUDGET),
                                  ("T1 w chosen, 1 %", WEIGHTS, BUDGET / 2)):
        print_repeats(name, out_of_fold(by_weight, weights, budget, args.repeats))


if __name__ == "__main__":
    main()
