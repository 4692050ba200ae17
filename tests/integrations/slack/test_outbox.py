"""The Slack retry queue against the Slack stub (a real HTTP server) and a real database
(SQLite and PostgreSQL): every call arrives once, in order per key, whatever Slack does — 429
with Retry-After, 5xx, an outage, a refused connection, a timeout, a dropped connection — and a
call Slack refuses for good is dropped once, logged once and counted."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from frontline.db import Database, SlackOutbox, SlackThread
from frontline.rasa import free_port
from frontline.ticketing import SqlTicketBackend
from integrations.slack.outbox import RECORDS_TS, Outbox, without_retries
from tests.support.slack_api import SlackStub

TOKEN = "xoxb-test"
CHANNEL = "C0TICKETS"


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(token=TOKEN) as running:
        yield running


def fast_outbox(db: Database, client: AsyncWebClient, **kw: Any) -> Outbox:
    """Back-off small enough for a test (the defaults are 1 s doubling to 5 min)."""
    options: dict[str, Any] = dict(idle_poll_s=0.2, backoff_base_s=0.05, backoff_cap_s=0.2)
    return Outbox(db, client, **{**options, **kw})


def client_for(url: str, **kw: Any) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=url, **kw)


def run_until(outboxes: list[Outbox], done: Callable[[], Any], timeout: float = 15.0) -> float:
    """Run the senders until ``done()`` is true; returns the seconds it took."""

    async def main() -> float:
        start = time.monotonic()
        for outbox in outboxes:
            outbox.start()
        try:
            while not done():
                if time.monotonic() - start > timeout:
                    raise TimeoutError("the outbox did not get there in time")
                await asyncio.sleep(0.02)
            return time.monotonic() - start
        finally:
            for outbox in outboxes:
                await outbox.stop()

    return asyncio.run(main())


def texts(stub: SlackStub, channel: str = CHANNEL) -> list[str]:
    return [m["text"] for m in stub.messages(channel) if not m.get("thread_ts")]


def post(outbox: Outbox, text: str, key: str = "k", channel: str = CHANNEL) -> int:
    return outbox.enqueue(key, "chat.postMessage", {"channel": channel, "text": text})


def statuses(db: Database) -> list[str]:
    with db.session() as session:
        return [row.status for row in session.query(SlackOutbox).order_by(SlackOutbox.id)]


# -- Slack answers badly for a while ----------------------------------------------------------


def test_429_waits_retry_after_and_keeps_the_order(database: Database, stub: SlackStub) -> None:
    outbox = fast_outbox(database, client_for(stub.url))
    for n in range(5):
        post(outbox, f"m{n}")
    stub.fail("chat.postMessage", status=429, retry_after=1, times=2)
    took = run_until([outbox], lambda: len(texts(stub)) == 5)
    assert texts(stub) == ["m0", "m1", "m2", "m3", "m4"]
    assert len(stub.calls_to("chat.postMessage")) == 7  # 2 refused, then each once
    assert took >= 1.9  # Retry-After: 1, twice — honoured, not hammered
    assert outbox.pending() == 0 and outbox.dead() == 0


def test_5xx_is_retried_with_back_off_in_order_per_key(database: Database,
                                                       stub: SlackStub) -> None:
    outbox = fast_outbox(database, client_for(stub.url))
    for n in range(4):
        post(outbox, f"a{n}", key="a")
        post(outbox, f"b{n}", key="b")
    stub.fail("chat.postMessage", status=500, times=3)
    stub.fail("chat.postMessage", status=503, times=2)
    run_until([outbox], lambda: len(texts(stub)) == 8)
    said = texts(stub)
    assert [t for t in said if t.startswith("a")] == ["a0", "a1", "a2", "a3"]
    assert [t for t in said if t.startswith("b")] == ["b0", "b1", "b2", "b3"]
    assert len(said) == len(set(said))
    with database.session() as session:
        retried = session.query(SlackOutbox).filter(SlackOutbox.attempts > 0).all()
        assert retried and all(row.status == "sent" for row in retried)


def test_an_outage_loses_nothing(database: Database, stub: SlackStub) -> None:
    outbox = fast_outbox(database, client_for(stub.url))
    stub.down()
    for n in range(3):
        post(outbox, f"while down {n}")
    run_until([outbox], lambda: len(stub.calls_to("chat.postMessage")) >= 6)
    assert texts(stub) == [] and outbox.pending() == 3
    stub.up()
    run_until([outbox], lambda: len(texts(stub)) == 3)
    assert texts(stub) == ["while down 0", "while down 1", "while down 2"]
    assert outbox.pending() == 0


def test_refused_connection_and_timeout_stay_queued(database: Database,
                                                   stub: SlackStub) -> None:
    def attempt(client: AsyncWebClient) -> SlackOutbox:
        """One pass (a back-off long enough that the pass tries once), then the item."""
        asyncio.run(fast_outbox(database, client, backoff_base_s=30, backoff_cap_s=30).flush())
        with database.session() as session:
            row = session.query(SlackOutbox).one()
            row.next_attempt_at = datetime.now(UTC)  # due again for the next step
            return row

    post(fast_outbox(database, client_for(stub.url)), "first")
    refused = attempt(client_for(f"http://127.0.0.1:{free_port()}/api/"))
    assert (refused.status, refused.attempts) == ("pending", 1)
    assert "Connect" in refused.last_error  # aiohttp's ClientConnectorError

    with silent_server() as port:  # accepts, reads, never answers
        slow = attempt(client_for(f"http://127.0.0.1:{port}/api/", timeout=0.5))
    assert (slow.status, slow.attempts) == ("pending", 2)
    assert "Timeout" in slow.last_error

    back = fast_outbox(database, client_for(stub.url))
    run_until([back], lambda: texts(stub) == ["first"])
    assert statuses(database) == ["sent"]


def test_no_sdk_retry_resends_after_a_dropped_connection(database: Database) -> None:
    """slack_sdk's default handler re-sends after a dropped connection, when Slack may have
    posted already; the queue's client makes each attempt once, and the queue retries."""
    with dropping_server() as (port, requests):
        url = f"http://127.0.0.1:{port}/api/"

        async def sdk_default() -> None:
            client = client_for(url)  # default retry handlers
            with pytest.raises(Exception):  # noqa: B017 - aiohttp's ServerDisconnectedError
                await client.chat_postMessage(channel=CHANNEL, text="x")

        asyncio.run(sdk_default())
        assert wait_count(requests, 2) == 2  # the SDK sent it twice

        requests.clear()
        outbox = fast_outbox(database, client_for(url), backoff_base_s=30, backoff_cap_s=30)
        assert outbox.client.retry_handlers == []
        post(outbox, "once")
        asyncio.run(outbox.flush())
        assert wait_count(requests, 1) == 1
    assert statuses(database) == ["pending"]


def test_without_retries_keeps_the_clients_settings() -> None:
    client = AsyncWebClient(token=TOKEN, base_url="http://127.0.0.1:9/api/", timeout=7)
    copy = without_retries(client)
    assert (copy.token, copy.base_url, copy.timeout) == (TOKEN, client.base_url, 7)
    assert copy.retry_handlers == [] and client.retry_handlers  # the original is untouched


# -- final errors -------------------------------------------------------------------------------


def test_a_final_error_is_dropped_logged_once_and_counted(
    database: Database, stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = fast_outbox(database, client_for(stub.url))
    post(outbox, "lost", channel="not-a-channel")
    post(outbox, "after it")
    with caplog.at_level(logging.ERROR, logger="integrations.slack.outbox"):
        run_until([outbox], lambda: texts(stub) == ["after it"])
        asyncio.run(outbox.flush())
    assert outbox.dead() == 1 and outbox.pending() == 0
    died = [r for r in caplog.records if "failed for good" in r.getMessage()]
    assert len(died) == 1 and "channel_not_found" in died[0].getMessage()
    assert TOKEN not in caplog.text


# -- ticket messages and their threads --------------------------------------------------------


def ticket_id(db: Database) -> int:
    return SqlTicketBackend(db).create(email="", summary="printer on fire").id


def renderer(calls: list[int]) -> Callable[[dict[str, Any]], Any]:
    async def render(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(params["ticket_id"])
        return {"text": f"ticket card v{len(calls)}", "blocks": []}

    return render


def test_a_thread_reply_waits_for_its_ticket_message(database: Database,
                                                    stub: SlackStub) -> None:
    tid = ticket_id(database)
    rendered: list[int] = []
    outbox = fast_outbox(database, client_for(stub.url))
    outbox.renderers[RECORDS_TS] = renderer(rendered)
    key = f"ticket:{tid}"
    outbox.enqueue(key, RECORDS_TS, {"channel": CHANNEL, "ticket_id": tid}, ticket_id=tid)
    outbox.enqueue(key, "chat.postMessage", {"_thread": True, "text": "customer: hello"},
                   ticket_id=tid)
    stub.fail("chat.postMessage", status=500, times=2)
    run_until([outbox], lambda: outbox.pending() == 0)
    [card] = stub.messages(CHANNEL)[:1]
    assert card["text"].startswith("ticket card")
    replies = stub.messages(CHANNEL, thread_ts=card["ts"])
    assert [r["text"] for r in replies] == ["customer: hello"]
    with database.session() as session:
        assert session.get(SlackThread, tid).ts == card["ts"]  # type: ignore[union-attr]

    # Changes in a row coalesce into one pending render, which then updates the message.
    for _ in range(3):
        outbox.enqueue(key, RECORDS_TS, {"channel": CHANNEL, "ticket_id": tid}, ticket_id=tid)
    assert statuses(database).count("pending") == 1
    run_until([outbox], lambda: outbox.pending() == 0)
    updates = stub.calls_to("chat.update")
    assert len(updates) == 1 and updates[0]["ts"] == card["ts"]
    assert len(stub.messages(CHANNEL)) == 2  # the card and its one reply: nothing re-posted


def test_replies_to_a_ticket_message_that_died_die_with_it(database: Database,
                                                           stub: SlackStub) -> None:
    tid = ticket_id(database)
    outbox = fast_outbox(database, client_for(stub.url))
    outbox.renderers[RECORDS_TS] = renderer([])
    key = f"ticket:{tid}"
    outbox.enqueue(key, RECORDS_TS, {"channel": "nope", "ticket_id": tid}, ticket_id=tid)
    outbox.enqueue(key, "chat.postMessage", {"_thread": True, "text": "hello?"}, ticket_id=tid)
    run_until([outbox], lambda: outbox.pending() == 0)
    assert outbox.dead() == 2 and stub.messages() == []


# -- crashes and replicas -----------------------------------------------------------------------


def test_calls_left_sending_by_a_crash_are_sent_once_the_lease_ran_out(
    database: Database, stub: SlackStub
) -> None:
    now = datetime.now(UTC)
    with database.session() as session:
        session.add(SlackOutbox(key="crashed", method="chat.postMessage", status="sending",
                                params={"channel": CHANNEL, "text": "was being sent"},
                                next_attempt_at=now - timedelta(seconds=1)))
        session.add(SlackOutbox(key="live", method="chat.postMessage", status="sending",
                                params={"channel": CHANNEL, "text": "another sender has it"},
                                next_attempt_at=now + timedelta(minutes=5)))
    outbox = fast_outbox(database, client_for(stub.url))
    post(outbox, "behind the live one", key="live")
    run_until([outbox], lambda: texts(stub) == ["was being sent"])
    time.sleep(0.3)
    assert texts(stub) == ["was being sent"]  # the live sender's key stays blocked, in order
    assert outbox.pending() == 2


def test_two_senders_share_the_queue_without_duplicates(database: Database,
                                                       stub: SlackStub) -> None:
    first = fast_outbox(database, client_for(stub.url))
    second = fast_outbox(database, client_for(stub.url))
    for n in range(12):
        post(first, f"x{n:02d}", key=f"k{n % 3}")
    stub.fail("chat.postMessage", status=503, times=4)
    run_until([first, second], lambda: len(texts(stub)) == 12)
    said = texts(stub)
    assert sorted(said) == [f"x{n:02d}" for n in range(12)]
    for k in range(3):
        mine = [t for t in said if int(t[1:]) % 3 == k]
        assert mine == sorted(mine)


# -- servers that misbehave -------------------------------------------------------------------


class _Server:
    def __init__(self, on_connect: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.on_connect = on_connect
        self.stopped = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            self.on_connect(conn)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=2)
        for conn in self.conns:
            conn.close()
        self.sock.close()


class silent_server:
    """Accepts connections and reads, but never answers (a timeout)."""

    def __enter__(self) -> int:
        self.server = _Server(lambda conn: None)
        return int(self.server.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.server.close()


class dropping_server:
    """Reads a request and closes the connection without an answer (a dropped connection)."""

    def __enter__(self) -> tuple[int, list[bytes]]:
        self.requests: list[bytes] = []

        def drop(conn: socket.socket) -> None:
            conn.settimeout(2)
            try:
                self.requests.append(conn.recv(65536))
            finally:
                conn.close()

        self.server = _Server(drop)
        return int(self.server.sock.getsockname()[1]), self.requests

    def __exit__(self, *exc: object) -> None:
        self.server.close()


def wait_count(items: list[Any], at_least: int, settle: float = 0.3) -> int:
    deadline = time.monotonic() + 5
    while len(items) < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(settle)  # and no more after that
    return len(items)
