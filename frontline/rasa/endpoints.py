"""The endpoints file ``rasa run`` reads: this run's action URL and token, the tracker store."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from frontline.settings import Settings

ACTION_TOKEN_HEADER = "X-Frontline-Action-Token"


def write_endpoints(settings: Settings, action_url: str, token: str) -> Path:
    """``bot/endpoints.yml`` with this run's action URL and token, and the tracker store from
    settings (``FRONTLINE_RASA_TRACKER_URL``; SQLite in the data dir by default). Written to
    ``<data dir>/rasa/endpoints.yml``, readable by its owner only."""
    root = settings.rasa_project_dir
    config = yaml.safe_load((root / "bot/endpoints.yml").read_text()) or {}
    # The token travels in a header, never in the URL (access logs record URLs verbatim).
    config["action_endpoint"] = {"url": action_url, "headers": {ACTION_TOKEN_HEADER: token}}
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
                                   "db": str(tracker_file(settings))}
    path = folder / "endpoints.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)  # holds the action token and perhaps a database password
    return path


def tracker_file(settings: Settings) -> Path:
    """The SQLite file of Rasa's tracker store when ``FRONTLINE_RASA_TRACKER_URL`` is empty."""
    root = settings.rasa_project_dir
    data_dir = settings.data_dir if settings.data_dir.is_absolute() else root / settings.data_dir
    return data_dir / "rasa-tracker.db"


def tracker_url(settings: Settings) -> str:
    """Rasa's tracker store as an SQLAlchemy URL: the setting, or the default SQLite file."""
    return settings.rasa_tracker_url or f"sqlite:///{tracker_file(settings)}"
