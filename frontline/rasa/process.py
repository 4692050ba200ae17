"""The ``rasa run`` child process on 127.0.0.1, started and stopped by ``frontline run``."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from frontline.settings import Settings

logger = logging.getLogger(__name__)


class RasaError(RuntimeError):
    """Training or starting the Rasa server failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rasa_env() -> dict[str, str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}
    return env


def rasa_executable(settings: Settings) -> str:
    command = Path(settings.rasa_command)
    path = command if command.is_absolute() else settings.rasa_project_dir / command
    if not path.exists():
        raise RasaError(f"Rasa not found at {path}: run `make setup` (it creates .venv-rasa)")
    return str(path)


class RasaServer:
    """A ``rasa run`` child process on 127.0.0.1."""

    def __init__(self, settings: Settings, model: Path, endpoints: Path, port: int,
                 log: Path | None = None) -> None:
        self.settings = settings
        self.root = settings.rasa_project_dir
        self.log = log  # None: Rasa's output goes to ours
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.command = [
            rasa_executable(settings), "run", "--model", str(model), "--endpoints",
            str(endpoints), "--credentials", str(self.root / "bot/credentials.yml"),
            "--interface", "127.0.0.1", "--port", str(port),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        output = open(self.log, "ab") if self.log else None  # noqa: SIM115 - child keeps it
        try:
            self.process = subprocess.Popen(self.command, cwd=self.root, env=rasa_env(),
                                            start_new_session=True, stdout=output,
                                            stderr=subprocess.STDOUT if output else None)
        finally:
            if output is not None:
                output.close()

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                where = f"see {self.log}" if self.log else "see its output above"
                raise RasaError(f"rasa run exited with code {self.process.returncode} "
                                f"while starting ({where})")
            try:
                if httpx.get(f"{self.url}/", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RasaError(f"rasa run did not become ready within {timeout:.0f} s")

    def warm_up(self, timeout: float = 120.0) -> bool:
        """Send one "hello" before customers arrive: a fresh ``rasa run`` spends many seconds
        (about 15 on a 2-core machine) on its first prediction, longer than a chat turn waits.
        "hello" runs no custom action, so Frontline records nothing; Rasa's tracker keeps one
        short ``warm-up-…`` conversation. True when Rasa answered with a message."""
        import secrets

        try:
            response = httpx.post(f"{self.url}/webhooks/rest/webhook", timeout=timeout,
                                  json={"sender": f"warm-up-{secrets.token_hex(6)}",
                                        "message": "hello"})
            return response.status_code == 200 and bool(response.json())
        except (httpx.HTTPError, ValueError):
            return False

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
