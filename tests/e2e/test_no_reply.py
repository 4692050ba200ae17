"""The assistant answers with nothing (its custom action failed): the customer is told."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Chat, text_of
from tests.support.stack import Stack


def test_a_failed_action_gives_an_honest_reply_not_silence(
        stack: Stack, chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the knowledge base action broke")

    # Rasa calls the real /webhook, which fails with 500; Rasa then answers the turn with [].
    monkeypatch.setitem(stack.app.state.action_executor.actions, "action_answer_from_kb", broken)
    question = "How do I export my tasks to CSV?"
    reply = chat.say(question)
    assert "didn't manage to answer that" in text_of(reply)
    assert [b["payload"] for m in reply for b in m["buttons"]] == ["/human_handoff"]

    events = stack.app.state.services.events.for_session(chat.session_id, "chat_no_reply")
    assert len(events) == 1
    history = chat.client.get("/chat/history", params={"session_id": chat.session_id}).json()
    said = [(m["sender"], m["text"]) for m in history["messages"]]
    assert said[0] == ("customer", question) and "didn't manage" in said[-1][1]

    monkeypatch.undo()  # the action works again: the conversation goes on
    assert "export" in text_of(chat.say(question)).lower()
