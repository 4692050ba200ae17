"""The channel-agnostic chat turn: ordering, handoff routing and the assistant being down."""

from __future__ import annotations

import asyncio
from typing import Any

from frontline.analytics import EventLog
from frontline.db import Database
from frontline.errors import AssistantUnavailable
from frontline.notify import Notifier
from frontline.support import ChatService, Conversations, Handoff
from frontline.ticketing import SqlTicketBackend

SESSION = "session-race-123"


class SlowAssistant:
    """Rasa stand-in: 'person' starts a handoff midway through its (slow) turn, the way the
    handoff action does while Rasa is still answering."""

    def __init__(self, handoff: Handoff) -> None:
        self.handoff = handoff
        self.seen: list[str] = []
        self.down = False

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        if self.down:
            raise AssistantUnavailable("ConnectError: refused")
        self.seen.append(text)
        if "person" in text:
            await asyncio.sleep(0.2)
            await asyncio.to_thread(self.handoff.start, sender, email="", summary="a person",
                                    details="", transcript=[], tried_articles=[])
            await asyncio.sleep(0.2)
            return [{"recipient_id": sender, "text": "A person will take over."}]
        return [{"recipient_id": sender, "text": f"echo {text}"}]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


class Relayed:
    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None

    def customer_message(self, ticket: Any, text: str) -> None:
        self.messages.append((ticket.number, text))


def _service(database: Database) -> tuple[ChatService, SlowAssistant, Relayed]:
    notifier = Notifier()
    relayed = Relayed()
    notifier.subscribe(relayed)  # type: ignore[arg-type]
    conversations = Conversations(database)
    tickets = SqlTicketBackend(database, notifier)
    events = EventLog(database)
    handoff = Handoff(conversations, tickets, events, notifier)
    assistant = SlowAssistant(handoff)
    return ChatService(assistant, conversations, tickets, events, handoff), assistant, relayed


def test_a_handoff_that_starts_mid_turn_takes_the_next_message(database: Database) -> None:
    service, assistant, relayed = _service(database)

    async def both() -> tuple[list[Any], list[Any]]:
        first = asyncio.create_task(service.handle(SESSION, "I want a person"))
        await asyncio.sleep(0.05)  # the second message arrives while the first is handled
        second = asyncio.create_task(service.handle(SESSION, "my order 1234 is late"))
        return await first, await second

    first, second = asyncio.run(both())
    assert [m.text for m in first] == ["A person will take over."]
    assert [m.text for m in second] == ["Sent to our support team — they'll reply here."]
    assert assistant.seen == ["I want a person"]  # never forwarded to the assistant
    ticket_id = service.conversations.handoff_ticket(SESSION)
    stored = service.conversations.messages(SESSION, senders=("customer",))
    assert [(m.text, m.ticket_id) for m in stored] == [
        ("I want a person", None), ("my order 1234 is late", ticket_id)]
    assert [text for _, text in relayed.messages] == ["my order 1234 is late"]


def test_a_retried_send_is_answered_again_and_stored_once(database: Database) -> None:
    service, assistant, _ = _service(database)
    first = asyncio.run(service.handle(SESSION, "hello", client_id="c-1"))
    again = asyncio.run(service.handle(SESSION, "hello", client_id="c-1"))
    assert [m.text for m in first] == [m.text for m in again] == ["echo hello"]
    assert assistant.seen == ["hello"]
    assert len(service.conversations.messages(SESSION, senders=("customer",))) == 1


def test_assistant_down_keeps_the_words_and_an_email_files_them(database: Database) -> None:
    service, assistant, _ = _service(database)
    assistant.down = True
    told = asyncio.run(service.handle(SESSION, "my export is stuck since Monday"))
    assert "can't reach our assistant" in told[0].text
    filed = asyncio.run(service.handle(SESSION, "it's jane@example.com"))
    assert "ticket #10001" in filed[0].text and "jane@example.com" in filed[0].text
    ticket = service.tickets.get(10001)
    assert ticket.email == "jane@example.com" and "export is stuck" in ticket.details
    stored = service.conversations.messages(SESSION, senders=("bot",))
    assert "jane@example.com" not in stored[-1].text  # the stored confirmation is masked


def test_a_pasted_log_reaches_the_assistant_as_its_salient_part(database: Database) -> None:
    service, assistant, _ = _service(database)
    lines = [f"2026-11-30 10:{i % 60:02d}:00 INFO sync heartbeat ok batch={i}" for i in range(600)]
    text = ("Since this morning the Jira sync keeps failing. Reach me at jane@example.com.\n"
            + "\n".join(lines) + "\n2026-11-30 11:00:00 ERROR TL-429 too many requests\n"
            "What should we change so the sync works again?")
    assert len(text) > 28_000
    asyncio.run(service.handle(SESSION, text))
    (sent,) = assistant.seen
    assert len(sent) <= service.assistant_max_chars
    assert "TL-429" in sent and "What should we change" in sent and "Jira sync" in sent
    (stored,) = service.conversations.messages(SESSION, senders=("customer",))
    assert len(stored.text) > 28_000 and "[email]" in stored.text  # kept whole, masked
    assert "jane@example.com" not in stored.text
