"""The chat proxy between the widget and Rasa: limits, handoff, and nothing lost.

Every customer message is stored before it is forwarded; every reply is stored after. When a
person has the conversation, messages go to them, not to Rasa. When Rasa cannot be reached, the
customer is told so honestly, the words are kept, and an email address given meanwhile turns the
kept words into a ticket.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from frontline.conversations import BOT, CUSTOMER, Conversations
from frontline.events import EventLog
from frontline.tickets import TicketStore, propose_summary

logger = logging.getLogger(__name__)

EMAIL_IN_TEXT = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
UNAVAILABLE = (
    "Sorry — I can't reach our assistant right now. I've kept your message. If you leave your "
    "email address here, I'll pass everything you wrote to our support team as a ticket; or try "
    "again in a minute."
)


class AssistantUnavailable(Exception):
    """Rasa did not answer (down, refused, timed out, or an error status)."""


@dataclass
class OutMessage:
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons, "links": self.links}


class RasaClient:
    """Rasa's REST channel and its root endpoint, over one pooled HTTP client."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """One pooled client, (re)opened on demand: an app restarted after shutdown works."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        try:
            response = await self.client.post(
                f"{self.base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
            response.raise_for_status()
            return list(response.json() or [])
        except (httpx.HTTPError, ValueError, RuntimeError) as exc:
            raise AssistantUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        try:
            response = await self.client.get(f"{self.base_url}/", timeout=2.0)
            return response.status_code == 200
        except (httpx.HTTPError, RuntimeError):
            return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def from_rasa(items: list[dict[str, Any]]) -> list[OutMessage]:
    """Rasa REST output → widget messages; a custom ``{"links": [...]}`` joins the message
    before it (Rasa sends custom payloads as separate messages)."""
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


class ChatProxy:
    def __init__(self, rasa: RasaClient, conversations: Conversations, tickets: TicketStore,
                 events: EventLog) -> None:
        self.rasa = rasa
        self.conversations = conversations
        self.tickets = tickets
        self.events = events

    async def handle(self, session_id: str, text: str, shown: str | None = None,
                     client_id: str | None = None) -> list[OutMessage]:
        """Forward ``text`` (typed words or a button payload); ``shown`` is what the customer
        saw themselves say (a button's title), which is what the conversation records. A
        ``client_id`` seen before in this session is a retry whose reply was lost: the replies
        recorded after it are returned again and nothing is stored or forwarded twice."""
        if client_id:
            replayed = await run_in_threadpool(self._replay, session_id, client_id)
            if replayed is not None:
                return replayed
        said = shown.strip() if shown and shown.strip() else text
        data: dict[str, Any] = {"payload": text} if said != text else {}
        if client_id:
            data["client_id"] = client_id
        handoff = await run_in_threadpool(self.conversations.handoff_ticket, session_id)
        if handoff is not None:
            await run_in_threadpool(self.conversations.add, session_id, CUSTOMER, said,
                                    ticket_id=handoff, data=data or None, masked=True)
            return [OutMessage(text="Sent to our support team — they'll reply here.")]
        kept = await run_in_threadpool(
            self.conversations.add, session_id, CUSTOMER, said, data=data or None, masked=True
        )
        try:
            replies = from_rasa(await self.rasa.send(session_id, text))
        except AssistantUnavailable as exc:
            logger.error("assistant unavailable for session %s: %s", session_id, exc)
            return await run_in_threadpool(self._unavailable, session_id, kept.id, text)
        for reply in replies:
            await run_in_threadpool(
                self.conversations.add, session_id, BOT, reply.text,
                data={"buttons": reply.buttons, "links": reply.links},
            )
        return replies

    def _replay(self, session_id: str, client_id: str) -> list[OutMessage] | None:
        messages = self.conversations.messages(session_id)
        for i, message in enumerate(messages):
            if message.sender == CUSTOMER and (message.data or {}).get("client_id") == client_id:
                replies = []
                for later in messages[i + 1:]:
                    if later.sender == CUSTOMER:
                        break
                    if later.sender == BOT:
                        replies.append(OutMessage(
                            text=later.text, buttons=(later.data or {}).get("buttons", []),
                            links=(later.data or {}).get("links", []),
                        ))
                return replies
        return None

    def _unavailable(self, session_id: str, message_id: int, text: str) -> list[OutMessage]:
        self.conversations.mark_undelivered(message_id)
        self.events.record("chat_unavailable", session_id=session_id, query=text)
        email = EMAIL_IN_TEXT.search(text)
        if email is None:
            self.conversations.add(session_id, BOT, UNAVAILABLE)
            return [OutMessage(text=UNAVAILABLE)]
        waiting = self.conversations.undelivered(session_id)
        others = [m for m in waiting if m.id != message_id]
        ticket = self.tickets.create(
            email=email.group(),
            summary=propose_summary(others[0].text if others else text),
            details="\n".join(m.text for m in others) or text,
            transcript=[
                {"sender": m.sender, "text": m.text, "at": m.created_at.isoformat()}
                for m in self.conversations.messages(session_id, senders=(CUSTOMER, BOT))
            ],
            session_id=session_id,
        )
        self.conversations.attach(session_id, [m.id for m in waiting], ticket.id)
        self.events.record("ticket", session_id=session_id, ticket_id=ticket.id, deflected=False)
        reply = (f"Thank you. I've passed your messages to our support team as ticket "
                 f"#{ticket.number}; they'll reply to {ticket.email}.")
        self.conversations.add(session_id, BOT, reply)
        return [OutMessage(text=reply)]
