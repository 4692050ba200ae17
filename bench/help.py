"""How fast the public help centre answers, through the real service (uvicorn on 127.0.0.1, the
real retriever, renderer and database), at the sample KB and at a generated large KB — each
figure next to a baseline measured in the same run (``GET /healthz``), and as a ratio of it.

    .venv/bin/python bench/help.py [--articles 10000] [--requests 200] [--work DIR]

(``--articles 0``: the sample KB only.)

* ``/help/<id>``: an article page (Markdown rendered and sanitised, cached by content hash;
  related articles; a ``help_view`` event written), first views and repeat views;
* the same page revalidated with ``If-None-Match`` (304, the view still recorded);
* ``/help/search?q=``: the bot's retriever and decision, results rendered (a search with no
  good result also writes a ``help_search`` event);
* ``/api/suggest?q=``: the widget's suggestions while a customer types.

The generated KB comes from ``bench/index.py``'s generator. Its index (a full build: minutes)
is kept in ``--work`` and reused by the next run with the same article count. Sequential
requests, one client; Rasa is not needed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.index import WORDS, generate_kb
from frontline.api.app import create_app
from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, build_index, store
from tests.support.stack import Stack

HERE = Path(__file__).resolve().parent


def p95(ms: list[float]) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def interleaved(calls: dict[str, tuple[Callable[[int], httpx.Response], int, int]],
                rounds: int) -> dict[str, list[float]]:
    """Milliseconds of each named call, one of each per round in turn, so a machine whose load
    changes during the run slows every figure alike. ``calls[name] = (call(i), expected status,
    how many rounds it takes part in)``."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(rounds):
        for name, (call, status, limit) in calls.items():
            if i >= limit:
                continue
            started = time.perf_counter()
            response = call(i)
            out[name].append((time.perf_counter() - started) * 1000)
            if response.status_code != status:
                raise RuntimeError(f"{response.request.url}: HTTP {response.status_code}, "
                                   f"expected {status}: {response.text[:200]}")
    return out


def prepare(kb: Path, data: Path, embedder: SentenceTransformerEmbedder) -> float | None:
    """An index of ``kb`` under ``data/index``: built (seconds returned) unless one is there."""
    if store.current_version(data / "index") is not None:
        return None
    started = time.perf_counter()
    build_index(kb, data / "index", embedder)
    return time.perf_counter() - started


def measure(label: str, kb: Path, data: Path, queries: list[str], n: int) -> None:
    db = data / "bench-help.db"
    db.unlink(missing_ok=True)
    # One client sends every request: the per-address rate limits would refuse most of them.
    unlimited = "1000000/minute"
    settings = Settings(_env_file=None, kb_dir=kb, data_dir=data,  # type: ignore[call-arg]
                        database_url=f"sqlite:///{db}", search_rate_limit=unlimited,
                        suggest_rate_limit=unlimited, page_rate_limit=unlimited)
    service = Stack(settings)  # the service only: the help centre needs no Rasa
    service.app = create_app(service.settings)
    service.start_service()
    try:
        run(label, service, queries, n)
    finally:
        service.stop_service()


def run(label: str, service: Stack, queries: list[str], n: int) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as client:
        home = client.get("/help")
        home.raise_for_status()
        centre = service.app.state.help_centre
        ids = [a.id for a in centre.articles()]
        rng = random.Random(11)
        picked = [rng.choice(ids) for _ in range(n)]
        asked = [rng.choice(queries) for _ in range(n)]
        for i in range(10):  # warm up: the model, the caches, the connection
            client.get(f"/help/{picked[i]}")
            client.get("/help/search", params={"q": asked[i]})
            client.get("/api/suggest", params={"q": asked[i]})
        warmed = set(picked[:10])
        unseen = [i for i in ids if i not in warmed]
        rng.shuffle(unseen)
        etag = client.get(f"/help/{picked[0]}").headers["etag"]
        figures = interleaved({
            "GET /healthz (baseline)": (lambda i: client.get("/healthz"), 200, n),
            "GET /help/<id>, first view of each": (
                lambda i: client.get(f"/help/{unseen[i]}"), 200, min(n, len(unseen))),
            "GET /help/<id>, random (repeats cached)": (
                lambda i: client.get(f"/help/{picked[i]}"), 200, n),
            "GET /help/<id>, If-None-Match → 304": (
                lambda i: client.get(f"/help/{picked[0]}", headers={"If-None-Match": etag}),
                304, n),
            "GET /help/search?q=": (
                lambda i: client.get("/help/search", params={"q": asked[i]}), 200, n),
            "GET /api/suggest?q=": (
                lambda i: client.get("/api/suggest", params={"q": asked[i]}), 200, n),
        }, n)
    base = p95(figures["GET /healthz (baseline)"])
    print(f"{label}: {len(ids):,} public articles, up to {n} sequential requests of each kind, "
          "interleaved")
    for name, ms in figures.items():
        print(f"  {name:42} n={len(ms):4}  p50 {statistics.median(ms):7.1f} ms  "
              f"p95 {p95(ms):7.1f} ms   p95 ×{p95(ms) / base:6.1f} baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=HERE.parent / "knowledge_base")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--skip-sample", action="store_true", help="only the generated KB")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "frontline-bench-help")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder(default_embedding_model())
    questions = [q.question for q in load_questions(HERE / "data/sample_kb_questions.yml")
                 if q.audience == "public"]

    if not args.skip_sample:
        sample = Path(tempfile.mkdtemp(prefix="bench-help-"))
        try:
            prepare(args.kb, sample, embedder)
            measure("sample KB", args.kb, sample, questions, args.requests)
        finally:
            shutil.rmtree(sample, ignore_errors=True)

    if args.articles <= 0:
        return
    data = args.work / f"generated-{args.articles}"
    kb = data / "kb"
    if not kb.is_dir():
        data.mkdir(parents=True, exist_ok=True)
        generate_kb(kb, args.articles)
    built = prepare(kb, data, embedder)
    print(f"generated KB index: {f'built in {built:.0f} s' if built else 'reused'} ({data})")
    rng = random.Random(5)
    generated = [f"{rng.choice(('how does', 'problem with', 'help with'))} "
                 + " ".join(rng.sample(WORDS, rng.choice((2, 3)))) for _ in range(100)]
    measure(f"generated KB ({args.articles:,} articles)", kb, data, generated, args.requests)


if __name__ == "__main__":
    main()
