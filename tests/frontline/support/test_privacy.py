"""Privacy operations on SQLite and PostgreSQL, with a Rasa tracker store of Rasa's shape:
export finds one customer's data and nobody else's, erase leaves no trace of it in any table of
either database, purge drops old transcripts and keeps recent ones."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text, update

from frontline.analytics import EventLog
from frontline.db import (
    ChatSession,
    Database,
    Event,
    Message,
    ProcessFeedback,
    SlackOutbox,
    SlackThread,
    Ticket,
)
from frontline.settings import Settings
from frontline.support.conversations import NOTE, REP, Conversations
from frontline.support.privacy import Privacy
from frontline.ticketing import SqlTicketBackend

ANN, BOB = "Ann.Lee@Example.com", "bob@example.org"
ANN_WORDS, BOB_WORDS = "zebracorn", "quokkaberry"  # words only each customer typed


def make_tracker(path: Path) -> Path:
    """An SQLite file with the ``events`` table of Rasa's SQLTrackerStore (SQLEvent)."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)")
        connection.execute("CREATE INDEX ix_events_sender_id ON events (sender_id)")
    return path


def track(path: Path, sender: str, said: str, *, when: float | None = None) -> None:
    """One user turn and the bot's reply, as Rasa stores them (raw text in ``data``)."""
    when = datetime.now(UTC).timestamp() if when is None else when
    user = {"event": "user", "timestamp": when, "text": said,
            "parse_data": {"intent": {"name": "kb_question"}, "text": said}}
    bot = {"event": "bot", "timestamp": when + 1, "text": "Here is what I found."}
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) "
            "VALUES (?, 'user', ?, 'kb_question', ?)", (sender, when, json.dumps(user)))
        connection.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, action_name, data) "
            "VALUES (?, 'bot', ?, 'utter_answer', ?)", (sender, when + 1, json.dumps(bot)))


def customer(db: Database, tracker: Path, email: str, words: str, sid: str) -> Ticket:
    """A customer who chatted, filed a ticket, had it posted to Slack and noted by a rep."""
    chats, tickets, events = Conversations(db), SqlTicketBackend(db), EventLog(db)
    track(tracker, sid, f"my {words} invoice is wrong, write to {email}")
    chats.add_customer(sid, f"my {words} invoice is wrong, write to {email}")
    events.record("decision", session_id=sid, query=f"{words} invoice", decision="abstain")
    ticket = tickets.create(email=email, summary=f"{words} invoice wrong",
                            details=f"the {words} line", session_id=sid,
                            transcript=[{"sender": "customer", "text": f"{words} invoice"}])
    events.record("ticket", session_id=sid, ticket_id=ticket.id)
    chats.start_handoff(sid, ticket.id)
    chats.add(sid, REP, f"Looking at your {words} invoice", ticket_id=ticket.id)
    chats.add(sid, NOTE, f"{words}: refund approved", ticket_id=ticket.id)
    with db.session() as session:
        session.add(SlackThread(ticket_id=ticket.id, channel="C1", ts="1.1"))
        session.add(SlackOutbox(key=f"ticket:{ticket.id}", method="chat.postMessage",
                                ticket_id=ticket.id, params={"text": f"{words} invoice"},
                                status="sent"))
        session.add(ProcessFeedback(rep="U1", area="billing", impact="low", ticket_id=ticket.id,
                                    what_happened="invoices need a clearer layout"))
    return ticket


def privacy_for(db: Database, tmp_path: Path, tracker: Path) -> Privacy:
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        rasa_tracker_url=f"sqlite:///{tracker}")
    return Privacy(db, settings)


def everything(url: str) -> str:
    """Every row of every table of a database, as one text to search."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = [f"{name}: {row}" for name in inspect(connection).get_table_names()
                    for row in connection.execute(text(f'SELECT * FROM "{name}"')).all()]
    finally:
        engine.dispose()
    return "\n".join(rows).lower()


def test_export_finds_all_of_one_customer_and_nothing_of_another(database: Database,
                                                                 tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path / "rasa-tracker.db")
    ann = customer(database, tracker, ANN, ANN_WORDS, "sess-ann")
    customer(database, tracker, BOB, BOB_WORDS, "sess-bob")
    # A conversation without a ticket in which Ann typed her address: only Rasa has it clear.
    track(tracker, "sess-ann-earlier", f"hello, I am {ANN.upper()} and my order is late")
    Conversations(database).add_customer("sess-ann-earlier", f"I am {ANN} and it is late")

    data = privacy_for(database, tmp_path, tracker).export(ANN.upper())
    dumped = json.dumps(data)
    assert BOB_WORDS not in dumped and BOB not in dumped and "sess-bob" not in dumped
    assert [t["number"] for t in data["tickets"]] == [ann.number]
    ticket = data["tickets"][0]
    assert ticket["email"] == ANN.lower() and ANN_WORDS in ticket["summary"]
    assert ticket["transcript"][0]["text"] == f"{ANN_WORDS} invoice"
    assert [n["text"] for n in ticket["notes"]] == [f"{ANN_WORDS}: refund approved"]
    sessions = {s["session_id"]: s for s in data["sessions"]}
    assert set(sessions) == {"sess-ann", "sess-ann-earlier"}
    chat = sessions["sess-ann"]
    assert chat["handoff_active"] is True
    assert [m["sender"] for m in chat["messages"]] == ["customer", "rep"]
    assert "[email]" in chat["messages"][0]["text"]  # masked when it was stored
    assert [e["kind"] for e in chat["events"]] == ["decision", "ticket"]
    assert sessions["sess-ann-earlier"]["messages"][0]["text"] == "I am [email] and it is late"
    assert data["slack_messages"] == [{"ticket_number": ann.number, "channel": "C1",
                                       "ts": "1.1"}]
    assert data["process_feedback"][0]["ticket_number"] == ann.number
    rasa = data["rasa_tracker"]
    assert rasa["available"] is True
    assert {e["sender_id"] for e in rasa["events"]} == {"sess-ann", "sess-ann-earlier"}
    assert len(rasa["events"]) == 4
    assert ANN in rasa["events"][0]["data"]["text"]  # Rasa's copy is the raw text

    nobody = privacy_for(database, tmp_path, tracker).export("nobody@example.net")
    assert nobody["tickets"] == nobody["sessions"] == nobody["rasa_tracker"]["events"] == []


def test_erase_leaves_no_trace_and_keeps_other_customers(database: Database,
                                                         tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path / "rasa-tracker.db")
    customer(database, tracker, ANN, ANN_WORDS, "sess-ann")
    bob = customer(database, tracker, BOB, BOB_WORDS, "sess-bob")
    track(tracker, "sess-ann-earlier", f"hello, I am {ANN} ({ANN_WORDS})")
    Conversations(database).add_customer("sess-ann-earlier", f"about {ANN_WORDS}")
    with database.session() as session:
        events_before = len(session.scalars(select(Event)).all())

    counts = privacy_for(database, tmp_path, tracker).erase(ANN)

    assert counts == {"tickets": 1, "messages": 4, "chat_sessions": 1, "slack_threads": 1,
                      "slack_outbox": 1, "events_anonymised": 2,
                      "process_feedback_unlinked": 1, "email_tokens": 0, "rasa_events": 4}
    ours, rasa = everything(database.url), everything(f"sqlite:///{tracker}")
    for words in (ANN.lower(), ANN_WORDS, "sess-ann"):
        assert words not in ours and words not in rasa, words
    for words in (BOB, BOB_WORDS, "sess-bob"):
        assert words in ours and words in rasa, words
    with database.session() as session:
        # The report figures survive: every event row is still there, just unlinked.
        assert len(session.scalars(select(Event)).all()) == events_before
        assert session.scalar(select(Ticket.id)) == bob.id
        # The rep's feedback stays (their words, not the customer's), no longer linked.
        linked = session.scalars(select(ProcessFeedback.ticket_id)).all()
        assert sorted(linked, key=lambda i: i or 0) == [None, bob.id]
    again = privacy_for(database, tmp_path, tracker).erase(ANN)
    assert set(again.values()) == {0}


def test_export_and_erase_without_a_tracker_database(database: Database,
                                                     tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tracker.db"
    customer(database, make_tracker(tmp_path / "other.db"), ANN, ANN_WORDS, "sess-ann")
    privacy = privacy_for(database, tmp_path, missing)
    data = privacy.export(ANN)
    assert data["rasa_tracker"]["available"] is False
    assert "does not exist" in data["rasa_tracker"]["detail"]
    assert len(data["tickets"]) == 1
    assert privacy.erase(ANN)["tickets"] == 1
    assert not missing.exists()  # reading never creates it


def test_purge_removes_old_transcripts_and_keeps_recent_ones(database: Database,
                                                             tmp_path: Path) -> None:
    tracker = make_tracker(tmp_path / "rasa-tracker.db")
    chats, tickets, events = Conversations(database), SqlTicketBackend(database), \
        EventLog(database)
    old = datetime.now(UTC) - timedelta(days=40)
    # An old conversation, an old resolved ticket, an old open ticket, and recent ones.
    chats.add_customer("sess-old", "old words about a lost parcel")
    chats.add_customer("sess-old-open", "still waiting on my refund")
    chats.add_customer("sess-new", "new words about a late parcel")
    resolved = tickets.create(email=ANN, summary="lost parcel", session_id="sess-old-ticket",
                              transcript=[{"sender": "customer", "text": "lost parcel"}])
    chats.add_customer("sess-old-ticket", "lost parcel, please help")
    tickets.update(resolved.number or 0, status="resolved", note="refunded the parcel")
    still_open = tickets.create(email=BOB, summary="refund pending", session_id="sess-old-open",
                                transcript=[{"sender": "customer", "text": "refund please"}])
    events.record("decision", session_id="sess-old", query="lost parcel", decision="answer")
    events.record("decision", session_id="sess-new", query="late parcel", decision="answer")
    with database.session() as session:
        session.execute(update(Message).where(Message.session_id != "sess-new")
                        .values(created_at=old))
        session.execute(update(ChatSession).values(updated_at=old))
        session.execute(update(Event).where(Event.session_id == "sess-old")
                        .values(created_at=old))
        session.execute(update(Ticket).where(Ticket.id == resolved.id).values(resolved_at=old))
        session.execute(update(Ticket).where(Ticket.id == still_open.id)
                        .values(created_at=old))
    track(tracker, "sess-old", "old words about a lost parcel", when=old.timestamp())
    track(tracker, "sess-new", "new words about a late parcel")

    counts = privacy_for(database, tmp_path, tracker).purge(30)

    assert counts["messages"] == 3  # sess-old, sess-old-ticket's words and its note
    assert counts["ticket_transcripts"] == 1 and counts["event_queries"] == 1
    assert counts["rasa_events"] == 2
    with database.session() as session:
        left = {(m.session_id, m.text) for m in session.scalars(select(Message)).all()}
        assert left == {("sess-new", "new words about a late parcel"),
                        ("sess-old-open", "still waiting on my refund")}
        by_id = {t.id: t for t in session.scalars(select(Ticket)).all()}
        assert by_id[resolved.id].transcript == [] and by_id[resolved.id].summary
        assert by_id[still_open.id].transcript == [{"sender": "customer",
                                                    "text": "refund please"}]
        queries = sorted((e.session_id, e.query or "") for e in session.scalars(select(Event)))
        assert queries == [("sess-new", "late parcel"), ("sess-old", "")]
    rasa = everything(f"sqlite:///{tracker}")
    assert "lost parcel" not in rasa and "late parcel" in rasa


def frontline(*args: str, data: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("FRONTLINE_")}
    env.update({"FRONTLINE_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"})
    return subprocess.run([sys.executable, "-m", "frontline.cli", "privacy", *args],
                          capture_output=True, text=True, env=env, input=stdin, timeout=120,
                          check=False)


def test_cli_export_and_erase(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = Database(f"sqlite:///{data / 'frontline.db'}")
    db.migrate()
    tracker = make_tracker(data / "rasa-tracker.db")  # the default place, next to our DB
    ann = customer(db, tracker, ANN, ANN_WORDS, "sess-ann")
    customer(db, tracker, BOB, BOB_WORDS, "sess-bob")
    db.dispose()

    exported = frontline("export", "--email", ANN, data=data)
    assert exported.returncode == 0, exported.stderr
    found = json.loads(exported.stdout)
    assert [t["number"] for t in found["tickets"]] == [ann.number]
    assert len(found["rasa_tracker"]["events"]) == 2 and BOB_WORDS not in exported.stdout
    out = tmp_path / "ann.json"
    assert frontline("export", "--email", ANN, "--out", str(out), data=data).returncode == 0
    assert json.loads(out.read_text())["tickets"][0]["number"] == ann.number
    assert frontline("export", "--email", "not-an-email", data=data).returncode == 2

    declined = frontline("erase", "--email", ANN, data=data, stdin="n\n")
    assert declined.returncode == 1 and "1 tickets" in declined.stdout
    erased = frontline("erase", "--email", ANN, "--yes", data=data)
    assert erased.returncode == 0, erased.stderr
    counts = json.loads(erased.stdout)
    assert counts["tickets"] == 1 and counts["rasa_events"] == 2
    ours = everything(f"sqlite:///{data / 'frontline.db'}")
    assert ANN_WORDS not in ours and BOB_WORDS in ours
    assert ANN_WORDS not in everything(f"sqlite:///{tracker}")
    assert json.loads(frontline("export", "--email", ANN, data=data).stdout)["tickets"] == []

    purged = frontline("purge", "--days", "30", data=data)
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["messages"] == 0  # everything left is recent


def test_retention_schedule_purges_at_start_then_again_and_survives_a_failure() -> None:
    import asyncio

    from frontline.support.privacy import retention_schedule

    class Counting:
        def __init__(self) -> None:
            self.days: list[int] = []

        def purge(self, days: int) -> dict[str, int]:
            self.days.append(days)
            if len(self.days) == 1:
                raise RuntimeError("database briefly away")
            return {"messages": 0}

    async def run() -> list[int]:
        privacy = Counting()
        task = asyncio.create_task(retention_schedule(privacy, 30, every_s=0.01))  # type: ignore[arg-type]
        while len(privacy.days) < 3:
            await asyncio.sleep(0.01)
        task.cancel()
        return privacy.days

    assert asyncio.run(asyncio.wait_for(run(), 10))[:3] == [30, 30, 30]


def test_an_unreadable_tracker_is_reported_and_erase_changes_nothing(database: Database,
                                                                     tmp_path: Path) -> None:
    import pytest

    from frontline.errors import DatabaseUnavailable

    broken = tmp_path / "broken-tracker.db"
    broken.write_bytes(b"this is not an SQLite database" * 100)
    customer(database, make_tracker(tmp_path / "other.db"), ANN, ANN_WORDS, "sess-ann")
    privacy = privacy_for(database, tmp_path, broken)
    data = privacy.export(ANN)
    assert data["rasa_tracker"]["available"] is False
    assert "cannot be reached" in data["rasa_tracker"]["detail"]
    assert len(data["tickets"]) == 1 and data["sessions"][0]["session_id"] == "sess-ann"
    with pytest.raises(DatabaseUnavailable):
        privacy.erase(ANN)
    assert len(privacy.export(ANN)["tickets"]) == 1  # nothing half-erased


def test_the_service_purges_at_start_when_retention_is_set(tmp_path: Path, small_kb: Path,
                                                           embedder) -> None:  # type: ignore[no-untyped-def]
    import time

    from fastapi.testclient import TestClient

    from frontline.api.app import create_app
    from frontline.knowledge import KnowledgeBase
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "data", small_kb, retention_days=30)
    db = Database(settings.sqlalchemy_url)
    db.migrate()
    chats = Conversations(db)
    chats.add_customer("sess-old", "an old conversation")
    chats.add_customer("sess-new", "a new conversation")
    with db.session() as session:
        session.execute(update(Message).where(Message.session_id == "sess-old")
                        .values(created_at=datetime.now(UTC) - timedelta(days=31)))
    app = create_app(settings, knowledge=KnowledgeBase(settings, embedder), database=db)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and chats.messages("sess-old"):
            time.sleep(0.05)
        assert chats.messages("sess-old") == []
        assert [m.text for m in chats.messages("sess-new")] == ["a new conversation"]


def test_a_postgresql_tracker_store(database: Database, tmp_path: Path,
                                    postgres_url: str) -> None:
    """Rasa's tracker on PostgreSQL (as in deploy/): found, exported read-only, erased."""
    from sqlalchemy.engine import make_url

    server = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS rasa_tracker_test")
        connection.exec_driver_sql("CREATE DATABASE rasa_tracker_test")
    server.dispose()
    url = make_url(postgres_url).set(database="rasa_tracker_test").render_as_string(
        hide_password=False)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)")
        for sender, said in (("sess-ann", f"I am {ANN}"), ("sess-bob", f"I am {BOB}")):
            connection.execute(text(
                "INSERT INTO events (sender_id, type_name, timestamp, data) "
                "VALUES (:s, 'user', :t, :d)"),
                {"s": sender, "t": datetime.now(UTC).timestamp(),
                 "d": json.dumps({"event": "user", "text": said})})
    engine.dispose()
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        rasa_tracker_url=url)
    privacy = Privacy(database, settings)
    exported = privacy.export(ANN)["rasa_tracker"]
    assert exported["available"] and [e["sender_id"] for e in exported["events"]] == [
        "sess-ann"]
    assert privacy.erase(ANN)["rasa_events"] == 1
    left = everything(url)
    assert ANN.lower() not in left and BOB in left
