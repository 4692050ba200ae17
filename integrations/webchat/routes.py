"""``POST /chat`` and ``GET /chat/history``: what the website widget talks to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from frontline.api.deps import SQL_INT_MAX, ChatDep, SettingsDep
from frontline.errors import EmptyMessage, InvalidMessage, MessageTooLong

router = APIRouter(tags=["chat"])
STATIC = Path(__file__).resolve().parent / "static"
SESSION_ID = r"^[A-Za-z0-9_.:-]{8,128}$"


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: str = Field(pattern=SESSION_ID, description="Chosen by the widget; keep it.")
    message: str = Field(description="What the customer typed, or a button's payload.")
    title: str | None = Field(
        None, max_length=300, description="A clicked button's title: shown in the "
        "conversation instead of its payload."
    )
    client_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.:-]{1,128}$", description="Chosen by the widget per "
        "message: a retry with the same id is answered again, not stored twice."
    )


class Button(BaseModel):
    title: str
    payload: str


class Link(BaseModel):
    title: str
    url: str


class ChatMessage(BaseModel):
    text: str
    buttons: list[Button] = []
    links: list[Link] = []


class ChatResponse(BaseModel):
    messages: list[ChatMessage]


class HistoryMessage(ChatMessage):
    id: int
    sender: str  # customer | bot | rep
    author: str | None = None  # the rep's name, for support-team messages
    at: str


class HistoryResponse(BaseModel):
    session_id: str
    messages: list[HistoryMessage]


@router.post("/chat", response_model=ChatResponse)
async def chat(body: ChatRequest, settings: SettingsDep,
               service: ChatDep) -> ChatResponse:
    """Send the customer's message to the assistant (or to the person who has the chat).
    Rate-limited per session and per client address (``frontline.api.limits``)."""
    check_storable("message", body.message)
    if body.title is not None:
        check_storable("title", body.title)
    text = body.message.strip()
    if not text:
        raise EmptyMessage("the message is empty")
    if len(text) > settings.chat_max_chars:
        raise MessageTooLong(
            f"the message is {len(text)} characters; the limit is {settings.chat_max_chars}"
        )
    replies = await service.handle(body.session_id, text, shown=body.title,
                                   client_id=body.client_id)
    return ChatResponse(messages=[ChatMessage(**r.as_dict()) for r in replies])


def check_storable(field: str, value: str) -> None:
    """Refuse text that cannot be stored as typed (PostgreSQL keeps no NUL; a lone surrogate
    is not Unicode text), naming the field, the character and where it is."""
    for i, ch in enumerate(value):
        if ch == "\x00":
            raise InvalidMessage(f"the {field} contains a NUL character (U+0000) at position "
                                 f"{i}; remove it and send again")
        if "\ud800" <= ch <= "\udfff":
            raise InvalidMessage(f"the {field} contains an unpaired surrogate (U+{ord(ch):04X}) "
                                 f"at position {i}: it is not valid Unicode text")


@router.get("/chat/history", response_model=HistoryResponse)
async def history(
    service: ChatDep,
    session_id: Annotated[str, Query(pattern=SESSION_ID)],
    after: Annotated[int, Query(ge=0, le=SQL_INT_MAX,
                                description="Only messages with a larger id.")] = 0,
) -> HistoryResponse:
    """The conversation so far (customer, assistant and support-team messages)."""
    rows = await run_in_threadpool(
        service.conversations.messages, session_id, after_id=after,
        senders=("customer", "bot", "rep"),
    )
    return HistoryResponse(session_id=session_id, messages=[
        HistoryMessage(
            id=m.id, sender=m.sender, text=m.text, at=m.created_at.isoformat(),
            author=(m.data or {}).get("author") if m.sender == "rep" else None,
            buttons=(m.data or {}).get("buttons", []), links=(m.data or {}).get("links", []),
        )
        for m in rows
    ])


@router.get("/", include_in_schema=False)
def demo_page(settings: SettingsDep) -> HTMLResponse:
    """A small product site with the widget on it, in ``FRONTLINE_BRAND_COLOR`` (a validated
    ``#rrggbb``)."""
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    return HTMLResponse(html.replace("{{ brand_color }}", settings.brand_color))


@router.get("/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    """The embeddable widget: ``<script src=".../widget.js" data-frontline-url="...">``."""
    return FileResponse(STATIC / "widget.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})
