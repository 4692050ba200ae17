"""Start the deploy/ layout on one machine: nginx in front of Frontline replicas, each with its
own ``rasa run`` partner (Redis lock store, PostgreSQL tracker store), one PostgreSQL for
Frontline's data and one shared folder of index versions.

The cluster test runs it on loopback ports; ``python -m deploy.cluster`` runs it by hand
against a PostgreSQL and a Redis you give it (docs/deployment.md). PostgreSQL and Redis are
not started here: they are the engines that hold the state, run by whoever runs the cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from frontline.db import Database
from frontline.rasa import RasaServer, ensure_model, free_port
from frontline.settings import Settings

logger = logging.getLogger(__name__)

DEPLOY = Path(__file__).resolve().parent
NGINX = "/usr/sbin/nginx"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
REPLICA_NAMES = "abcdefghij"


class ClusterError(RuntimeError):
    """A part of the cluster did not start."""


def render(template: Path, values: Mapping[str, object]) -> str:
    """``template`` with every ``{{name}}`` replaced; a name without a value is an error."""
    source = template.read_text()
    missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(source)} - set(values))
    if missing:
        raise ClusterError(f"{template.name}: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), source)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist yet."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": target.database}).first()
            if exists is None:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    finally:
        admin.dispose()


def has_table(url: str, table: str) -> bool:
    engine = create_engine(url)
    try:
        return inspect(engine).has_table(table)
    finally:
        engine.dispose()


def warm_rasa(node: Replica, timeout: float = 120.0) -> None:
    """One message straight to the replica's Rasa before it takes customers
    (``RasaServer.warm_up``): its first prediction is slower than Frontline waits for a turn."""
    if not node.rasa.warm_up(timeout):
        raise ClusterError(f"Rasa of replica {node.name} did not answer its warm-up message "
                           f"(see {node.rasa.log})")


@dataclass
class Replica:
    """One Frontline service process and its Rasa partner."""

    name: str
    port: int
    rasa: RasaServer
    log: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "frontline.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port)]
        with open(self.log, "ab") as output:
            self.process = subprocess.Popen(command, cwd=self.log.parent, env=self.env,
                                            stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ClusterError(f"Frontline replica {self.name} exited while starting "
                                   f"(see {self.log})")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ClusterError(f"Frontline replica {self.name} was not healthy within "
                           f"{timeout:.0f} s (see {self.log})")

    def kill(self) -> None:
        """SIGKILL: the replica dies as a crashed machine would, mid-whatever."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


@dataclass
class Cluster:
    """``with Cluster(...) as cluster:`` starts everything and yields once nginx answers;
    ``cluster.url`` is the public address. ``settings`` gives the shared folders (``kb_dir``,
    ``data_dir`` holding ``index/``), the model and anything else every replica gets."""

    settings: Settings
    work_dir: Path
    database_url: str  # Frontline's data (PostgreSQL)
    tracker_url: str  # Rasa's tracker store (PostgreSQL; created when missing)
    redis_url: str  # Rasa's lock store and Frontline's rate counters
    replicas: int = 2
    env: dict[str, str] = field(default_factory=dict)  # more FRONTLINE_* for every replica
    port: int = 0  # nginx; 0 picks a free one
    startup_timeout: float = 300.0
    nodes: list[Replica] = field(init=False, default_factory=list)
    nginx: subprocess.Popen[bytes] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.action_token = secrets.token_urlsafe(24)
        self.run_dir = self.work_dir / "nginx"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- configuration ------------------------------------------------------------------------
    def replica_env(self, rasa_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTLINE_")}
        env.update({
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONFAULTHANDLER": "1",  # a crash leaves every thread's traceback in the log
            "FRONTLINE_KB_DIR": str(self.settings.kb_dir.resolve()),
            "FRONTLINE_DATA_DIR": str(self.settings.data_dir.resolve()),
            "FRONTLINE_EMBEDDING_MODEL": self.settings.embedding_model,
            "FRONTLINE_DATABASE_URL": self.database_url,
            "FRONTLINE_RASA_URL": rasa_url,
            "FRONTLINE_RASA_TRACKER_URL": self.tracker_url,
            "FRONTLINE_REDIS_URL": self.redis_url,
            "FRONTLINE_ACTION_TOKEN": self.action_token,
            "FRONTLINE_ADMIN_TOKEN": self.settings.admin_token.get_secret_value(),
            # nginx is the peer of every request: its X-Forwarded-For names the customer.
            "FRONTLINE_TRUSTED_PROXIES": '["127.0.0.1"]',
        })
        env.update(self.env)
        return env

    def write_rasa_endpoints(self, folder: Path, action_url: str) -> Path:
        redis = make_url(self.redis_url)
        values = {
            "action_url": action_url, "action_token": self.action_token,
            "tracker_url": self.tracker_url.replace("postgresql+psycopg2://", "postgresql://"),
            "redis_host": redis.host or "127.0.0.1", "redis_port": redis.port or 6379,
            "redis_db": int(redis.database or 0), "redis_password": redis.password or "",
        }
        path = folder / "endpoints.yml"
        path.write_text(render(DEPLOY / "rasa-endpoints.yml",
                               {k: json.dumps(v) for k, v in values.items()}))
        path.chmod(0o600)
        return path

    def write_nginx_conf(self) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server 127.0.0.1:{n.port} max_fails=1 fail_timeout=10s;"
                            for n in self.nodes)
        names = "\n".join(f'        "~127\\.0\\.0\\.1:{n.port}$" "{n.name}";' for n in self.nodes)
        values = {
            "user_directive": "user root;" if os.geteuid() == 0 else "",
            "run_dir": self.run_dir, "listen": f"127.0.0.1:{self.port}",
            "upstream_servers": servers, "replica_names": names,
        }
        path = self.run_dir / "nginx.conf"
        path.write_text(render(DEPLOY / "nginx.conf", values))
        return path

    def plan(self) -> None:
        """Choose ports and write every replica's configuration (nothing is started)."""
        model = ensure_model(self.settings)
        self.nodes = []
        for name in REPLICA_NAMES[:self.replicas]:
            folder = self.work_dir / f"replica-{name}"
            folder.mkdir(parents=True, exist_ok=True)
            port = free_port()
            endpoints = self.write_rasa_endpoints(folder, f"http://127.0.0.1:{port}/webhook")
            rasa = RasaServer(self.settings, model, endpoints, free_port(),
                              log=folder / "rasa.log")
            self.nodes.append(Replica(name, port, rasa, folder / "frontline.log",
                                      self.replica_env(rasa.url)))
        self.write_nginx_conf()

    # -- processes ----------------------------------------------------------------------------
    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.plan()
        # Schemas first, once: replicas would otherwise race to create the same tables.
        Database(self.database_url).migrate()
        ensure_database(self.tracker_url)
        first, *others = self.nodes
        first.rasa.start()
        for node in self.nodes:
            node.start()
        # Rasa creates its tracker table at start-up, before loading the model: let the
        # first replica do it alone, then start the others (they load their models meanwhile).
        self._wait_for_tracker_table(first)
        for node in others:
            node.rasa.start()
        for node in self.nodes:
            node.rasa.wait_ready(self.startup_timeout)
            node.wait_ready(self.startup_timeout)
            warm_rasa(node)
        self.start_nginx()

    def _wait_for_tracker_table(self, node: Replica) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while not has_table(self.tracker_url, "events"):
            process = node.rasa.process
            if process is None or process.poll() is not None:
                raise ClusterError(f"rasa run of replica {node.name} exited while starting "
                                   f"(see {node.rasa.log})")
            if time.monotonic() > deadline:
                raise ClusterError("Rasa did not create its tracker table in time")
            time.sleep(0.3)

    def start_nginx(self) -> None:
        conf = self.run_dir / "nginx.conf"
        check = subprocess.run([NGINX, "-t", "-p", str(self.run_dir), "-c", str(conf)],
                               capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise ClusterError(f"nginx rejected {conf}:\n{check.stderr}")
        self.nginx = subprocess.Popen([NGINX, "-p", str(self.run_dir), "-c", str(conf)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.nginx.poll() is not None:
                break
            time.sleep(0.1)
        raise ClusterError(f"nginx did not answer on {self.url} "
                           f"(see {self.run_dir / 'error.log'})")

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGQUIT)  # graceful: finish requests in flight
            try:
                self.nginx.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.nginx.pid, signal.SIGKILL)
                self.nginx.wait()
        for node in self.nodes:
            node.stop()
            node.rasa.stop()

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def replica(self, name: str) -> Replica:
        return next(n for n in self.nodes if n.name == name)


def main(argv: list[str] | None = None) -> int:
    """``python -m deploy.cluster``: the cluster on this machine until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__)
    parser.add_argument("--database-url", required=True, help="Frontline's PostgreSQL")
    parser.add_argument("--tracker-url", required=True, help="Rasa's PostgreSQL database")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--work-dir", type=Path, default=Path("var/cluster"))
    parser.add_argument("--port", type=int, default=8080, help="nginx's port")
    parser.add_argument("--replicas", type=int, default=2, choices=range(1, 11))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for var in ("FRONTLINE_DATABASE_URL", "FRONTLINE_REDIS_URL", "FRONTLINE_RASA_URL"):
        os.environ.pop(var, None)  # given as arguments here
    cluster = Cluster(Settings(), args.work_dir.resolve(), args.database_url, args.tracker_url,
                      args.redis_url, replicas=args.replicas, port=args.port,
                      env={k: v for k, v in os.environ.items() if k.startswith("FRONTLINE_")})
    with cluster:
        print(f"Frontline cluster on {cluster.url} ({args.replicas} replicas; logs in "
              f"{args.work_dir}); Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
