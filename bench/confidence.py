"""A learned answer confidence against one threshold, out of fold on the sample KB's dev split.

    nice .venv/bin/python bench/confidence.py [--questions FILE] [--repeats 5]

Reads the hits ``bench/decision_audit.py`` cached (one search pass through the product's path;
run here if missing) and compares, under one protocol, ways of deciding *answer*:

* ``A current`` — the thresholds in force (``frontline eval``'s for the settings), not fitted;
* ``B threshold`` — the answer threshold and margin re-chosen on the training folds (``B1``:
  with a 1 % budget there, a cushion for choosing at the budget's edge);
* ``F`` / ``F1`` — the same on ``certainty × (1 − unknown_share)^u``, u ∈ {0, 1, 2} chosen too;
* ``E two thresholds`` — one answer threshold for questions with a word no article holds
  (``decision_audit.unknown_words``), another for the rest, both chosen on the training folds;
* ``H`` / ``H1`` — one threshold for questions with exactly ``MIN_TOPIC_WORDS`` topic words,
  another for longer ones, chosen jointly under one shared budget;
* ``C logistic`` / ``D boosted`` — logistic regression and HistGradientBoosting (monotonic
  where a feature's direction is known) over ``decision_audit.FEATURES`` (``C0``: the earlier
  attempt's features; ``G`` / ``G1``: logistic regression over the logarithms of ``LOGS``),
  probability calibrated (sigmoid), answering when the probability that the best hit is right
  clears a cut chosen on inner out-of-fold predictions of the training folds.

Repeated stratified k-fold over dev: every choice on the training folds; each held-out
question is decided once per repeat by the product's ``decide`` (the vague-opener rule and the
offer floor as they are; a method only says whether to answer), and the rates are pooled over
the split per repeat. Budgets on the training folds: unanswerable answered ≤ 2 % of the
unanswerable, wrong ≤ 2 % of the answerable. Prints the mean and range over the repeats.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from decision_audit import (  # noqa: E402
    CACHE,
    FEATURES,
    QUESTIONS,
    Cached,
    Case,
    collect,
    features,
)

from frontline.knowledge import Thresholds, calibration, decide  # noqa: E402
from frontline.knowledge.decision import MAX_OPTIONS, MIN_TOPIC_WORDS, topic_words  # noqa: E402
from frontline.settings import get_settings  # noqa: E402

BUDGET = 0.02
MARGINS = (0.0, 0.01, 0.02, 0.04)
# +1: the feature can only raise the chance the best hit is right; -1: only lower it.
MONOTONIC = {"certainty": 1, "margin": 1, "probability": 1, "entropy": -1, "cosine": 1,
             "section_cosine": 1, "coverage": 1, "unknown_share": -1, "unknown_words": -1,
             "dense_agrees": 1, "lexical_agrees": 1, "lexical_share": 1}


@dataclass
class Data:
    cases: list[Case]
    X: np.ndarray
    right: np.ndarray  # the best hit is the expected article
    unanswerable: np.ndarray
    specific: np.ndarray  # enough topic words to be answered at all
    top: np.ndarray  # best certainty
    close: dict[float, np.ndarray]  # margin -> a runner-up within it
    unknown: np.ndarray  # a word no article holds


def load(cached: Cached) -> Data:
    cases = [c for c in cached.cases if c.hits]
    close = {m: np.array([any(c.hits[0].certainty - h.certainty <= m
                              for h in c.hits[1:MAX_OPTIONS]) for c in cases])
             for m in MARGINS}
    return Data(
        cases,
        np.array([features(c.hits, c.question, c.unknown) for c in cases]),
        np.array([c.expected is not None and c.hits[0].article_id == c.expected
                  for c in cases]),
        np.array([c.expected is None for c in cases]),
        np.array([topic_words(c.question) >= MIN_TOPIC_WORDS for c in cases]),
        np.array([c.hits[0].certainty for c in cases]),
        close,
        np.array([c.unknown[1] > 0 for c in cases]),
    )


def within_budget(answered: np.ndarray, right: np.ndarray, una: np.ndarray,
                  budget: float = BUDGET) -> bool:
    n_una, n_ans = int(una.sum()), int((~una).sum())
    return (int((answered & una).sum()) <= budget * n_una
            and int((answered & ~una & ~right).sum()) <= budget * n_ans)


def best_cut(score: np.ndarray, ok: np.ndarray, right: np.ndarray, una: np.ndarray,
             budget: float = BUDGET) -> tuple[float, int]:
    """The cut on ``score`` (answer when ``score >= cut`` and ``ok``) answering the most
    questions right within both budgets; ties: the highest cut. Cuts sit halfway between
    observed scores."""
    values = np.unique(score[ok])
    cuts = np.sort(np.concatenate([[np.inf], (values[1:] + values[:-1]) / 2,
                                   values[:1] - 1e-9]))[::-1]
    best = (np.inf, 0)
    for cut in cuts:  # highest first
        answered = ok & (score >= cut)
        if not within_budget(answered, right, una, budget):
            break  # lower cuts answer a superset: no lower cut fits either
        hits = int((answered & right).sum())
        if hits > best[1]:
            best = (float(cut), hits)
    return best


# -- methods: fit on training indices, return "answer?" for held-out indices --------------
Method = Callable[[Data, np.ndarray, np.ndarray], np.ndarray]


def current(thresholds: Thresholds) -> Method:
    def run(d: Data, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        return np.array([decide(d.cases[i].hits, thresholds, d.cases[i].question).outcome
                         == "answer" for i in test])
    return run


def threshold(budget: float = BUDGET, powers: tuple[float, ...] = (0.0,)) -> Method:
    """The answer threshold and margin — and, with ``powers``, the exponent u of
    ``certainty × (1 − unknown_share)^u`` — chosen on the training folds."""
    unknown = FEATURES.index("unknown_share")

    def run(d: Data, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        best: tuple[int, float, float, float] = (-1, np.inf, 0.0, 0.0)
        for u in powers:
            score = d.top * (1 - d.X[:, unknown]) ** u
            for m in MARGINS:
                ok = d.specific[train] & ~d.close[m][train]
                cut, hits = best_cut(score[train], ok, d.right[train], d.unanswerable[train],
                                     budget)
                if hits > best[0]:
                    best = (hits, cut, m, u)
        _, cut, m, u = best
        score = d.top * (1 - d.X[:, unknown]) ** u
        return d.specific[test] & ~d.close[m][test] & (score[test] >= cut)
    return run


def two_thresholds(d: Data, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    out = np.zeros(len(test), bool)
    for group in (True, False):
        tr = train[d.unknown[train] == group]
        cut, _ = best_cut(d.top[tr], d.specific[tr] & ~d.close[0.0][tr], d.right[tr],
                          d.unanswerable[tr])
        te = d.unknown[test] == group
        out |= te & d.specific[test] & ~d.close[0.0][test] & (d.top[test] >= cut)
    return out


def by_length(budget: float = BUDGET) -> Method:
    """One answer threshold for questions with exactly ``MIN_TOPIC_WORDS`` topic words, another
    for longer ones, chosen jointly on the training folds under one shared budget."""
    words = FEATURES.index("topic_words")

    def counts(idx: np.ndarray, d: Data) -> tuple[np.ndarray, np.ndarray]:
        """Cuts (highest first, the first answering nothing) and, per cut, the cumulative
        (right, unanswerable, wrong) answered."""
        idx = idx[d.specific[idx] & ~d.close[0.0][idx]]
        order = idx[np.argsort(-d.top[idx], kind="stable")]
        scores = d.top[order]
        cuts = np.concatenate([[np.inf], scores])
        right = np.concatenate([[0], np.cumsum(d.right[order])])
        una = np.concatenate([[0], np.cumsum(d.unanswerable[order])])
        wrong = np.concatenate([[0], np.cumsum(~d.right[order] & ~d.unanswerable[order])])
        return cuts, np.column_stack([right, una, wrong])

    def run(d: Data, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        short = d.X[:, words] <= MIN_TOPIC_WORDS
        c2, n2 = counts(train[short[train]], d)
        c3, n3 = counts(train[~short[train]], d)
        allowed_una = budget * d.unanswerable[train].sum()
        allowed_wrong = budget * (~d.unanswerable[train]).sum()
        total = n2[:, None, :] + n3[None, :, :]
        fits = (total[..., 1] <= allowed_una) & (total[..., 2] <= allowed_wrong)
        gain = np.where(fits, total[..., 0], -1)
        i, j = np.unravel_index(np.argmax(gain), gain.shape)  # ties: the highest cuts
        cut = np.where(short, c2[i], c3[j])
        return d.specific[test] & ~d.close[0.0][test] & (d.top[test] >= cut[test])
    return run


def make_model(kind: str, columns: list[int]):  # type: ignore[no-untyped-def]
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        base = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    else:
        names = [FEATURES[i] for i in columns]
        base = HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=10,
            l2_regularization=1.0, monotonic_cst=[MONOTONIC.get(n, 0) for n in names],
            random_state=0)
    return CalibratedClassifierCV(base, method="sigmoid", cv=3)


LOGS = ("probability", "coverage", "unknown_share", "cosine", "section_cosine", "margin")


def logs(X: np.ndarray) -> np.ndarray:
    """``LOGS``' logarithms (of 1 − unknown_share for that one), floored at 1e-3."""
    cols = [X[:, FEATURES.index(n)] for n in LOGS]
    cols[LOGS.index("unknown_share")] = 1 - cols[LOGS.index("unknown_share")]
    return np.log(np.clip(np.column_stack(cols), 1e-3, None))


def learned(kind: str, names: tuple[str, ...] = FEATURES, budget: float = BUDGET,
            transform: Callable[[np.ndarray], np.ndarray] | None = None) -> Method:
    columns = [FEATURES.index(n) for n in names]

    def run(d: Data, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        from sklearn.model_selection import StratifiedKFold

        X, y = (d.X[:, columns] if transform is None else transform(d.X)), d.right
        inner = np.zeros(len(train))
        folds = StratifiedKFold(5, shuffle=True, random_state=1)
        for a, b in folds.split(X[train], strata(d)[train]):
            model = make_model(kind, columns).fit(X[train][a], y[train][a])
            inner[b] = model.predict_proba(X[train][b])[:, 1]
        ok = d.specific[train] & (d.top[train] >= FLOOR)
        cut, _ = best_cut(inner, ok, d.right[train], d.unanswerable[train], budget)
        model = make_model(kind, columns).fit(X[train], y[train])
        p = model.predict_proba(X[test])[:, 1]
        return d.specific[test] & (d.top[test] >= FLOOR) & (p >= cut)
    return run


FLOOR = 0.0  # set from the thresholds in force (the offer floor) in main


def strata(d: Data) -> np.ndarray:
    return np.where(d.unanswerable, 0, np.where(d.right, 1, 2))


def evaluate(d: Data, method: Method, thresholds: Thresholds, repeats: int
             ) -> list[dict[str, float]]:
    from sklearn.model_selection import StratifiedKFold

    rows = []
    never = Thresholds(1.01, thresholds.clarify, thresholds.margin)
    for seed in range(repeats):
        answered = np.zeros(len(d.cases), bool)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(
                d.X, strata(d)):
            answered[test] = method(d, train, test)
        covered = 0
        for i, case in enumerate(d.cases):
            if case.expected is None:
                continue
            if answered[i]:
                covered += bool(d.right[i])
            else:
                options = decide(case.hits, never, case.question).options
                covered += any(h.article_id == case.expected for h in options)
        ans = ~d.unanswerable
        rows.append({
            "answered_right": (answered & d.right).sum() / ans.sum(),
            "wrong": (answered & ans & ~d.right).sum() / ans.sum(),
            "unanswerable_answered": (answered & d.unanswerable).sum() / d.unanswerable.sum(),
            "covered": covered / ans.sum(),
        })
    return rows


def main() -> None:
    global FLOOR
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated method letters")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    cached = collect(calibration.apply(get_settings()), args.questions, "dev", args.cache)
    d = load(cached)
    FLOOR = cached.thresholds.clarify
    old = ("certainty", "margin", "probability", "cosine", "lexical_share", "coverage",
           "section_cosine", "topic_words", "matched_question")
    methods: dict[str, Method] = {
        "A current": current(cached.thresholds),
        "B threshold": threshold(),
        "B1 threshold, 1 % on training": threshold(0.01),
        "F certainty x (1-unknown)^u": threshold(BUDGET, (0.0, 1.0, 2.0)),
        "F1 same, 1 % on training": threshold(0.01, (0.0, 1.0, 2.0)),
        "E two thresholds": two_thresholds,
        "H by topic words": by_length(),
        "H1 same, 1 % on training": by_length(0.01),
        "C logistic": learned("logistic"),
        "C0 logistic, earlier features": learned("logistic", old),
        "D boosted": learned("boosted"),
        "G logistic over logs": learned("logistic", LOGS, transform=logs),
        "G1 same, 1 % on training": learned("logistic", LOGS, 0.01, transform=logs),
    }
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    print(f"{cached.questions}: {len(d.cases)} dev questions ({int((~d.unanswerable).sum())} "
          f"answerable, {int(d.unanswerable.sum())} unanswerable); {args.repeats}x5-fold")
    print(f"{'method':32s} {'answered right':>22s} {'wrong':>16s} {'unanswerable ans.':>18s} "
          f"{'covered':>8s}  budgets held")
    for name, method in methods.items():
        if only and name.split()[0] not in only:
            continue
        rows = evaluate(d, method, cached.thresholds, args.repeats)

        def fmt(key: str, rows: list[dict[str, float]] = rows) -> str:
            v = np.array([r[key] for r in rows]) * 100
            return f"{v.mean():5.1f} ({v.min():4.1f}-{v.max():4.1f})"

        held = sum(1 for r in rows if r["wrong"] <= BUDGET and r["unanswerable_answered"]
                   <= BUDGET)
        cov = np.mean([r["covered"] for r in rows]) * 100
        print(f"{name:32s} {fmt('answered_right'):>22s} {fmt('wrong'):>16s} "
              f"{fmt('unanswerable_answered'):>18s} {cov:7.1f}%  {held}/{len(rows)}",
              flush=True)


if __name__ == "__main__":
    main()
