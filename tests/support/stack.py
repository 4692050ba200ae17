"""The service (in a background thread) and a real Rasa server, for tests and benchmarks."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from pydantic import SecretStr

from frontline.api.app import create_app
from frontline.rasa import RasaServer, ensure_model, free_port, write_endpoints
from frontline.settings import Settings


class Stack:
    """The service (in a background thread) and a Rasa server, for tests and benchmarks.

    ``with Stack(settings) as stack:`` yields once both answer; ``stack.url`` is the service.
    """

    def __init__(self, settings: Settings, port: int | None = None, *,
                 slack_client: Any = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        token = secrets.token_urlsafe(24)
        model = ensure_model(settings)
        endpoints = write_endpoints(settings, f"{self.url}/webhook", token)
        self.rasa = RasaServer(settings, model, endpoints, free_port(),
                               log=endpoints.parent / "rasa.log")
        self.settings = settings.model_copy(update={"rasa_url": self.rasa.url,
                                                    "action_token": SecretStr(token)})
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.app: Any = None
        self.slack_client = slack_client  # an AsyncWebClient, e.g. at a SlackStub

    def __enter__(self) -> Stack:
        self.rasa.start()
        self.app = create_app(self.settings, slack_client=self.slack_client)
        self.start_service()
        self.rasa.wait_ready()
        self.rasa.warm_up()  # the first prediction is slow: not inside a test's turn timeout
        return self

    def start_service(self) -> None:
        """Serve ``self.app`` on ``self.port`` (again, after ``stop_service``)."""
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1",
                                                     port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 120
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Frontline service did not start")
            time.sleep(0.1)

    def stop_service(self) -> None:
        """Stop the service (not Rasa): the widget then cannot reach anything."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def restart_rasa(self) -> None:
        self.rasa.stop()
        self.rasa.start()
        self.rasa.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.rasa.stop()
        self.stop_service()
