"""The real service on a loopback port, with a real index of the sample KB and no Rasa."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontline.api.app import create_app
from frontline.rasa import free_port
from tests.conftest import make_settings

ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef"
# The fuzzer sends hundreds of requests a minute from one address: rate limits would answer
# most of them 429 before they reach a route.
UNLIMITED = {f"{kind}_rate_limit": "1000000/minute" for kind in (
    "chat_address", "history", "history_address", "search", "suggest", "sign_in", "admin",
    "page")}


class LiveService:
    """``create_app(settings)`` under uvicorn in a background thread; ``url`` is its address."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveService:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the Frontline service did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def live_service(sample_index: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The service with the sample KB indexed, SQLite, an admin token, and Rasa absent (a
    closed port): chat answers that the assistant is unavailable, as it would in production."""
    data = tmp_path_factory.mktemp("fuzz-data")
    shutil.copytree(sample_index / "index", data / "index")
    settings = make_settings(data, sample_index / "kb", admin_token=ADMIN_TOKEN,
                             database_url=f"sqlite:///{data / 'frontline.db'}",
                             rasa_url=f"http://127.0.0.1:{free_port()}", rasa_timeout=2,
                             chat_rate_limit=10_000, **UNLIMITED)
    with LiveService(settings) as service:
        yield service
