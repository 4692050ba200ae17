"""Load on the deploy/ cluster (nginx, Frontline and Rasa replicas, PostgreSQL, Redis) with
locust, over loopback, bounded in users and time.

    nice .venv/bin/python bench/load.py [--replicas 2] [--seconds 60] [--levels 1,20,50,100]
                                         [--idle 1000]

Chatting customers do what the widget does (integrations/webchat/static/widget.js): load the
widget script, send a message with a client id, poll ``/chat/history?after=<last id>`` every
3 s while the panel is open and between messages (think time 4-10 s); most messages are KB
questions from the labelled sample-KB set (dev split), one conversation in ten files a
ticket and one in twenty asks for a person. Idle widgets are open panels of earlier
conversations (seeded in the database) that only poll. Before measuring, each replica answers
a few KB questions (not counted), and each level's figures start after its ramp-up: they are
the steady state. Each level prints per-request-kind
p50/p95/p99 (ms), errors, throughput, and the CPU and peak RSS of the Frontline replicas (and
of the Rasa replicas), with each level's chat p95 as a ratio of the 1-customer level measured
in the same run (the machine is shared, so the ratios travel better than the figures).

The rate limits stay on, set high through settings (FRONTLINE_*_RATE_LIMIT below): all
simulated customers share one client address, which the per-address limits would rightly stop.
"""

from __future__ import annotations

# locust patches the standard library with gevent: it must come first.
from locust import FastHttpUser, events, task  # isort: skip
from locust.env import Environment  # isort: skip
import gevent  # isort: skip

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

import psutil
from sqlalchemy.engine import make_url

from deploy.cluster import Cluster, ensure_database
from frontline.db import Database
from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.settings import Settings
from frontline.support.conversations import Conversations
from indexer import SentenceTransformerEmbedder, build_index
from tests.support.postgres import postgres_server
from tests.support.redis import redis_server

REPO = Path(__file__).resolve().parent.parent
POLL_OPEN_S = 3.0  # widget.js POLL_OPEN_MS
THINK_S = (4.0, 10.0)
HIGH_LIMITS = {
    "FRONTLINE_CHAT_RATE_LIMIT": "10000",
    "FRONTLINE_CHAT_ADDRESS_RATE_LIMIT": "1000000/minute",
    "FRONTLINE_HISTORY_RATE_LIMIT": "100000/minute",
    "FRONTLINE_HISTORY_ADDRESS_RATE_LIMIT": "10000000/minute",
    "FRONTLINE_PAGE_RATE_LIMIT": "1000000/minute",
}
TICKET = ["I want to open a support ticket", "sam.lee@example.com",
          "The CSV export from the reports page is empty"]
PERSON = ["I want to talk to a human"]
KINDS = ("chat: kb question", "chat: ticket", "chat: ask for a person", "history poll",
         "widget.js")


def kb_questions() -> list[str]:
    questions = load_questions(REPO / "bench/data/sample_kb_questions.yml")
    return [q.question for q in questions if q.split == "dev" and q.expected
            and q.audience == "public"]


QUESTIONS: list[str] = []
IDLE_SESSIONS: list[str] = []


class Widget(FastHttpUser):
    """Shared by both kinds of visitor: the widget's own requests."""

    abstract = True
    session_id = ""
    last_id = 0

    def poll(self) -> None:
        with self.client.get(f"/chat/history?session_id={self.session_id}&after={self.last_id}",
                             name="history poll", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"history {response.status_code}")
                return
            messages = response.json()["messages"]
            if messages:
                self.last_id = messages[-1]["id"]

    def think(self, seconds: float) -> None:
        """Wait as a customer reading does, while the open panel polls every 3 s."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            gevent.sleep(min(POLL_OPEN_S, left))
            self.poll()


class ChattingCustomer(Widget):
    def wait_time(self) -> float:
        return 0.0

    def on_start(self) -> None:
        self.client.get("/widget.js", name="widget.js")
        self.new_conversation()

    def new_conversation(self) -> None:
        self.session_id = f"load-{uuid.uuid4().hex[:16]}"
        self.last_id = 0

    def say(self, text: str, kind: str) -> None:
        body = {"session_id": self.session_id, "message": text, "client_id": uuid.uuid4().hex}
        with self.client.post("/chat", json=body, name=kind, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"chat {response.status_code}: {response.text[:200]}")
            elif not response.json()["messages"]:
                response.failure("chat answered with no message")

    @task
    def conversation(self) -> None:
        roll = random.random()
        if roll < 0.10:
            for text in TICKET:
                self.say(text, "chat: ticket")
                self.think(random.uniform(*THINK_S))
            self.new_conversation()
        elif roll < 0.15:
            self.say(PERSON[0], "chat: ask for a person")
            self.think(random.uniform(*THINK_S))
            self.new_conversation()  # a rep has it now: this customer's bot turns are over
        else:
            self.say(random.choice(QUESTIONS), "chat: kb question")
            self.think(random.uniform(*THINK_S))


class IdleWidget(Widget):
    """An open panel of an earlier conversation: polls, never types."""

    def wait_time(self) -> float:
        return POLL_OPEN_S

    def on_start(self) -> None:
        self.session_id = random.choice(IDLE_SESSIONS)
        self.last_id = 0
        gevent.sleep(random.uniform(0, POLL_OPEN_S))  # widgets were not all opened at once
        self.client.get("/widget.js", name="widget.js")

    @task
    def idle(self) -> None:
        self.poll()


@dataclass
class Usage:
    cpu_s: float
    rss_peak_mb: float


class Sampler:
    """CPU time and peak RSS of a set of processes (and their children) over a phase."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.peak = 0.0
        self.cpu0 = self.cpu()
        self._run = True
        self._greenlet = gevent.spawn(self._sample)

    def tree(self) -> list[psutil.Process]:
        out = []
        for proc in self.procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                out += [proc, *proc.children(recursive=True)]
        return out

    def cpu(self) -> float:
        total = 0.0
        for proc in self.tree():
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def _sample(self) -> None:
        while self._run:
            rss = 0
            for proc in self.tree():
                with contextlib.suppress(psutil.NoSuchProcess):
                    rss += proc.memory_info().rss
            self.peak = max(self.peak, rss / 2**20)
            gevent.sleep(1.0)

    def stop(self) -> Usage:
        self._run = False
        self._greenlet.join(timeout=5)
        return Usage(self.cpu() - self.cpu0, self.peak)


def run_phase(cluster: Cluster, user: type[Widget], users: int, seconds: float,
              spawn_rate: float) -> dict[str, Any]:
    env = Environment(user_classes=[user], host=cluster.url, events=events)
    runner = env.create_local_runner()
    frontline = Sampler([n.process.pid for n in cluster.nodes if n.process])
    rasa = Sampler([n.rasa.process.pid for n in cluster.nodes if n.rasa.process])
    runner.start(users, spawn_rate=spawn_rate)
    ramp = users / spawn_rate
    gevent.sleep(ramp)
    env.stats.reset_all()  # measure the steady state, not the ramp
    started = time.monotonic()
    frontline.cpu0, rasa.cpu0 = frontline.cpu(), rasa.cpu()
    gevent.sleep(seconds)
    wall = time.monotonic() - started
    rows = {}
    for name in KINDS:
        entry = env.stats.entries.get((name, "POST")) or env.stats.entries.get((name, "GET"))
        if entry is None or entry.num_requests == 0:
            continue
        rows[name] = {
            "n": entry.num_requests, "errors": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "rps": entry.num_requests / wall,
        }
    errors = {f"{e.name}: {e.error}"[:160]: e.occurrences for e in env.stats.errors.values()}
    runner.quit()
    dead = [n for n in cluster.nodes if n.process is None or n.process.poll() is not None]
    for node in dead:
        code = node.process.returncode if node.process else None
        tail = node.log.read_text(errors="replace").splitlines()[-15:]
        print(f"!! Frontline replica {node.name} died (exit {code}); its log ends:", *tail,
              sep="\n", flush=True)
    if dead:
        raise SystemExit(f"a replica died during the phase; logs kept in {cluster.work_dir}")
    fl, ra = frontline.stop(), rasa.stop()
    return {"rows": rows, "errors": errors, "wall": wall, "frontline": fl, "rasa": ra}


def print_phase(label: str, result: dict[str, Any], base_p95: float | None,
                goal: str) -> None:
    wall = result["wall"]
    fl, ra = result["frontline"], result["rasa"]
    print(f"\n== {label} ({wall:.0f} s measured) — goal: {goal}")
    print(f"{'request':<24}{'n':>7}{'err':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'req/s':>8}")
    for name, r in result["rows"].items():
        print(f"{name:<24}{r['n']:>7}{r['errors']:>6}{r['p50']:>9.0f}{r['p95']:>9.0f}"
              f"{r['p99']:>9.0f}{r['rps']:>8.1f}")
    print(f"Frontline replicas: CPU {100 * fl.cpu_s / wall:.0f} % of one core, peak RSS "
          f"{fl.rss_peak_mb:.0f} MB;  Rasa replicas: CPU {100 * ra.cpu_s / wall:.0f} %, peak "
          f"RSS {ra.rss_peak_mb:.0f} MB")
    chat = result["rows"].get("chat: kb question")
    if chat and base_p95:
        print(f"chat-turn p95 / 1-customer p95: {chat['p95'] / base_p95:.2f}")
    for error, count in result["errors"].items():
        print(f"  error ×{count}: {error}")


def seed_idle(database_url: str, count: int) -> None:
    """Earlier conversations for the idle widgets: a question and an answer each."""
    db = Database(database_url)
    conversations = Conversations(db)
    for i in range(count):
        session = f"idle-{i:05d}-{uuid.uuid4().hex[:8]}"
        conversations.add(session, "customer", "how do I export my data?")
        conversations.add(session, "bot", "**Export your data** — Settings → Export.")
        IDLE_SESSIONS.append(session)
    db.dispose()


def warm_up(cluster: Cluster) -> None:
    """A few KB questions to every replica directly: first-call costs are not the load."""
    import httpx

    for node in cluster.nodes:
        for question in QUESTIONS[:3]:
            httpx.post(f"{node.url}/chat", timeout=120, json={
                "session_id": f"warm-up-{uuid.uuid4().hex[:12]}", "message": question})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured per level")
    parser.add_argument("--levels", default="1,20,50,100")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--index", type=Path, help="copy this built index of the sample KB "
                        "instead of building one (repeated runs)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x]
    QUESTIONS.extend(kb_questions())
    work = Path(tempfile.mkdtemp(prefix="frontline-load-"))
    try:
        shared = work / "shared"
        shutil.copytree(REPO / "knowledge_base", work / "kb")
        if args.index:
            shutil.copytree(args.index, shared / "index")
        else:
            print("indexing the sample KB…", flush=True)
            embedder = SentenceTransformerEmbedder(default_embedding_model())
            build_index(work / "kb", shared / "index", embedder)
        settings = Settings(_env_file=None, kb_dir=work / "kb",  # type: ignore[call-arg]
                            data_dir=shared, embedding_model=default_embedding_model())
        with postgres_server() as pg, redis_server() as redis:
            base = make_url(pg)
            database_url = base.set(database="frontline").render_as_string(hide_password=False)
            tracker_url = base.set(database="rasa").render_as_string(hide_password=False)
            ensure_database(database_url)
            print(f"starting the cluster ({args.replicas} Frontline + {args.replicas} Rasa "
                  "replicas behind nginx)…", flush=True)
            with Cluster(settings, work / "run", database_url, tracker_url, redis.url,
                         replicas=args.replicas, env=HIGH_LIMITS) as cluster:
                seed_idle(database_url, args.idle)
                warm_up(cluster)
                print(f"cluster up on {cluster.url}; {len(QUESTIONS)} KB questions; "
                      f"{os.cpu_count()} CPUs (shared), load average "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
                base_p95 = None
                for users in levels:
                    result = run_phase(cluster, ChattingCustomer, users, args.seconds,
                                       spawn_rate=max(1.0, users / 10))
                    chat = result["rows"].get("chat: kb question")
                    if users == levels[0] and chat:
                        base_p95 = chat["p95"]
                    goal = ("chat-turn p95 ≤ 400 ms, 0 errors" if users == 20 else
                            "baseline" if users == levels[0] else "(no goal)")
                    print_phase(f"{users} chatting customers", result, base_p95, goal)
                if args.idle:
                    result = run_phase(cluster, IdleWidget, args.idle, args.seconds,
                                       spawn_rate=args.idle / 10)
                    print_phase(f"{args.idle} idle open widgets polling", result, None,
                                "poll p95 ≤ 50 ms")
    except SystemExit:
        raise
    except BaseException:
        print(f"logs kept in {work}", flush=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
