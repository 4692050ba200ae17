"""How long the ops dashboard's overview and the report take as the event log grows: 10k, 100k
and 1M events, on SQLite and on PostgreSQL (a throwaway server), each with a baseline measured
in the same run (``SELECT count(*)`` and one full-scan aggregate of the events table, ``GROUP BY
kind``): the times are printed as ratios to the full scan.

    .venv/bin/python bench/analytics.py [--sizes 10000,100000,1000000] [--per-day 4000]
    .venv/bin/python bench/analytics.py --only postgresql --sizes 1000000 --against eedd559

Each size times the overview read live (``Metrics``: every figure from the events, as before
the daily rollup) and through the rollup (``RolledMetrics``, what the service runs) in turns on
the same database, checks both give the same figures, and prints the first rolled-up read
(it rolls up the 60 closed days) and a read right after a new event.

``--against REV`` compares, on one database per size, the overview as the metrics module of
git revision REV computed it (on the schema ``--schema`` it ran on, default 0004, the one
before the report indexes; then on today's) with
today's, timed in turns so both see the same machine, and checks they give the same figures.

The history grows at a constant pace (``--per-day`` events a day, a mid-size support team), so
10k events are 2.5 days of history and 1M are 250 days: the overview (30 days against the 30
before) and the report (7 days) read their periods through the indexes, and should stay flat
once the history is longer than the period. The report includes the KB-gap clustering with the
real embedding model; its embeddings are cached by text, as in the running service (the first,
cold report is printed too).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from frontline.analytics import Analytics
from frontline.analytics.metrics import Metrics
from frontline.analytics.overview import build
from frontline.analytics.rollup import RolledMetrics
from frontline.db import Database, Event, Message, Ticket
from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder

HERE = Path(__file__).resolve().parent
ARTICLES = ["reset-password", "refund-policy", "cancel-subscription", "export-your-data",
            "invite-teammates", "calendar-sync", "failed-payment", "slack-integration",
            "mobile-offline-mode", "plans-and-pricing"]
BATCH = 20_000
EVENT = {"kind": None, "session_id": None, "channel": "webchat", "audience": "public",
         "query": None, "hits": [], "certainty": None, "thresholds": {}, "decision": None,
         "ambiguous": None, "article_id": None, "deflected": None, "ticket_id": None,
         "csat": None, "created_at": None, "simulated": False}
MESSAGE = {"session_id": None, "ticket_id": None, "sender": "customer", "text": "",
           "data": {}, "created_at": None, "simulated": False}


def generate(db: Database, events: int, per_day: int, now: datetime, questions: list[str],
             seed: int = 1) -> None:
    """Sessions of a question and what follows, spread evenly back from ``now``."""
    rng = random.Random(seed)
    span = timedelta(days=events / per_day)
    start = now - span
    rows: list[dict[str, object]] = []
    tickets: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    ticket_id = 0
    made = 0
    session = 0

    def flush(final: bool = False) -> None:
        with db.engine.begin() as conn:
            if tickets:
                conn.execute(insert(Ticket), tickets)
            if rows:
                conn.execute(insert(Event), [{**EVENT, **r} for r in rows])
            if messages:
                conn.execute(insert(Message), [{**MESSAGE, **m} for m in messages])
        rows.clear()
        tickets.clear()
        messages.clear()

    while made < events:
        session += 1
        sid = f"bench-{session}"
        t = start + span * (made / events) + timedelta(seconds=rng.uniform(0, 30))
        outcome = rng.choices(("answer", "clarify", "abstain"), (0.62, 0.25, 0.13))[0]
        article = rng.choice(ARTICLES) if outcome == "answer" else None
        channel = "slack" if rng.random() < 0.08 else "webchat"
        rows.append({"kind": "decision", "session_id": sid, "channel": channel,
                   "query": rng.choice(questions), "decision": outcome, "ambiguous": False,
                   "article_id": article, "certainty": rng.random(), "created_at": t,
                   "hits": [], "thresholds": {}, "audience": "public"})
        made += 1
        if channel == "webchat" and outcome == "answer" and rng.random() < 0.6:
            helped = rng.random() < 0.65
            rows.append({"kind": "feedback", "session_id": sid, "article_id": article,
                       "deflected": helped, "created_at": t + timedelta(seconds=40),
                       "hits": [], "thresholds": {}})
            made += 1
            if helped and rng.random() < 0.6:
                rows.append({"kind": "csat", "session_id": sid, "csat": rng.choice(
                    (3, 4, 4, 5, 5, 5)), "created_at": t + timedelta(seconds=60),
                    "hits": [], "thresholds": {}})
                made += 1
        if channel == "webchat" and outcome != "answer" and rng.random() < 0.45:
            ticket_id += 1
            created = t + timedelta(minutes=2)
            hours = rng.lognormvariate(2.5, 1.0)
            resolved = created + timedelta(hours=hours)
            high = rng.random() < 0.25
            tickets.append({"id": ticket_id, "number": 10000 + ticket_id, "session_id": sid,
                            "email": "c@example.com", "summary": "bench", "details": "",
                            "transcript": [], "tried_articles": [], "channel": "webchat",
                            "priority": "high" if high else "normal", "handoff": high,
                            "status": "resolved" if resolved < now else "open",
                            "created_at": created, "updated_at": created,
                            "resolved_at": resolved if resolved < now else None})
            rows.append({"kind": "handoff" if high else "ticket", "session_id": sid,
                       "ticket_id": ticket_id, "created_at": created, "hits": [],
                       "thresholds": {}})
            made += 1
            reply = created + timedelta(hours=min(hours, rng.lognormvariate(0.5, 0.8)))
            if reply < now:
                messages.append({"session_id": sid, "ticket_id": ticket_id, "sender": "rep",
                                 "text": "On it", "data": {}, "created_at": reply})
        messages.append({"session_id": sid, "sender": "customer", "text": "question",
                         "data": {}, "created_at": t})
        if len(rows) >= BATCH:
            flush()
    flush(final=True)
    maintain(db)


def maintain(db: Database) -> None:
    """What autovacuum does to a table that keeps receiving rows (PostgreSQL 13+ vacuums after
    inserts too): statistics, and the visibility map that lets the covering report index
    answer without reading the table. SQLite: statistics for its planner."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql"
                          else "ANALYZE"))


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time in ms."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return statistics.median(out)


def figures_of(overview: object) -> list[tuple[object, ...]]:
    return [(f.key, f.value, f.previous, f.daily) for f in overview.figures]  # type: ignore[attr-defined]


def measure_overview(db: Database, analytics: Analytics, now: datetime) -> dict[str, object]:
    """The overview (30 days against the 30 before) read live (``Metrics``, what it was
    before the rollup) and through the daily rollup (``RolledMetrics``, what the service
    runs): the first read after the events were loaded (it rolls up the 60 closed days),
    the next ones, and one right after a new event (its hour is refreshed first)."""
    month = analytics.period(days=30, now=now)
    live = Metrics(db)
    started = time.perf_counter()
    rolled_figures = figures_of(analytics.overview(month))
    first = (time.perf_counter() - started) * 1000
    same = rolled_figures == figures_of(build(live, month))
    times: dict[str, list[float]] = {"live": [], "rolled": [], "new": []}
    for i in range(5):  # in turns: the same load for both
        times["live"].append(timed(lambda: build(live, month), 1))
        times["rolled"].append(timed(lambda: analytics.overview(month), 1))
        with db.engine.begin() as conn:
            conn.execute(insert(Event), [{**EVENT, "kind": "decision", "decision": "answer",
                                          "session_id": f"bench-new-{i}", "ambiguous": False,
                                          "created_at": now - timedelta(minutes=1)}])
        times["new"].append(timed(lambda: analytics.overview(month), 1))
    same = same and figures_of(analytics.overview(month)) == figures_of(build(live, month))
    out: dict[str, object] = {k: statistics.median(v) for k, v in times.items()}
    out.update(first=first, same=same)
    return out


def measure(db: Database, analytics: Analytics,
            now: datetime) -> tuple[int, float, float, dict[str, object], float, float]:
    """Events, count(*) ms, full-scan ms, overview ms (live, rolled up, first, after a new
    event, same figures), first report ms, warm report ms."""

    def count() -> int:
        with db.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar() or 0)

    def scan() -> object:
        with db.engine.connect() as conn:
            return conn.execute(text(
                "SELECT kind, count(*), max(created_at) FROM events GROUP BY kind")).all()

    week = analytics.period(days=7, now=now)
    total = count()
    counted = timed(count, 5)
    base = timed(scan, 3)
    overview = measure_overview(db, analytics, now)
    started = time.perf_counter()
    analytics.report(week)
    cold = (time.perf_counter() - started) * 1000
    report = timed(lambda: analytics.report(week))
    return total, counted, base, overview, cold, report


def run(url: str, label: str, sizes: list[int], per_day: int, embedder: object,
        questions: list[str], work: Path) -> list[str]:
    rows = []
    for size in sizes:
        if url.startswith("sqlite"):
            url = f"sqlite:///{work / f'bench-{size}.db'}"
        db = Database(url)
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        db.migrate()
        now = datetime.now(UTC)
        started = time.perf_counter()
        generate(db, size, per_day, now, questions)
        load_s = time.perf_counter() - started
        settings = Settings(_env_file=None, data_dir=work,  # type: ignore[call-arg]
                            database_url=url)
        analytics = Analytics(db, settings, embed=embedder.embed,  # type: ignore[attr-defined]
                              closest=lambda q: None)

        total, counted, base, overview, cold, report = measure(db, analytics, now)
        live, rolled = float(overview["live"]), float(overview["rolled"])  # type: ignore[arg-type]
        rows.append(
            f"{label:10} {total:>9,} events ({size / per_day:6.1f} days, loaded in "
            f"{load_s:5.1f} s)  count(*) {counted:6.1f} ms, full scan {base:7.1f} ms | "
            f"overview 30 d: live {live:7.1f} ms ({live / base:5.1f}×), rolled up "
            f"{rolled:7.1f} ms ({rolled / base:5.1f}×, {rolled / live:4.2f} of live), after a "
            f"new event {overview['new']:7.1f} ms, first (rolls up 60 days) "
            f"{overview['first']:7.0f} ms, "
            f"{'same figures' if overview['same'] else 'FIGURES DIFFER'} | "
            f"report 7 d {report:7.1f} ms ({report / base:5.1f}×), first report {cold:7.0f} ms")
        print(rows[-1], flush=True)
        db.dispose()
    return rows


def metrics_at(rev: str) -> type:
    """The ``Metrics`` class of ``frontline/analytics/metrics.py`` at git revision ``rev``."""
    source = subprocess.run(["git", "show", f"{rev}:frontline/analytics/metrics.py"],
                            cwd=HERE.parent, capture_output=True, text=True, check=True).stdout
    name = f"metrics_at_{rev}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, f"{rev}:frontline/analytics/metrics.py", "exec"), module.__dict__)
    return module.Metrics  # type: ignore[no-any-return]


def compare(url: str, label: str, sizes: list[int], per_day: int, questions: list[str],
            work: Path, rev: str, embedder: object, schema: str = "0004") -> list[str]:
    old_metrics = metrics_at(rev)
    rows = []
    for size in sizes:
        if url.startswith("sqlite"):
            url = f"sqlite:///{work / f'compare-{size}.db'}"
        rows.append(compare_one(url, label, size, per_day, questions, rev, old_metrics,
                                embedder, schema))
        print(rows[-1], flush=True)
    return rows


def compare_one(url: str, label: str, size: int, per_day: int, questions: list[str],
                rev: str, old_metrics: type, embedder: object, schema: str = "0004") -> str:
    from alembic import command
    from alembic.config import Config

    from frontline.db.engine import MIGRATIONS

    db = Database(url)
    if url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:  # the schema REV's code ran on
        config.attributes["connection"] = connection
        command.upgrade(config, schema)
    now = datetime.now(UTC)
    generate(db, size, per_day, now, questions)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    analytics = Analytics(db, settings, embed=embedder.embed,  # type: ignore[attr-defined]
                          closest=lambda q: None)
    month = analytics.period(days=30, now=now)
    week = analytics.period(days=7, now=now)

    def scan() -> object:
        with db.engine.connect() as conn:
            return conn.execute(text(
                "SELECT kind, count(*), max(created_at) FROM events GROUP BY kind")).all()

    # Today's overview reads a period on one connection (``Metrics.reading``); REV's has none.
    before_class = type("Before", (old_metrics,), {"reading": lambda self: nullcontext(),
                                                    "prepare": lambda self, *periods: None})
    old = before_class(db)
    before = timed(lambda: build(old, month), 5)
    base_before = timed(scan, 3)
    db.migrate()  # today's schema (the report indexes, the daily rollup: it marks every hour)
    maintain(db)
    new = RolledMetrics(db)
    figures_old = [(f.key, f.value, f.previous) for f in build(old, month).figures]
    figures_new = [(f.key, f.value, f.previous) for f in build(new, month).figures]
    same = "same figures" if figures_old == figures_new else "FIGURES DIFFER"
    times: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(5):  # in turns: the same load for both
        times["old"].append(timed(lambda: build(old, month), 1))
        times["new"].append(timed(lambda: build(new, month), 1))
    old_ms, new_ms = (statistics.median(times[k]) for k in ("old", "new"))
    base = timed(scan, 3)
    analytics.report(week)  # embeds the gap questions once, as a running service does
    report = timed(lambda: analytics.report(week))
    db.dispose()
    return (f"{label:10} {size:>9,} events, overview 30 d: {rev} on its schema "
            f"{before:7.1f} ms ({before / base_before:4.1f}× full scan {base_before:.0f} ms)"
            f" | {rev} on today's schema {old_ms:7.1f} ms | today {new_ms:7.1f} ms "
            f"({new_ms / base:4.1f}× full scan {base:.0f} ms) | today / {rev} on its schema: "
            f"{new_ms / before:.2f} | {same} | today's report 7 d {report:7.1f} ms "
            f"({report / base:4.1f}×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--per-day", type=int, default=4000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument("--against", metavar="REV", default=None,
                        help="compare the overview with the metrics of this git revision")
    parser.add_argument("--schema", default="0004",
                        help="with --against: the migration REV's code ran on (0006 before "
                             "the daily rollup)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    questions = [q.question for q in load_questions(HERE / "data/sample_kb_questions.yml")]
    if args.against:
        embedder = SentenceTransformerEmbedder(default_embedding_model())
        work = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
        rows = []
        if args.only in (None, "sqlite"):
            rows += compare(f"sqlite:///{work / 'x.db'}", "SQLite", sizes, args.per_day,
                            questions, work, args.against, embedder, args.schema)
        if args.only in (None, "postgresql"):
            from tests.support.postgres import postgres_server

            with postgres_server() as url:
                rows += compare(url, "PostgreSQL", sizes, args.per_day, questions, work,
                                args.against, embedder, args.schema)
        print("\n".join(["", "summary:", *rows]))
        return
    embedder = SentenceTransformerEmbedder(default_embedding_model())
    embedder.embed(["warm up"])
    work = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    rows: list[str] = []
    if args.only in (None, "sqlite"):
        rows += run(f"sqlite:///{work / 'bench.db'}", "SQLite", sizes, args.per_day, embedder,
                    questions, work)
    if args.only in (None, "postgresql"):
        from tests.support.postgres import pg_bin, postgres_server

        if pg_bin() is None:
            print("PostgreSQL is not installed: skipped (apt-get install postgresql)")
        else:
            with postgres_server() as url:
                rows += run(url, "PostgreSQL", sizes, args.per_day, embedder, questions, work)
    print("\n".join(["", "summary:", *rows]))


if __name__ == "__main__":
    main()
