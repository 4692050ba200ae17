"""A real Rasa server with the trained model and the real service, once per test session."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.stack import Stack

ADMIN_TOKEN = "e2e-admin-token"


@pytest.fixture(scope="session")
def stack(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("e2e-data")
    shutil.copytree(sample_index / "index", data / "index")
    settings = make_settings(data, sample_index / "kb", admin_token=ADMIN_TOKEN,
                             database_url=f"sqlite:///{data / 'frontline.db'}")
    with Stack(settings) as running:
        yield running


class Chat:
    """One customer's conversation through ``POST /chat``."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.session_id = f"e2e-{uuid.uuid4().hex[:12]}"
        self.client = httpx.Client(base_url=stack.url, timeout=60)

    def say(self, text: str) -> list[dict[str, Any]]:
        response = self.client.post("/chat", json={"session_id": self.session_id,
                                                   "message": text})
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    def click(self, messages: list[dict[str, Any]], title_part: str) -> list[dict[str, Any]]:
        for message in messages:
            for button in message["buttons"]:
                if title_part.lower() in button["title"].lower():
                    return self.say(button["payload"])
        raise AssertionError(f"no button {title_part!r} in {messages}")


@pytest.fixture
def chat(stack: Stack) -> Chat:
    return Chat(stack)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)
