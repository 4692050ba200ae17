"""How fast the public help centre answers, through the real service (uvicorn on 127.0.0.1, the
real retriever, renderer and database), at the sample KB and at a generated large KB — each
figure next to a baseline measured in the same run (``GET /healthz``), and as a ratio of it.

    .venv/bin/python bench/help.py [--articles 10000] [--requests 200] [--work DIR]

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


def timed(call: Callable[[], httpx.Response], n: int, status: int = 200) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        out.append((time.perf_counter() - started) * 1000)
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
    unlimited = {name: "1000000/minute" for name in (
        "search_rate_limit", "suggest_rate_limit", "page_rate_limit")
        if name in Settings.model_fields}
    settings = Settings(_env_file=None, kb_dir=kb, data_dir=data,  # type: ignore[call-arg]
                        database_url=f"sqlite:///{db}", **unlimited)
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
        health = timed(lambda: client.get("/healthz"), n)
        warmed = set(picked[:10])
        unseen = [i for i in ids if i not in warmed]
        rng.shuffle(unseen)
        first_ids = iter(unseen)
        first = timed(lambda: client.get(f"/help/{next(first_ids)}"), min(n, len(unseen)))
        pages = iter(picked)
        repeat = timed(lambda: client.get(f"/help/{next(pages)}"), n)
        etag = client.get(f"/help/{picked[0]}").headers["etag"]
        revalidated = timed(lambda: client.get(f"/help/{picked[0]}",
                                               headers={"If-None-Match": etag}), n, 304)
        searches = iter(asked)
        search = timed(lambda: client.get("/help/search", params={"q": next(searches)}), n)
        typed = iter(asked)
        suggest = timed(lambda: client.get("/api/suggest", params={"q": next(typed)}), n)
    base = p95(health)
    print(f"{label}: {len(ids):,} public articles, {n} sequential requests each")
    for name, ms in (("GET /healthz (baseline)", health),
                     ("GET /help/<id>, first view of each", first),
                     ("GET /help/<id>, random (repeats cached)", repeat),
                     ("GET /help/<id>, If-None-Match → 304", revalidated),
                     ("GET /help/search?q=", search),
                     ("GET /api/suggest?q=", suggest)):
        print(f"  {name:42} n={len(ms):4}  p50 {statistics.median(ms):7.1f} ms  "
              f"p95 {p95(ms):7.1f} ms"
              f"   p95 ×{p95(ms) / base:6.1f} baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kb", type=Path, default=HERE.parent / "knowledge_base")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "frontline-bench-help")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder(default_embedding_model())
    questions = [q.question for q in load_questions(HERE / "data/sample_kb_questions.yml")
                 if q.audience == "public"]

    sample = Path(tempfile.mkdtemp(prefix="bench-help-"))
    try:
        prepare(args.kb, sample, embedder)
        measure("sample KB", args.kb, sample, questions, args.requests)
    finally:
        shutil.rmtree(sample, ignore_errors=True)

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
