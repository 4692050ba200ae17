"""What embedding the corrected question costs (``Retriever.search`` via
``IndexVersion.corrected``), against the path before it, in the same run.

The sample KB indexed with the real model on one thread; every dev question of ``--questions``
searched both ways, interleaved (each question one way then the other, the order swapped on
the second pass, so drift hits both alike):

* **as typed** — the search before this change: the question embedded as typed, lexical search
  and coverage each correcting its typos (``Retriever.rank`` without ``corrected``);
* **corrected** — ``Retriever.search``: the typos corrected once, the corrected question
  embedded and searched by every part.

Prints p50/p95 of each, their ratio, and the correction step's own p50/p95.

    nice .venv/bin/python bench/corrected_search.py [--questions FILE] [--passes 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from frontline.evaluation.metrics import load_questions  # noqa: E402
from frontline.knowledge import default_embedding_model  # noqa: E402
from frontline.knowledge.decision import SHORTLIST  # noqa: E402
from indexer import Retriever, build_index  # noqa: E402
from indexer.embedding import SentenceTransformerEmbedder  # noqa: E402

QUESTIONS = REPO / "bench/data/sample_kb_questions.yml"


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    questions = [(q.question.strip(), q.audience) for q in load_questions(args.questions)
                 if q.split == "dev"]
    embedder = SentenceTransformerEmbedder(default_embedding_model(), threads=1)
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        build_index(REPO / "knowledge_base", Path(work) / "index", embedder)
        print(f"sample KB indexed in {time.perf_counter() - started:.1f} s; "
              f"{len(questions)} dev questions, {args.passes} passes, one thread, "
              f"load average {os.getloadavg()[0]:.1f}")
        retriever = Retriever(Path(work) / "index", embedder, ranking="auto")
        version = retriever.current()

        def typed(text: str, audience: str) -> None:
            current = retriever.current()
            vector = embedder.embed([text])[0]
            retriever.rank(current, text, vector, audience, SHORTLIST)  # type: ignore[arg-type]

        def corrected(text: str, audience: str) -> None:
            retriever.search(text, audience, SHORTLIST)  # type: ignore[arg-type]

        for text, audience in questions[:20]:  # warm: model, caches, vocabulary
            typed(text, audience)
            corrected(text, audience)
        times: dict[str, list[float]] = {"as typed": [], "corrected": []}
        for n in range(args.passes):
            for text, audience in questions:
                ways = [("as typed", typed), ("corrected", corrected)]
                for name, way in ways if n % 2 == 0 else ways[::-1]:
                    started = time.perf_counter()
                    way(text, audience)
                    times[name].append((time.perf_counter() - started) * 1000)
        step: list[float] = []
        changed = 0
        for text, audience in questions:
            started = time.perf_counter()
            fixed = version.corrected(text, audience)  # type: ignore[arg-type]
            step.append((time.perf_counter() - started) * 1000)
            changed += fixed != text
    (t50, t95), (c50, c95) = percentiles(times["as typed"]), percentiles(times["corrected"])
    s50, s95 = percentiles(step)
    print(f"{changed} of {len(questions)} questions have a typo corrected")
    print(f"search as typed   p50 {t50:7.2f} ms  p95 {t95:7.2f} ms")
    print(f"search corrected  p50 {c50:7.2f} ms  p95 {c95:7.2f} ms  "
          f"(ratio {c50 / t50:.3f} / {c95 / t95:.3f})")
    print(f"correction step   p50 {s50:7.3f} ms  p95 {s95:7.3f} ms  "
          f"({s95 / c95:.4f} of the corrected search's p95)")


if __name__ == "__main__":
    main()
