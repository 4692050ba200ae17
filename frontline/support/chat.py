"""The chat turn, for every channel: a customer's message in, the replies out, nothing lost.

Every customer message is stored before it is forwarded; every reply is stored after. A retry
of a message already handled is answered again from what was stored. When a person has the
conversation, messages go to them, not to the assistant. When the assistant cannot be reached,
the customer is told so honestly, the words are kept, and an email address given meanwhile
turns the kept words into a ticket. The assistant never sees an email, card or phone number in
clear (``frontline.support.vault``).

Turns of one conversation run one at a time (in this process), so a handoff that starts while
a message is being handled takes effect for the next message, never halfway through one.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool

from frontline.analytics import EventLog
from frontline.db.models import Message
from frontline.errors import AssistantUnavailable
from frontline.knowledge.query import salient
from frontline.redaction import find_email
from frontline.support.conversations import BOT, CUSTOMER, Conversations
from frontline.support.handoff import RELAYED, Handoff
from frontline.support.transcript import transcript
from frontline.support.vault import EmailVault
from frontline.ticketing import TicketBackend, propose_summary

logger = logging.getLogger(__name__)

UNAVAILABLE = (
    "Sorry — I can't reach our assistant right now. I've kept your message. If you leave your "
    "email address here, I'll pass everything you wrote to our support team as a ticket; or try "
    "again in a minute."
)
# The assistant answered with nothing it can show (an action failed on its side, or a rule
# ended the turn silently): the customer is told, never left facing silence.
NO_REPLY = (
    "Sorry — I didn't manage to answer that. Could you put it another way? Or I can pass you "
    "to a person."
)
PERSON_BUTTON = {"title": "Talk to a person", "payload": "/human_handoff"}


class Assistant(Protocol):
    """The dialogue engine (the Rasa server, through ``frontline.rasa.RasaClient``)."""

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Replies as Rasa's REST channel gives them; raises ``AssistantUnavailable``."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


@dataclass
class OutMessage:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons, "links": self.links}


def replies_from(items: list[dict[str, Any]]) -> list[OutMessage]:
    """Rasa REST output → messages; a custom ``{"links": [...]}`` joins the message before it
    (Rasa sends custom payloads as separate messages)."""
    out: list[OutMessage] = []
    for item in items:
        custom = item.get("custom") or {}
        links = [
            {"title": str(link.get("title", "")), "url": str(link["url"])}
            for link in custom.get("links", []) if isinstance(link, dict) and link.get("url")
        ] if isinstance(custom, dict) else []
        text = item.get("text") or ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
        ]
        if not text and not buttons and links and out:
            out[-1].links.extend(links)
            continue
        if text or buttons or links:
            out.append(OutMessage(text=text, buttons=buttons, links=links))
    return out


class ChatService:
    def __init__(self, assistant: Assistant, conversations: Conversations,
                 tickets: TicketBackend, events: EventLog, handoff: Handoff,
                 assistant_max_chars: int = 1000) -> None:
        self.assistant = assistant
        self.assistant_max_chars = assistant_max_chars
        self.conversations = conversations
        self.tickets = tickets
        self.events = events
        self.handoff = handoff
        self.vault = EmailVault(conversations.db)
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _turn(self, session_id: str) -> asyncio.Lock:
        lock = self._turns.get(session_id)
        if lock is None:
            lock = asyncio.Lock()
            self._turns[session_id] = lock
        return lock

    async def handle(self, session_id: str, text: str, shown: str | None = None,
                     client_id: str | None = None) -> list[OutMessage]:
        """Forward ``text`` (typed words or a button payload); ``shown`` is what the customer
        saw themselves say (a button's title), which is what the conversation records. A
        ``client_id`` seen before in this session is a retry whose reply was lost: the replies
        recorded after it are returned again and nothing is stored or forwarded twice."""
        lock = self._turn(session_id)
        async with lock:
            return await self._handle(session_id, text, shown, client_id)

    async def _handle(self, session_id: str, text: str, shown: str | None,
                      client_id: str | None) -> list[OutMessage]:
        if client_id:
            replayed = await run_in_threadpool(self._replay, session_id, client_id)
            if replayed is not None:
                earlier, replies, interrupted = replayed
                if not interrupted:
                    return replies
                # Stored, then the turn broke off (the database or this replica went away
                # before a reply was kept): finish it now, without storing the words again.
                return await self._forward(session_id, earlier, text)
        said = shown.strip() if shown and shown.strip() else text
        data: dict[str, Any] = {"payload": text} if said != text else {}
        if client_id:
            data["client_id"] = client_id
        kept, handoff = await run_in_threadpool(self.conversations.add_customer, session_id,
                                                said, data or None)
        if handoff is not None:
            await run_in_threadpool(self.handoff.relay, handoff, kept.text)
            return [OutMessage(text=RELAYED)]
        return await self._forward(session_id, kept, text)

    async def _forward(self, session_id: str, kept: Message, text: str) -> list[OutMessage]:
        """Send a stored customer message to the assistant; keep and return its replies."""
        try:
            # Rasa's tracker store keeps what it is sent: no email, card or phone in clear.
            said_to_assistant = await run_in_threadpool(
                self.vault.protect, session_id, salient(text, self.assistant_max_chars))
            replies = replies_from(await self.assistant.send(session_id, said_to_assistant))
        except AssistantUnavailable as exc:
            logger.error("assistant unavailable for session %s: %s", session_id, exc.detail)
            return await run_in_threadpool(self._unavailable, session_id, kept.id, text)
        if not replies:
            logger.warning("assistant gave no reply for session %s", session_id)
            await run_in_threadpool(self.events.record, "chat_no_reply",
                                    session_id=session_id, query=text)
            replies = [OutMessage(text=NO_REPLY, buttons=[dict(PERSON_BUTTON)])]
        # A token the assistant echoes (a proposed summary) is shown as the masked address.
        await run_in_threadpool(self._display, session_id, replies)
        for reply in replies:
            await run_in_threadpool(
                self.conversations.add, session_id, BOT, reply.text,
                data={"buttons": reply.buttons, "links": reply.links},
            )
        return replies

    def _display(self, session_id: str, replies: list[OutMessage]) -> None:
        for reply in replies:
            reply.text = self.vault.display(session_id, reply.text)
            for button in reply.buttons:
                button["title"] = self.vault.display(session_id, button["title"])

    def _replay(self, session_id: str,
                client_id: str) -> tuple[Message, list[OutMessage], bool] | None:
        """The customer message sent with ``client_id``, the bot replies kept after it, and
        whether its turn broke off: nothing answered it (no reply, not relayed to a person
        under a handoff ticket, not kept as undelivered while the assistant was down)."""
        messages = self.conversations.messages(session_id)
        for i, message in enumerate(messages):
            if message.sender == CUSTOMER and (message.data or {}).get("client_id") == client_id:
                replies: list[OutMessage] = []
                for later in messages[i + 1:]:
                    if later.sender == CUSTOMER:
                        break
                    if later.sender == BOT:
                        replies.append(OutMessage(
                            text=later.text, buttons=(later.data or {}).get("buttons", []),
                            links=(later.data or {}).get("links", []),
                        ))
                answered = any(later.sender != CUSTOMER for later in messages[i + 1:])
                interrupted = (not answered and message.ticket_id is None
                               and not (message.data or {}).get("undelivered"))
                return message, replies, interrupted
        return None

    def _unavailable(self, session_id: str, message_id: int, text: str) -> list[OutMessage]:
        self.conversations.mark_undelivered(message_id)
        self.events.record("chat_unavailable", session_id=session_id, query=text)
        email = find_email(text)
        if email is None:
            self.conversations.add(session_id, BOT, UNAVAILABLE)
            return [OutMessage(text=UNAVAILABLE)]
        waiting = self.conversations.undelivered(session_id)
        others = [m for m in waiting if m.id != message_id]
        ticket = self.tickets.create(
            email=email,
            summary=propose_summary(others[0].text if others else text),
            details="\n".join(m.text for m in others) or text,
            transcript=transcript(self.conversations, session_id),
            session_id=session_id,
        )
        self.conversations.attach(session_id, [m.id for m in waiting], ticket.id)
        self.events.record("ticket", session_id=session_id, ticket_id=ticket.id, deflected=False)
        reply = (f"Thank you. I've passed your messages to our support team as ticket "
                 f"#{ticket.number}; they'll reply to {ticket.email}.")
        self.conversations.add(session_id, BOT, reply, masked=True)
        return [OutMessage(text=reply)]

