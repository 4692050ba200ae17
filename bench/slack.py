"""How fast the Slack app answers, through the real service (uvicorn on 127.0.0.1, the real Bolt
adapter, the real retriever and database) and the Slack stub — each figure next to a baseline
measured in the same run, and as a ratio of it.

    .venv/bin/python bench/slack.py [--requests 60] [--threads 40]

* ``/ask`` request → ack (HTTP answer to Slack; must stay far under Slack's 3 s), and request →
  suggestions posted (they reach the command's ``response_url``), with 1 and with 10 reps
  asking at once (each rep asks again once their suggestions arrived);
* customer → Slack thread: a customer's message in a live handoff (``POST /chat``) until the
  stub receives it as a reply in the ticket's thread (through the retry queue);
* baseline: a ``GET /healthz`` round trip, and a signed ``url_verification`` through Bolt (the
  adapter's own floor: signature check, no listener).

Builds a throwaway index of the sample KB; no Rasa is needed (the handoff has the chat). At
most a few hundred requests.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import string
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvicorn
from slack_sdk.web.async_client import AsyncWebClient

from frontline.api.app import create_app
from frontline.evaluation.metrics import load_questions
from frontline.knowledge import default_embedding_model
from frontline.rasa import free_port
from frontline.settings import Settings
from indexer import SentenceTransformerEmbedder, build_index
from tests.support.slack_api import SlackStub
from tests.support.slack_signing import command_body, signed_headers, url_verification_body

HERE = Path(__file__).resolve().parent
TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret-0123456789abcdef"
TICKETS = "C0TICKETS"


class TimedStub(SlackStub):
    """The stub, noting when each call arrived (monotonic seconds)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.arrivals: list[tuple[float, str, dict[str, Any]]] = []

    def handle(self, method: str, params: dict[str, Any],
               token: str | None) -> tuple[int, dict[str, str], bytes]:
        self.arrivals.append((time.perf_counter(), method, params))
        return super().handle(method, params, token)


class ResponseUrls:
    """Where the /ask answers go (each command's ``response_url``): notes when each arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.events: dict[str, threading.Event] = {}
        self.ok: dict[str, bool] = {}  # False: the answer was the "couldn't search" error
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.path.rsplit("/", 1)[-1]
                outer.arrived[key] = time.perf_counter()
                outer.ok[key] = "couldn't search" not in body.decode("utf-8", "replace")
                if key in outer.events:
                    outer.events[key].set()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def expect(self, key: str) -> threading.Event:
        self.events[key] = threading.Event()
        return self.events[key]

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/commands/{key}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Service:
    """The Frontline service in a background thread (uvicorn), Slack pointed at the stub."""

    def __init__(self, settings: Settings, stub: TimedStub) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, slack_client=AsyncWebClient(token=TOKEN,
                                                                    base_url=stub.url))
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Service:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50": statistics.median(ordered),
            "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            "max": ordered[-1]}


def line(name: str, ms: list[float], baseline: float | None = None,
         fields: tuple[str, ...] = ("p50", "p95", "max")) -> str:
    s = stats(ms)
    figures = "  ".join(f"{f} {s[f]:7.1f} ms" for f in fields)
    ratio = f"   ×{s['p50'] / baseline:6.1f} baseline (p50)" if baseline else ""
    return f"  {name:42} n={len(ms):3}  {figures}{ratio}"


def timed(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def ask_round(client: httpx.Client, answers: ResponseUrls, questions: list[str],
              reps: int, total: int) -> tuple[list[float], list[float], int]:
    """``total`` /ask requests from ``reps`` reps at once, each asking again once their
    suggestions arrived: (ack ms, posted ms, requests refused or answers missing or not
    suggestions)."""
    acks: list[float] = []
    posted: list[float] = []
    missing = 0

    def one(n: int) -> None:
        nonlocal missing
        key = uuid.uuid4().hex[:12]
        arrived = answers.expect(key)
        body = command_body("/ask", questions[n % len(questions)],
                            user_id=f"U0REP{n % reps:03d}",
                            channel_id="C0SUPPORT", response_url=answers.url(key))
        headers = signed_headers(SECRET, body)
        started = time.perf_counter()
        response = client.post("/slack/events", content=body, headers=headers)
        acks.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            print(f"  /ask answered HTTP {response.status_code}", file=sys.stderr)
            missing += 1
            return
        if arrived.wait(30) and answers.ok.get(key, False):
            posted.append((answers.arrived[key] - started) * 1000)
        else:
            missing += 1

    with ThreadPoolExecutor(max_workers=reps) as pool:
        list(pool.map(one, range(total)))
    return acks, posted, missing


def thread_delays(client: httpx.Client, stub: TimedStub, services: Any,
                  n: int) -> tuple[list[float], list[float]]:
    """A customer's message in a live handoff → it arrives in the ticket's Slack thread."""
    session = f"bench-handoff-{uuid.uuid4().hex[:8]}"
    ticket = services.handoff.start(session, email="", summary="Bench: a person, please",
                                    details="", transcript=[], tried_articles=[])
    deadline = time.monotonic() + 30
    while not any(
            m == "chat.postMessage" and p.get("channel") == TICKETS and not p.get("thread_ts")
            for _, m, p in stub.arrivals):
        if time.monotonic() > deadline:
            raise RuntimeError("the ticket message never reached the stub")
        time.sleep(0.01)
    time.sleep(0.5)  # let the ticket message's update go by
    delays, turns = [], []
    for i in range(n):
        # letters only: digits could be masked as a phone number on the way
        text = "bench message " + "".join(random.choices(string.ascii_lowercase, k=10))
        started = time.perf_counter()
        client.post("/chat", json={"session_id": session, "message": text}).raise_for_status()
        turns.append((time.perf_counter() - started) * 1000)
        arrived = None
        wait_until = time.monotonic() + 10
        while arrived is None and time.monotonic() < wait_until:
            for at, method, params in reversed(stub.arrivals):
                if method == "chat.postMessage" and params.get("thread_ts") and \
                        text in str(params.get("text", "")):
                    arrived = at
                    break
            else:
                time.sleep(0.002)
        if arrived is None:
            raise RuntimeError(f"message {i} never reached the thread")
        delays.append((arrived - started) * 1000)
    services.handoff.end(ticket.number, by="bench")
    return delays, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=60,
                        help="/ask requests with 1 rep (10 reps: 2.5× as many)")
    parser.add_argument("--threads", type=int, default=40,
                        help="customer messages in the handoff")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-slack-"))
    answers = ResponseUrls()
    try:
        kb = HERE.parent / "knowledge_base"
        build_index(kb, work / "index", SentenceTransformerEmbedder(default_embedding_model()))
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, kb_dir=kb, data_dir=work,
            database_url=f"sqlite:///{work / 'frontline.db'}",
            rasa_url=f"http://127.0.0.1:{free_port()}",  # not needed: the handoff has the chat
            slack_bot_token=TOKEN, slack_signing_secret=SECRET,
            slack_tickets_channel=TICKETS,
            chat_rate_limit=10_000,  # one bench "customer" sends faster than a person would
        )
        questions = [q.question for q in load_questions(HERE / "data/sample_kb_questions.yml")]
        stub = TimedStub(token=TOKEN)
        with stub, Service(settings, stub) as service, \
                httpx.Client(base_url=service.url, timeout=30,
                             limits=httpx.Limits(max_connections=20)) as client:
            verify = url_verification_body("bench")

            def bolt_floor() -> None:
                client.post("/slack/events", content=verify,
                            headers=signed_headers(SECRET, verify)).raise_for_status()

            def health() -> None:
                client.get("/healthz").raise_for_status()

            for _ in range(5):  # warm up: model, index, connections, the app's auth.test
                health()
                bolt_floor()
            ask_round(client, answers, questions, 1, 5)

            healthz = timed(health, 100)
            floor = timed(bolt_floor, 100)
            base = stats(healthz)["p50"]
            one_ack, one_posted, one_failed = ask_round(client, answers, questions, 1,
                                                        args.requests)
            ten_ack, ten_posted, ten_failed = ask_round(client, answers, questions, 10,
                                                        int(args.requests * 2.5))
            delays, turns = thread_delays(client, stub, service.app.state.services,
                                          args.threads)

        print("Slack app, through the real service and the Slack stub on 127.0.0.1")
        print("baseline (same run)")
        print(line("GET /healthz round trip", healthz))
        print(line("signed url_verification via Bolt", floor, base))
        print("/ask, 1 rep at a time")
        print(line("request → ack", one_ack, base))
        print(line("request → suggestions posted", one_posted, base, ("p50", "p95")))
        print("/ask, 10 reps at once")
        print(line("request → ack", ten_ack, base))
        print(line("request → suggestions posted", ten_posted, base, ("p50", "p95")))
        print("live handoff")
        print(line("POST /chat (customer's message) round trip", turns, base, ("p50", "p95")))
        print(line("customer → Slack thread", delays, base, ("p50", "p95")))
        worst_ack = max(stats(one_ack)["max"], stats(ten_ack)["max"])
        print(f"slowest ack {worst_ack:.0f} ms (Slack gives up at 3,000 ms); "
              f"/ask requests refused, or answers missing or not suggestions: "
              f"{one_failed + ten_failed}")
    finally:
        answers.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
