"""Which retrieval mode should Frontline ship? Dense, lexical and hybrid side by side on the
sample KB's labelled questions, in one run with one index.

    .venv/bin/python bench/retrieval.py [--split dev|test] [--questions FILE]

Choose on ``dev``; report ``test`` once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from frontline.evaluation import load_questions, retrieval_metrics
from frontline.settings import default_embedding_model
from indexer import Retriever, SentenceTransformerEmbedder, build_index
from indexer.retriever import MODES

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=HERE.parent / "knowledge_base")
    parser.add_argument("--questions", type=Path, default=HERE / "data/sample_kb_questions.yml")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    args = parser.parse_args()
    questions = [q for q in load_questions(args.questions) if q.split == args.split]
    # One torch thread, as the service runs (FRONTLINE_EMBEDDING_THREADS=1).
    embedder = SentenceTransformerEmbedder(default_embedding_model(), threads=1)
    work = Path(tempfile.mkdtemp(prefix="bench-retrieval-"))
    try:
        build_index(args.kb, work / "index", embedder)
        print(f"{args.split} split: {sum(q.expected is not None for q in questions)} answerable "
              f"questions ({sum(q.audience == 'internal' for q in questions)} from reps)")
        print(f"{'mode':8} {'R@1':>6} {'R@3':>6} {'R@5':>6} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}")
        for mode in MODES:
            retriever = Retriever(work / "index", embedder, mode=mode)  # type: ignore[arg-type]
            retriever.search("warm up", "public", 1)
            m = retrieval_metrics(retriever, questions)
            print(f"{mode:8} {m.recall_at_1:6.3f} {m.recall_at_3:6.3f} {m.recall_at_5:6.3f} "
                  f"{m.mrr:6.3f} {m.p50_ms:7.1f} {m.p95_ms:7.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
