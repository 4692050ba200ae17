"""``RasaServer.warm_up``: True only when Rasa answers the "hello" with a message. The real
server's answer is exercised by every end-to-end test (tests/support/stack.py warms it)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from frontline.rasa import RasaServer, free_port
from frontline.settings import Settings


def server_at(port: int, tmp_path: Path) -> RasaServer:
    settings = Settings(data_dir=tmp_path)
    return RasaServer(settings, tmp_path / "model.tar.gz", tmp_path / "endpoints.yml", port)


def test_nobody_listening_is_a_failed_warm_up(tmp_path: Path) -> None:
    assert server_at(free_port(), tmp_path).warm_up(timeout=2) is False


def test_an_answer_with_messages_is_a_warm_up_and_an_empty_one_is_not(tmp_path: Path) -> None:
    replies: list[list[dict[str, str]]] = [[{"recipient_id": "x", "text": "Hi!"}], []]
    said: list[dict[str, str]] = []

    class Rest(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            said.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps(replies.pop(0)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    http = HTTPServer(("127.0.0.1", 0), Rest)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        rasa = server_at(http.server_address[1], tmp_path)
        assert rasa.warm_up(timeout=5) is True
        assert rasa.warm_up(timeout=5) is False
    finally:
        http.shutdown()
    assert [s["message"] for s in said] == ["hello", "hello"]
    assert all(s["sender"].startswith("warm-up-") for s in said)
