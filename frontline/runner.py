"""``frontline run``: train the assistant if needed, start ``rasa run`` and the service together.

Rasa listens on a free port on 127.0.0.1 only and calls the service's ``/webhook`` with a token
generated for this run. Ctrl-C or SIGTERM stops both; if Rasa dies, that is reported and the
whole run stops with a non-zero exit code.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from frontline.settings import Settings

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
MODEL_NAME = "frontline"
TRAINING_INPUTS = ("config.yml", "bot/domain.yml", "bot/data")


class RasaError(RuntimeError):
    """Training or starting the Rasa server failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def training_fingerprint(root: Path = REPO) -> str:
    """Digest of everything a trained model depends on: the config, domain and data."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for item in files:
            digest.update(item.relative_to(root).as_posix().encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()


def rasa_env() -> dict[str, str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}
    return env


def rasa_executable(settings: Settings) -> str:
    command = Path(settings.rasa_command)
    path = command if command.is_absolute() else REPO / command
    if not path.exists():
        raise RasaError(f"Rasa not found at {path}: run `make setup` (it creates .venv-rasa)")
    return str(path)


def ensure_model(settings: Settings, root: Path = REPO) -> Path:
    """The trained model, training it only when the config, domain or data changed."""
    models = settings.models_dir
    models = models if models.is_absolute() else root / models
    model = models / f"{MODEL_NAME}.tar.gz"
    stamp = models / f"{MODEL_NAME}.fingerprint"
    fingerprint = training_fingerprint(root)
    if model.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        logger.info("assistant model is up to date (%s)", model)
        return model
    logger.info("training the assistant (config.yml, bot/domain.yml, bot/data changed)")
    started = time.perf_counter()
    result = subprocess.run(
        [rasa_executable(settings), "train", "--config", "config.yml", "--domain",
         "bot/domain.yml", "--data", "bot/data", "--out", str(models), "--fixed-model-name",
         MODEL_NAME],
        cwd=root, env=rasa_env(), capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not model.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise RasaError(f"rasa train failed (exit {result.returncode}):\n{tail}")
    stamp.write_text(fingerprint + "\n")
    logger.info("trained the assistant in %.0f s", time.perf_counter() - started)
    return model


def write_endpoints(settings: Settings, action_url: str, token: str, root: Path = REPO) -> Path:
    """``bot/endpoints.yml`` with this run's action URL and token, and the tracker store from
    settings (``FRONTLINE_RASA_TRACKER_URL``; SQLite in the data dir by default)."""
    config = yaml.safe_load((root / "bot/endpoints.yml").read_text()) or {}
    config["action_endpoint"] = {"url": action_url, "token": token}
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else root / settings.data_dir
    folder = data_dir / "rasa"
    folder.mkdir(parents=True, exist_ok=True)
    if settings.rasa_tracker_url:
        url = make_url(settings.rasa_tracker_url)
        config["tracker_store"] = {
            "type": "SQL", "dialect": url.get_backend_name(), "url": url.host,
            "port": url.port, "db": url.database, "username": url.username,
            "password": url.password,
        }
    else:
        config["tracker_store"] = {"type": "SQL", "dialect": "sqlite",
                                   "db": str(data_dir / "rasa-tracker.db")}
    path = folder / "endpoints.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)  # holds the action token and perhaps a database password
    return path


class RasaServer:
    """A ``rasa run`` child process on 127.0.0.1."""

    def __init__(self, settings: Settings, model: Path, endpoints: Path, port: int,
                 log: Path | None = None) -> None:
        self.settings = settings
        self.log = log  # None: Rasa's output goes to ours
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.command = [
            rasa_executable(settings), "run", "--model", str(model), "--endpoints",
            str(endpoints), "--credentials", str(REPO / "bot/credentials.yml"),
            "--interface", "127.0.0.1", "--port", str(port),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        output = open(self.log, "ab") if self.log else None  # noqa: SIM115 - child keeps it
        try:
            self.process = subprocess.Popen(self.command, cwd=REPO, env=rasa_env(),
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

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def run(settings: Settings, host: str, port: int) -> int:
    """Run both processes until Ctrl-C/SIGTERM (exit 0) or until Rasa dies (exit 1)."""
    import uvicorn

    from frontline.app import create_app

    model = ensure_model(settings)
    token = settings.action_token.get_secret_value() or secrets.token_urlsafe(24)
    rasa_port = free_port()
    action_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    endpoints = write_endpoints(settings, f"http://{action_host}:{port}/webhook", token)
    settings = settings.model_copy(update={"rasa_url": f"http://127.0.0.1:{rasa_port}",
                                           "action_token": SecretStr(token)})
    rasa = RasaServer(settings, model, endpoints, rasa_port)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port,
                                           log_level="info"))
    failed = threading.Event()

    def watch() -> None:
        try:
            rasa.wait_ready()
            print(f"Frontline assistant is ready: http://{host}:{port}", file=sys.stderr)
        except RasaError as exc:
            logger.error("%s", exc)
            failed.set()
            server.should_exit = True
            return
        assert rasa.process is not None
        code = rasa.process.wait()
        if not server.should_exit:
            logger.error("the Rasa server exited unexpectedly with code %s; stopping", code)
            failed.set()
            server.should_exit = True

    def stop_signal(signum: int, frame: object) -> None:
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal with the
        # handlers it found installed: these, so Rasa is stopped below instead of orphaned.
        raise SystemExit(0)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_signal)
    rasa.start()
    print(f"Frontline is starting on http://{host}:{port} (assistant loading…)", file=sys.stderr)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        server.should_exit = True
        rasa.stop()
        logger.info("stopped the service and the Rasa server")
    return 1 if failed.is_set() else 0


class Stack:
    """The service (in a background thread) and a Rasa server, for tests and benchmarks.

    ``with Stack(settings) as stack:`` yields once both answer; ``stack.url`` is the service.
    """

    def __init__(self, settings: Settings, port: int | None = None) -> None:
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

    def __enter__(self) -> Stack:
        from frontline.app import create_app

        self.rasa.start()
        self.app = create_app(self.settings)
        self.start_service()
        self.rasa.wait_ready()
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
