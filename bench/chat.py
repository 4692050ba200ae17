"""Latency of one chat turn through ``POST /chat`` (sequential, warm), with the real Rasa server
and the real service — and, in the same run, a turn with no custom action as the baseline.

    .venv/bin/python bench/chat.py [--turns 100]

Builds a throwaway index of the sample KB; trains the assistant only if bot/ changed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, build_index
from tests.support.stack import Stack

HERE = Path(__file__).resolve().parent


def timed_turns(client: httpx.Client, texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        session = f"bench-{uuid.uuid4().hex[:12]}"
        started = time.perf_counter()
        response = client.post("/chat", json={"session_id": session, "message": text})
        out.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return out


def describe(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"{name:34} n={len(ms):4}  median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    try:
        kb = HERE.parent / "knowledge_base"
        build_index(kb, work / "index", SentenceTransformerEmbedder(default_embedding_model()))
        # One client address sends every turn, faster than any office of customers would:
        # this bench's own service allows it (the product's defaults are README "Rate limits").
        settings = Settings(_env_file=None, kb_dir=kb, data_dir=work,  # type: ignore[call-arg]
                            database_url=f"sqlite:///{work / 'frontline.db'}",
                            chat_address_rate_limit="100000/minute")
        questions = [q.question for q in load_questions(HERE / "data/sample_kb_questions.yml")
                     if q.audience == "public"]
        kb_turns = (questions * (args.turns // len(questions) + 1))[: args.turns]
        with Stack(settings) as stack, httpx.Client(base_url=stack.url, timeout=60) as client:
            timed_turns(client, ["hello", *kb_turns[:10]])  # warm up both processes
            greet = timed_turns(client, ["hello"] * args.turns)
            kb_ms = timed_turns(client, kb_turns)
        print(describe("greeting (no custom action)", greet))
        print(describe("KB question (action_answer_from_kb)", kb_ms))
        print(f"KB turn / greeting turn (median): "
              f"{statistics.median(kb_ms) / statistics.median(greet):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
